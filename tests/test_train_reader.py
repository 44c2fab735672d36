"""Reader training on a tiny model: example building, negatives, resumability, dev scoring, bundle tools."""
from __future__ import annotations

import json
import os
import shutil
import math
import random

import pytest

from qa.training.reader import (CheckpointMismatch, TrainConfig, build_examples, build_features, main,
                             mine_negatives, train)

SQUAD = {"version": "test", "data": [
    {"title": "钉钉", "paragraphs": [{"id": "P1", "context": "钉钉用户超6亿。钉钉是阿里巴巴的产品。",
                                      "qas": [{"id": "Q1", "question": "钉钉用户有多少？",
                                               "answers": [{"text": "超6亿", "answer_start": 4}]}]}]},
    {"title": "公益幸福团", "paragraphs": [{"id": "P2", "context": "公益幸福团超110个，发起了1000多场活动。",
                                          "qas": [{"id": "Q2", "question": "公益幸福团有多少个？",
                                                   "answers": [{"text": "超110个", "answer_start": 5}]}]}]},
    {"title": "碳排放", "paragraphs": [{"id": "P3", "context": "阿里巴巴减碳141.9万吨，用户参与减碳。",
                                      "qas": [{"id": "Q3", "question": "碳排放减了多少吨？",
                                               "answers": [{"text": "141.9万吨", "answer_start": 6}]}]}]},
]}


@pytest.fixture()
def squad_file(tmp_path):
    path = tmp_path / "tiny_train.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    return path


def test_examples_locate_answers_and_swap_entities_into_negatives(squad_file):
    cfg = TrainConfig(cross_paragraph_negatives=0.0, entity_swap_negatives=1.0)
    examples = build_examples([str(squad_file)], cfg, random.Random(0))
    positives = [e for e in examples if e.answer_start >= 0]
    assert len(positives) == 3
    for e in positives:
        assert e.context[e.answer_start:e.answer_start + len(e.answer_text)] == e.answer_text
    swapped = [e for e in examples if e.answer_start < 0]
    assert swapped, "every question names its title, so each can be swapped"
    for e in swapped:
        assert e.question not in {q["question"] for a in SQUAD["data"] for p in a["paragraphs"] for q in p["qas"]}
        original = next(p for a in SQUAD["data"] for p in a["paragraphs"] if p["context"] == e.context)
        title = next(a["title"] for a in SQUAD["data"] if original in a["paragraphs"])
        assert title not in e.question


def test_mined_negatives_are_close_paragraphs_without_the_answer(squad_file):
    mined = mine_negatives([str(squad_file)], depth=2)
    assert set(mined) == {"Q1", "Q2", "Q3"}
    assert all(pid not in {"P1"} for pid in mined["Q1"])
    assert "P3" in mined["Q1"], "「用户」 links the 钉钉 question to the 碳排放 paragraph"
    cfg = TrainConfig(cross_paragraph_negatives=1.0, entity_swap_negatives=0.0)
    examples = build_examples([str(squad_file)], cfg, random.Random(0), {"Q1": ["P3"], "Q2": [], "Q3": ["P1"]})
    negatives = [(e.question, e.context) for e in examples if e.answer_start < 0]
    assert ("钉钉用户有多少？", SQUAD["data"][2]["paragraphs"][0]["context"]) in negatives
    assert all(q != "公益幸福团有多少个？" for q, _ in negatives), "no mined candidate, no negative"


def test_explicit_negatives_keep_all_their_windows(squad_file, tiny_qa_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_qa_model))
    cfg = TrainConfig(max_length=32, stride=8, negative_window_keep=0.0, cross_paragraph_negatives=0.0,
                      entity_swap_negatives=1.0)
    examples = build_examples([str(squad_file)], cfg, random.Random(0))
    feats = build_features(examples, tok, cfg, random.Random(0))
    n_neg = sum(1 for e in examples if e.answer_start < 0)
    assert sum(1 for w in feats if w.start == 0) >= n_neg
    for w in feats:
        if w.start:
            span = tok.decode(w.ids[w.start:w.end + 1]).replace(" ", "")
            assert span in {"超6亿", "超110个", "141.9万吨"}


