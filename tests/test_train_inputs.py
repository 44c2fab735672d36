"""Bad input to the training command line: one error line and exit 2, before anything loads, and no
reader or checkpoint lost (a finished run rerun, a resume on other data, a damaged checkpoint)."""
from __future__ import annotations

import json
import shutil

import pytest

from qa.training.reader import CheckpointMismatch, RunComplete, TrainConfig, main, train

GOOD = {"data": [{"title": "钉钉", "paragraphs": [
    {"context": "钉钉用户超6亿。钉钉是阿里巴巴的产品。",
     "qas": [{"id": "Q1", "question": "钉钉用户有多少？", "answers": [{"text": "超6亿", "answer_start": 4}]},
             {"id": "Q2", "question": "钉钉是谁的产品？", "answers": [{"text": "阿里巴巴", "answer_start": 10}]}]}]}]}


@pytest.fixture()
def files(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "notjson.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "qas5.json").write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": 5}]}]}))
    (tmp_path / "qasint.json").write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [1]}]}]}))
    (tmp_path / "qasnull.json").write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": None}]}]}))
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


CASES = {
    "a folder as training file": (["--train", "{d}/adir"], "adir: cannot be read"),
    "training file not JSON": (["--train", "{d}/notjson.json"], "notjson.json: not JSON"),
    "qas not a list": (["--train", "{d}/qas5.json"], "data[0].paragraphs[0].qas is not a list"),
    "a question not an object": (["--train", "{d}/qasint.json"], "qas[0] is not an object"),
    "no question at all": (["--train", "{d}/qasnull.json"], "no question to train on"),
    "@0": (["--train", "{d}/good.json@0"], "N in PATH@N must be a whole number of 1 or more, not '0'"),
    "@-1": (["--train", "{d}/good.json@-1"], "not '-1'"),
    "batch size 0": (["--train", "{d}/good.json", "--batch-size", "0"], "--batch-size must be 1 or more"),
    "negative lr": (["--train", "{d}/good.json", "--lr", "-1"], "--lr must be above 0"),
    "no epochs": (["--train", "{d}/good.json", "--epochs", "0"], "--epochs must be above 0"),
    "max steps 0": (["--train", "{d}/good.json", "--max-steps", "0"], "--max-steps must be 1 or more"),
    "tiny windows": (["--train", "{d}/good.json", "--max-length", "10"], "--max-length must be 12 tokens or more"),
    "stride past the window": (["--train", "{d}/good.json", "--max-length", "64", "--stride", "100"],
                               "--stride (the overlap of two windows) must be from 0 to 52"),
    "checkpoint every 0": (["--train", "{d}/good.json", "--checkpoint-every", "0"], "--checkpoint-every must be"),
    "a share above 1": (["--train", "{d}/good.json", "--code-switch", "1.5"], "--code-switch is a share"),
    "unknown device": (["--train", "{d}/good.json", "--device", "foo"], "'foo' is not a device"),
    "out is a file": (["--train", "{d}/good.json", "--out", "{d}/afile"], "--out {d}/afile is a file"),
    "export under a file": (["--train", "{d}/good.json", "--export", "{d}/afile/x"], "afile is a file"),
    "negatives not JSON": (["--train", "{d}/good.json", "--negatives", "{d}/notjson.json"], "not JSON"),
    "dev file not JSON": (["--train", "{d}/good.json", "--eval", "{d}/notjson.json"], "notjson.json: not JSON"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_training_input_is_one_error_line_before_any_model_loads(case, files, capsys, monkeypatch):
    import qa.training.reader as reader_module

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("qa.reader.loading.load_reader_model", no_loading)
    monkeypatch.setattr("transformers.AutoModelForQuestionAnswering.from_pretrained", no_loading)
    argv, message = CASES[case]
    argv = [a.format(d=files) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(files / "run")]
    assert reader_module.main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message.format(d=files) in lines[0], err
    assert "Traceback" not in err
    assert not (files / "run").exists(), "nothing written"


def test_a_missing_answers_list_is_dropped_not_taught_as_unanswerable(tmp_path):
    import random

    from index.readers.squad import load_squad
    from qa.training.reader import build_examples

    data = {"data": [{"title": "t", "paragraphs": [{"context": "钉钉用户超6亿。", "qas": [
        {"id": "a", "question": "钉钉用户有多少？"},                                   # damaged: no answers
        {"id": "b", "question": "钉钉的创始人是谁？", "answers": []},                   # unanswerable
        {"id": "c", "question": "钉钉的老板是谁？", "answers": [], "is_impossible": "false"},
        {"id": "d", "question": "钉钉的总部在哪？", "answers": [{"text": "", "answer_start": -1}]},   # converted sets
        {"id": "e", "question": "钉钉有多少员工？", "answers": None, "is_impossible": True}]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert [q.is_impossible for q in load_squad(path).questions] == [False, True, True, True, True]
    examples = build_examples([str(path)], TrainConfig(cross_paragraph_negatives=0.0), random.Random(0))
    assert sorted(e.question for e in examples) == ["钉钉有多少员工？", "钉钉的创始人是谁？", "钉钉的总部在哪？",
                                                    "钉钉的老板是谁？"]
    assert all(e.answer_start == -1 for e in examples)


def test_a_question_too_long_for_its_window_is_skipped_not_fatal(tiny_qa_model, capsys):
    import random

    from transformers import AutoTokenizer

    from qa.training.reader import TrainExample, build_features

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_qa_model))
    cfg = TrainConfig(max_length=40, stride=8)
    examples = [TrainExample("钉" * 30, "钉钉用户超6亿。" * 5, 4, "超6亿"),     # split: no room beside it
                TrainExample("钉" * 30, "超6亿。", 0, "超6亿"),                  # fits in one window whole
                TrainExample("钉钉用户有多少？", "钉钉用户超6亿。" * 5, 4, "超6亿")]
    feats = build_features(examples, tokenizer, cfg, random.Random(0))
    assert feats and all(len(f.ids) <= 40 for f in feats)
    assert sum(1 for f in feats if f.context_start > 30) == 1, "the long question over its short paragraph is kept"
    assert "skipped 1 examples whose question of more than 28 tokens" in capsys.readouterr().err


def test_rerunning_a_finished_run_or_resuming_on_other_data_keeps_its_reader(files, tiny_qa_model, capsys):
    cfg = TrainConfig(max_length=48, stride=16, batch_size=2, cross_paragraph_negatives=0.0)
    out = files / "run"
    good = str(files / "good.json")
    train([good], out, cfg, None, str(tiny_qa_model), max_steps=1)
    written = {f.name: f.read_bytes() for f in (out / "final").iterdir()}
    with pytest.raises(RunComplete, match="finished at step 1 of 1"):
        train([good], out, cfg, None, str(tiny_qa_model), max_steps=1)
    assert main(["--train", good, "--out", str(out), "--init-from", str(tiny_qa_model), "--max-steps", "1",
                 "--max-length", "48", "--stride", "16", "--batch-size", "2",
                 "--cross-paragraph-negatives", "0"]) == 0
    assert "Nothing was trained or written" in capsys.readouterr().err
    other = files / "other.json"
    other.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")   # the same questions, another file
    with pytest.raises(CheckpointMismatch, match="other training data"):
        train([str(other)], out, cfg, None, str(tiny_qa_model), max_steps=1)
    with pytest.raises(CheckpointMismatch, match="other training data"):
        train([good + "@1"], out, cfg, None, str(tiny_qa_model), max_steps=1)
    assert {f.name: f.read_bytes() for f in (out / "final").iterdir()} == written


@pytest.mark.parametrize("damage", ["truncated state", "state a list", "truncated params"])
def test_a_damaged_checkpoint_is_named_in_one_line(damage, files, tiny_qa_model, capsys):
    cfg = TrainConfig(max_length=48, stride=16, batch_size=2, cross_paragraph_negatives=0.0)
    out = files / "run"
    good = str(files / "good.json")
    train([good], out, cfg, None, str(tiny_qa_model), max_steps=2)
    ckpt = out / "checkpoint"
    if damage == "truncated state":
        (ckpt / "state.json").write_text((ckpt / "state.json").read_text()[:40])
    elif damage == "state a list":
        (ckpt / "state.json").write_text("[1, 2]")
    else:
        (ckpt / "params.safetensors").write_bytes((ckpt / "params.safetensors").read_bytes()[:100])
    if damage != "truncated params":   # read first, before anything loads (the finished run has its reader)
        args = ["--train", good, "--out", str(out), "--init-from", str(tiny_qa_model), "--max-steps", "2",
                "--max-length", "48", "--stride", "16", "--batch-size", "2", "--cross-paragraph-negatives", "0"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"error: {ckpt / 'state.json'}" in err
    if damage == "truncated params":   # a finished run exports its final reader: the checkpoint is not read
        assert main(["export", str(out), str(files / "finished")]) == 0
        assert (files / "finished" / "model.safetensors").read_bytes() == (out / "final" / "model.safetensors").read_bytes()
    shutil.rmtree(out / "final")   # a run stopped midway: export reads the checkpoint
    capsys.readouterr()
    assert main(["export", str(out), str(files / "exported")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(ckpt) in err and not (files / "exported").exists()


def test_a_damaged_reader_folder_is_a_reader_load_error(tmp_path):
    import shutil

    from qa.reader.loading import SHIPPED_READER_DIR, ReaderLoadError, load_reader_model

    folder = tmp_path / "reader"
    shutil.copytree(SHIPPED_READER_DIR, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1_000_000])
    for lean in (False, True):
        with pytest.raises(ReaderLoadError, match="model.safetensors cannot be read"):
            load_reader_model(str(folder), lean=lean)


def test_saving_new_weights_drops_the_old_weights_calibration(tmp_path, tiny_qa_model):
    from transformers import BertForQuestionAnswering

    from qa.reader.loading import save_reader

    folder = tmp_path / "reader"
    folder.mkdir()
    model = BertForQuestionAnswering.from_pretrained(str(tiny_qa_model))
    (folder / "calibration.json").write_text(json.dumps({"threshold": 0.5}))
    save_reader(model, folder, {"steps": 1})
    assert not (folder / "calibration.json").exists() and (folder / "model.safetensors").exists()
    (folder / "calibration.json").write_text(json.dumps({"threshold": 0.5, "span_length_prior": {"k": 1}}))
    save_reader(model, folder, {"steps": 2})
    assert json.loads((folder / "calibration.json").read_text()) == {"span_length_prior": {"k": 1}}