def test_training_runs_scores_dev_and_refuses_a_foreign_checkpoint(squad_file, tiny_qa_model, tmp_path, capsys):
    cfg = TrainConfig(max_length=48, stride=16, batch_size=2, epochs=1.0, checkpoint_every=1)
    out = tmp_path / "run"
    final = train([str(squad_file)], out, cfg, tmp_path / "export", str(tiny_qa_model),
                  eval_path=str(squad_file))
    meta = json.loads((final / "zhqa_reader.json").read_text())
    assert meta["dev"]["n"] == 3 and 0.0 <= meta["dev"]["f1"] <= 100.0
    assert (tmp_path / "export" / "model.safetensors").exists()
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert any("dev" in row for row in log)
    # export of the finished run is its final reader (with --eval, the best dev epoch), not the last checkpoint
    assert main(["export", str(out), str(tmp_path / "exported")]) == 0
    assert (tmp_path / "exported" / "model.safetensors").read_bytes() == (final / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "exported" / "zhqa_reader.json").read_text())["dev"] == meta["dev"]
    # the run copied elsewhere (file times change) is still a finished run; so is one whose checkpoint is gone
    shutil.copytree(out, tmp_path / "copy")
    later = (final / "model.safetensors").stat().st_mtime + 10
    os.utime(tmp_path / "copy" / "checkpoint" / "state.json", (later, later))
    assert main(["export", str(tmp_path / "copy"), str(tmp_path / "from-copy")]) == 0
    assert (tmp_path / "from-copy" / "model.safetensors").read_bytes() == (final / "model.safetensors").read_bytes()
    shutil.rmtree(tmp_path / "copy" / "checkpoint")
    assert main(["export", str(tmp_path / "copy"), str(tmp_path / "no-ckpt")]) == 0
    assert (tmp_path / "no-ckpt" / "model.safetensors").read_bytes() == (final / "model.safetensors").read_bytes()
    # final's own calibration goes with it; exporting onto final itself changes nothing
    (final / "calibration.json").write_text('{"threshold": 0.42}')
    assert main(["export", str(out), str(tmp_path / "exported")]) == 0
    assert json.loads((tmp_path / "exported" / "calibration.json").read_text()) == {"threshold": 0.42}
    assert main(["export", str(out), str(final)]) == 0
    assert json.loads((final / "calibration.json").read_text()) == {"threshold": 0.42}
    # another run in the same folder that checkpointed at the same step is not this final's run
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["run_id"] == json.loads((final / "zhqa_reader.json").read_text())["run_id"]
    (out / "checkpoint" / "state.json").write_text(json.dumps({**state, "run_id": "another run"}))
    capsys.readouterr()
    assert main(["export", str(out), str(tmp_path / "other-run")]) == 0
    assert "latest checkpoint" in capsys.readouterr().out
    (out / "checkpoint" / "state.json").write_text(json.dumps(state))
    # a checkpoint newer than final (a resumed run, stopped midway) is what a mid-run export takes
    state["step"] += 1
    (out / "checkpoint" / "state.json").write_text(json.dumps(state))
    capsys.readouterr()
    assert main(["export", str(out), str(tmp_path / "mid")]) == 0
    assert "latest checkpoint" in capsys.readouterr().out
    assert "dev" not in json.loads((tmp_path / "mid" / "zhqa_reader.json").read_text())
    with pytest.raises(CheckpointMismatch):
        train([str(squad_file)], out, TrainConfig(max_length=48, stride=16, batch_size=2, epochs=2.0),
              None, str(tiny_qa_model))
    assert main(["--train", str(squad_file), "--out", str(out), "--init-from", str(tiny_qa_model),
                 "--max-length", "48", "--stride", "16", "--batch-size", "2", "--epochs", "3"]) == 2


def test_bundle_shards_round_trip(tmp_path, tiny_qa_model):
    from safetensors.torch import load_file

    from qa.reader.loading import load_reader_model, save_reader
    from qa.training.gpu_bundle import shard, unshard

    model, _ = load_reader_model(str(tiny_qa_model))
    folder = save_reader(model, tmp_path / "reader", {"note": "test"})
    shard(folder, tmp_path / "parts", max_mb=0.004)
    parts = sorted((tmp_path / "parts").glob("reader-part*.safetensors"))
    assert len(parts) > 1
    unshard(tmp_path / "parts", tmp_path / "joined")
    a = load_file(str(folder / "model.safetensors"))
    b = load_file(str(tmp_path / "joined" / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert (tmp_path / "joined" / "zhqa_reader.json").exists()


def test_answer_cut_noun_swap_and_english_cases(tmp_path):
    from tests.test_verifier import CONTEXT, SQUAD as LONG

    path = tmp_path / "long.json"
    path.write_text(json.dumps(LONG, ensure_ascii=False), encoding="utf-8")
    cfg = TrainConfig(cross_paragraph_negatives=0.0, cut_negatives=1.0, noun_swap_negatives=1.0,
                      english_variants=1.0, traditional_to_simplified=0.0)
    examples = build_examples([str(path)], cfg, random.Random(0))
    originals = {q["question"] for a in LONG["data"] for p in a["paragraphs"] for q in p["qas"]}
    cut = [e for e in examples if e.answer_start < 0 and e.question in originals and e.context != CONTEXT
           and "超110个" not in e.context and e.question == "公益幸福团有多少个？"]
    assert cut and "钉钉用户超过6亿" in cut[0].context, "the answer's sentence is gone, the rest stays"
    swapped = [e for e in examples if e.answer_start < 0 and e.question not in originals]
    assert swapped and all(e.context in {p["context"] for a in LONG["data"] for p in a["paragraphs"]} for e in swapped)
    english = [e for e in examples if e.answer_start >= 0 and e.question not in originals]
    assert english, "English-worded positives keep their answer"
    for e in english:
        assert e.context[e.answer_start:e.answer_start + len(e.answer_text)] == e.answer_text
    plain = build_examples([str(path)], TrainConfig(cross_paragraph_negatives=0.0), random.Random(0))
    assert all(e.question in originals and e.answer_start >= 0 for e in plain), "off by default"


def test_unanswerable_questions_become_negatives_and_files_can_be_sampled(tmp_path):
    data = json.loads(json.dumps(SQUAD, ensure_ascii=False))
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "Q9", "question": "钉钉的创始人是谁？", "answers": [], "is_impossible": True})
    path = tmp_path / "with_impossible.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cfg = TrainConfig(cross_paragraph_negatives=0.0)
    examples = build_examples([str(path)], cfg, random.Random(0))
    impossible = [e for e in examples if e.question == "钉钉的创始人是谁？"]
    assert len(impossible) == 1 and impossible[0].answer_start == -1
    assert impossible[0].context == SQUAD["data"][0]["paragraphs"][0]["context"]
    sampled = build_examples([f"{path}@2"], cfg, random.Random(0))
    assert len(sampled) == 2
    assert sampled == build_examples([f"{path}@2"], cfg, random.Random(5)), "the draw depends on the seed only"
    assert main(["--train", f"{tmp_path / 'missing.json'}@3", "--out", str(tmp_path / "run")]) == 2


def test_frozen_lower_layers_stay_and_the_upper_ones_train(squad_file, tiny_qa_model, tmp_path):
    import torch
    from safetensors.torch import load_file

    from qa.reader.loading import load_reader_model

    cfg = TrainConfig(max_length=48, stride=16, batch_size=2, epochs=2.0, lr=1e-3, freeze_layers=1)
    train([str(squad_file)], tmp_path / "run", cfg, None, str(tiny_qa_model))
    before = dict(load_reader_model(str(tiny_qa_model))[0].named_parameters())
    trained = load_file(str(tmp_path / "run" / "checkpoint" / "params.safetensors"))
    # what the checkpoint holds is what trained: the top layer and the span head, never the frozen ones
    assert trained and all(n.startswith(("bert.encoder.layer.1.", "qa_outputs.")) for n in trained), sorted(trained)
    assert any(n.startswith("bert.encoder.layer.1.") for n in trained)
    assert any(not (before[n] == t).all() for n, t in trained.items())
    assert main(["--train", str(squad_file), "--out", str(tmp_path / "bad"), "--init-from", str(tiny_qa_model),
                 "--max-length", "48", "--stride", "16", "--freeze-layers", "2"]) == 2

    # the frozen layers are not in the checkpoint: export and resume take them from the recorded start
    assert main(["export", str(tmp_path / "run"), str(tmp_path / "exported")]) == 0
    exported = load_file(str(tmp_path / "exported" / "model.safetensors"))
    for n, t in exported.items():
        source = trained.get(n, before[n] if n in before else None)
        if source is not None:
            assert torch.allclose(t.float(), source.detach().float(), atol=1e-3), n
    assert main(["export", str(tmp_path / "run"), str(tmp_path / "other"), "--init-from", "embedded"]) == 2
    with pytest.raises(CheckpointMismatch):
        train([str(squad_file)], tmp_path / "run", cfg, None, None)


def test_number_swapped_questions_ask_of_a_number_the_paragraph_lacks(tmp_path):
    from qa.training.negatives import swap_number

    rng = random.Random(0)
    context = "2023财年，阿里活跃的公益幸福团超110个。FGO第七章共有二十二节剧情。10的因数一共有4个，分别是1，2，5，10。"
    for question, kept in (("2023财年阿里活跃的公益幸福团有多少个？", "财年阿里活跃的公益幸福团有多少个？"),
                           ("FGO第七章有几节？", "FGO第"), ("10的因数一共有几个", "的因数一共有几个")):
        for _ in range(5):
            swapped = swap_number(question, context, ("超110个", "二十二节", "4个"), rng)
            assert swapped and swapped != question and kept in swapped
            changed = swapped.replace(kept, " ").replace("章有几节？", " ").split()
            assert all(n not in context for n in changed), (swapped, changed)
    assert swap_number("钉钉用户有多少？", "钉钉用户超6亿", ("超6亿",), rng) is None, "no number in the question"
    assert swap_number("第3届超级碗在哪里", "第33届超级碗在迈阿密", ("迈阿密",), rng) is None, "3 is not stated by 33"
    assert swap_number("公益幸福团有110个吗", "公益幸福团超110个", ("超110个",), rng) is None, "the answer's number stays"
    for _ in range(10):   # a number the paragraph states in the other notation is not "missing"
        assert swap_number("3个人是谁", "3个人和五个人，两个人", (), rng) in {"1个人是谁", "2个人是谁", "4个人是谁"}
        assert swap_number("第三章有几节", "第三章有5节", (), rng)[1] not in "三五"
    assert swap_number("1,000人参加了吗", "共1,000人参加", (), rng) is None, "1,000 is one number"

    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"version": "t", "data": [{"title": "t", "paragraphs": [
        {"id": "P", "context": context, "qas": [{"id": "Q", "question": "2023财年阿里活跃的公益幸福团有多少个？",
                                                 "answers": [{"text": "超110个", "answer_start": 19}]}]}]}]},
                               ensure_ascii=False), encoding="utf-8")
    cfg = TrainConfig(cross_paragraph_negatives=0.0, number_swap_negatives=1.0, traditional_to_simplified=0.0)
    examples = build_examples([str(path)], cfg, random.Random(0))
    negatives = [e for e in examples if e.answer_start < 0]
    assert len(examples) == 2 and len(negatives) == 1 and "2023" not in negatives[0].question


def test_english_worded_windows_are_read_by_the_teacher_with_their_chinese_question(squad_file, tiny_qa_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_qa_model))
    cfg = TrainConfig(max_length=64, stride=16, cross_paragraph_negatives=1.0, english_variants=1.0, distill=1.0)
    examples = build_examples([str(squad_file)], cfg, random.Random(0))
    english = [e for e in examples if e.teacher_question]
    assert english and all(e.question != e.teacher_question for e in english)

    def prefix(question):   # the tokens before the context of ``question`` asked of any paragraph
        enc = tok(question, "上")
        return enc["input_ids"][:enc.sequence_ids(0).index(1)]

    chinese_of = {tuple(prefix(e.question)): prefix(e.teacher_question) for e in english}
    feats = build_features(examples, tok, cfg, random.Random(0))
    viewed = [w for w in feats if w.teacher is not None]
    assert len(viewed) == len(english)
    for w in viewed:
        assert w.teacher.ids[:w.teacher.context_start] == chinese_of[tuple(w.ids[:w.context_start])]
        context = w.ids[w.context_start:w.context_start + w.context_len]
        assert w.teacher.ids[w.teacher.context_start:] == w.ids[w.context_start:]
        assert tok.decode(context).replace(" ", "") in {p["context"] for a in SQUAD["data"] for p in a["paragraphs"]}
    assert all(w.teacher is None for w in feats if w not in viewed)
    assert all(w.distilled == (w.start > 0) for w in feats), "windows without the answer keep their label alone"
    assert any(w.start == 0 for w in feats)


def test_teacher_view_swaps_the_question_of_an_xlm_r_window():
    from qa.training.distill import TeacherView, teacher_view

    chinese = [30, 31]   # the Chinese question, two tokens
    # <s> q q q </s></s> c c c </s>
    window = [0, 10, 11, 12, 2, 2, 20, 21, 22, 2]
    assert teacher_view(chinese, window, range(1, 4), 6, 16) == TeacherView([0, 30, 31, 2, 2, 20, 21, 22, 2], 5)
    assert teacher_view(chinese, window + [1] * 7, range(1, 4), 6, 15) is None, "17 - 1 tokens do not fit 15"


def test_distillation_loss_is_the_kl_from_the_teacher_over_no_answer_and_context():
    import torch
    import torch.nn.functional as F

    from qa.training.distill import TeacherView, Window, distill_loss

    windows = [Window([0] * 8, 0, 0, 3, 4, TeacherView([0] * 7, 2)),   # the teacher's context begins at 2
               Window([0] * 6, 0, 0, 2, 3),                             # the teacher reads the window itself
               Window([0] * 5, 0, 0, 0, 0),                             # no context: left out
               Window([0] * 8, 0, 0, 3, 4, None, distilled=False)]      # its Chinese view did not fit: left out
    generator = torch.Generator().manual_seed(0)
    s_start, s_end = (torch.randn(4, 8, generator=generator, requires_grad=True) for _ in range(2))
    t_start, t_end = (torch.randn(4, 8, generator=generator) for _ in range(2))
    temperature = 2.0
    expected = 0.0
    for student, teacher in ((s_start, t_start), (s_end, t_end)):
        rows = [(student[0, [0, 3, 4, 5, 6]], teacher[0, [0, 2, 3, 4, 5]]), (student[1, [0, 2, 3, 4]], teacher[1, [0, 2, 3, 4]])]
        expected += sum(F.kl_div(F.log_softmax(s / temperature, -1), F.log_softmax(t / temperature, -1),
                                 log_target=True, reduction="sum") for s, t in rows) / len(rows)
    expected = expected / 2 * temperature ** 2
    loss = distill_loss(s_start, s_end, t_start, t_end, windows, temperature)
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    loss.backward()
    assert torch.isfinite(s_start.grad).all()
    assert not s_start.grad[2:].any() and not s_start.grad[0, [1, 2, 7]].any(), "only the compared positions learn"
    assert not s_start.grad[1, [1, 5, 6, 7]].any()
    assert float(distill_loss(s_start, s_end, t_start, t_end, windows[2:], temperature).detach()) == 0.0


def test_distillation_trains_and_needs_a_starting_reader(squad_file, tiny_qa_model, tmp_path, monkeypatch, capsys):
    import qa.training.distill as distill
    from safetensors.torch import load_file

    seen = []

    def recording(*args, **kwargs):
        loss = original(*args, **kwargs)
        seen.append(float(loss.detach()))
        return loss

    original = distill.distill_loss
    monkeypatch.setattr(distill, "distill_loss", recording)
    runs = {}
    for weight in (0.0, 5.0):
        cfg = TrainConfig(max_length=48, stride=16, batch_size=2, epochs=1.0, english_variants=1.0, distill=weight)
        final = train([str(squad_file)], tmp_path / f"run{weight}", cfg, None, str(tiny_qa_model))
        runs[weight] = load_file(str(final / "model.safetensors"))
    assert "3 windows read with their Chinese question" in capsys.readouterr().err
    assert seen and all(math.isfinite(v) for v in seen) and max(seen) > 0, "English windows differ from Chinese"
    assert any(not torch_equal(runs[0.0][k], runs[5.0][k]) for k in runs[0.0]), "the term moves the weights"
    meta = json.loads((final / "zhqa_reader.json").read_text())
    assert meta["config"]["distill"] == 5.0 and meta["init_from"] == str(tiny_qa_model)
    assert main(["--train", str(squad_file), "--out", str(tmp_path / "bare"), "--distill", "0.5",
                 "--max-length", "48", "--stride", "16"]) == 2
    assert main(["--train", str(squad_file), "--out", str(tmp_path / "cold"), "--init-from", str(tiny_qa_model),
                 "--distill", "0.5", "--distill-temperature", "0"]) == 2


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def test_a_time_budget_stops_the_run_saves_it_and_resumes_within_it(squad_file, tiny_qa_model, tmp_path, capsys):
    cfg = TrainConfig(max_length=48, stride=16, batch_size=1, epochs=4.0, checkpoint_every=100)
    out = tmp_path / "run"
    final = train([str(squad_file)], out, cfg, None, str(tiny_qa_model), time_budget_s=1e-9)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["step"] == 1, "the budget was spent by the first step: saved there, not lost"
    assert (final / "model.safetensors").exists()
    assert "time budget is spent at step 1" in capsys.readouterr().err
    # the same run resumes under a budget (its total may have been re-sized), not without one
    train([str(squad_file)], out, cfg, None, str(tiny_qa_model), time_budget_s=1e-9)
    assert json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 2
    with pytest.raises(CheckpointMismatch):
        train([str(squad_file)], out, cfg, None, str(tiny_qa_model), max_steps=5, time_budget_s=1e-9)


@pytest.mark.parametrize("text, seconds", [("5400", 5400.0), ("90m", 5400.0), ("1.5h", 5400.0), ("30s", 30.0)])
def test_time_budgets_read_as_seconds(text, seconds):
    from qa.training.reader import _duration_s

    assert _duration_s(text) == seconds


@pytest.mark.parametrize("text", ["0", "0m", "-5m", "soon", "", "infh", "nan"])
def test_a_bad_time_budget_is_a_one_line_error(text, squad_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--train", str(squad_file), "--out", str(tmp_path / "run"), "--time-budget", text])
    assert exc.value.code == 2
    assert "--time-budget" in capsys.readouterr().err


def test_group_by_length_is_a_flag_and_trains(squad_file, tiny_qa_model, tmp_path):
    assert main(["--train", str(squad_file), "--out", str(tmp_path / "run"), "--init-from", str(tiny_qa_model),
                 "--max-length", "48", "--stride", "16", "--batch-size", "2", "--max-steps", "2",
                 "--group-by-length"]) == 0
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["config"]["group_by_length"] is True and state["step"] == 2


class FakeClock:
    """``time.time()`` that moves one second a call: a run's step times without waiting for them."""

    def __init__(self):
        self.now = 1000.0

    def time(self) -> float:
        self.now += 1.0
        return self.now


def test_a_budget_sizes_a_real_run_and_its_resume_needs_the_budget(squad_file, tiny_qa_model, tmp_path, monkeypatch):
    import qa.training.reader as reader_module

    monkeypatch.setattr(reader_module, "time", FakeClock())
    cfg = TrainConfig(max_length=48, stride=16, batch_size=1, epochs=30.0, checkpoint_every=5)
    out = tmp_path / "run"
    train([str(squad_file)], out, cfg, None, str(tiny_qa_model), time_budget_s=60.0)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert 12 < state["total_steps"] < 40, "sized to the budget, far below the 90-odd steps of 30 epochs"
    assert state["step"] == state["total_steps"] and state["time_budget"] is True
    with pytest.raises(CheckpointMismatch, match="resume it with --time-budget"):
        train([str(squad_file)], out, cfg, None, str(tiny_qa_model))
    from qa.training.reader import RunComplete

    written = {f.name: f.stat().st_mtime_ns for f in (out / "final").iterdir()}
    with pytest.raises(RunComplete, match="finished at step"):   # the same command again: nothing left to do
        train([str(squad_file)], out, cfg, None, str(tiny_qa_model), time_budget_s=60.0)
    assert {f.name: f.stat().st_mtime_ns for f in (out / "final").iterdir()} == written


def test_training_files_without_questions_are_a_clear_error(tmp_path, tiny_qa_model):
    from qa.training.reader import BadTrainConfig

    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"version": "x", "data": []}), encoding="utf-8")
    with pytest.raises(BadTrainConfig, match="no question"):
        train([str(empty)], tmp_path / "run", TrainConfig(max_length=48, stride=16), None, str(tiny_qa_model))
    assert main(["--train", str(empty), "--out", str(tmp_path / "run2"), "--init-from", str(tiny_qa_model),
                 "--max-length", "48", "--stride", "16"]) == 2


def test_training_step_lowers_the_span_loss_and_distills_only_with_a_teacher(squad_file, tiny_qa_model):
    """The one step training and benchmarks/train_batches.py share: repeated on one batch its span loss
    falls; a teacher identical to the starting student gives a zero distillation term at first."""
    import copy

    import torch
    from transformers import AutoTokenizer, BertForQuestionAnswering

    from qa.training.step import StepLosses, training_step

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_qa_model))
    cfg = TrainConfig(max_length=64, stride=16, cross_paragraph_negatives=0.0)
    feats = build_features(build_examples([str(squad_file)], cfg, random.Random(0)), tokenizer, cfg,
                           random.Random(0))
    torch.manual_seed(0)
    model = BertForQuestionAnswering.from_pretrained(str(tiny_qa_model)).train()
    teacher = copy.deepcopy(model).eval()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    for module in model.modules():   # dropout off: the same batch gives the same loss before a step
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    assert any(w.compared for w in feats)
    first = training_step(model, optimizer, params, feats, tokenizer.pad_token_id, "cpu", teacher, 1.0, 2.0)
    assert isinstance(first, StepLosses) and first.distill is not None and first.distill < 1e-5
    losses = [training_step(model, optimizer, params, feats, tokenizer.pad_token_id, "cpu").span
              for _ in range(20)]
    assert losses[-1] < first.span * 0.8
    assert training_step(model, optimizer, params, feats, tokenizer.pad_token_id, "cpu").distill is None
