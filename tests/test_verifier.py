"""Answerability verifier: answer-sentence cutting, weights on disk, the reader's use of it, thresholds."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import torch

from qa.bot import reader_threshold, reader_thresholds
from qa.config import Config
from qa.reader.extractive import ExtractiveReader
from qa.reader.loading import ReaderLoadError, load_reader_model
from qa.training.negatives import ENGLISH_ASKS, cut_answer_sentences, english_question, swap_question
from qa.training.verifier import WindowSet, build_examples, fit, load_windows, main, predict, report
from qa.reader.verifier import Verifier, VerifierLoadError, reader_fingerprint

CONTEXT = ("阿里巴巴发布了年度报告，报告介绍了公益行动。2023财年阿里活跃的公益幸福团超110个。"
           "这些团共发起了1000多场活动，参与的员工很多。钉钉用户超过6亿，覆盖很多城市和地区。")
START = CONTEXT.index("超110个")

SQUAD = {"version": "test", "data": [
    {"title": "公益", "paragraphs": [{"id": "P1", "context": CONTEXT, "qas": [
        {"id": "Q1", "question": "公益幸福团有多少个？", "answers": [{"text": "超110个", "answer_start": START}]},
        {"id": "Q2", "question": "钉钉用户有多少？",
         "answers": [{"text": "6亿", "answer_start": CONTEXT.index("6亿")}]}]}]},
    {"title": "碳", "paragraphs": [{"id": "P2", "context": "阿里巴巴减碳141.9万吨，用户参与减碳，平台带动了很多品牌参与。"
                                    "这是一个很长的句子，用来让段落足够长，以便测试。", "qas": [
        {"id": "Q3", "question": "减碳多少吨？", "answers": [{"text": "141.9万吨", "answer_start": 6}]},
        {"id": "Q4", "question": "平台带动了什么品牌参与？", "answers": [{"text": "很多品牌", "answer_start": 26}]}]}]},
    {"title": "团", "paragraphs": [{"id": "P3", "context": "公益幸福团是员工自发组织的公益团体，活跃在很多城市，"
                                    "团员们一起做公益，帮助了很多有需要的人。", "qas": []}]},
]}


def test_cut_removes_exactly_the_answer_sentence():
    cut = cut_answer_sentences(CONTEXT, ("超110个",), (START,))
    assert cut is not None and "超110个" not in cut and "公益幸福团" not in cut
    assert cut.startswith("阿里巴巴发布了年度报告") and "钉钉用户超过6亿" in cut
    # a start that does not point at the text is re-located
    assert cut_answer_sentences(CONTEXT, ("超110个",), (0,)) == cut
    # the answer text also elsewhere, or not there at all, or too little left: no case
    assert cut_answer_sentences(CONTEXT + "另有超110个。", ("超110个",), (START,)) is None
    assert cut_answer_sentences(CONTEXT, ("不存在",), (3,)) is None
    assert cut_answer_sentences("公益幸福团超110个。很短。", ("超110个",), (5,)) is None


def test_examples_are_gold_cut_and_bm25_cases(tmp_path):
    path = tmp_path / "set.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    examples = build_examples(str(path), 10, random.Random(0))
    by = {(e.question_id, e.kind): e for e in examples}
    gold = by[("Q1", "gold")]
    assert gold.context == CONTEXT and CONTEXT[gold.answer_start:].startswith(gold.answer) and gold.answer == "超110个"
    assert "超110个" not in by[("Q1", "cut")].context and by[("Q1", "cut")].answer_start == -1
    bm25 = by[("Q1", "bm25")]
    assert bm25.context != CONTEXT and "超110个" not in bm25.context
    assert len(build_examples(str(path), 1, random.Random(0))) <= 3
    mixed = build_examples(str(path), 10, random.Random(0), english_share=1.0)
    english = [e for e in mixed if e.question_id.endswith("#en")]
    assert {e.kind for e in english} == {"gold", "cut", "bm25"}, "English variants are asked of all three cases"
    assert all(not any(zh in e.question for zh, _ in ENGLISH_ASKS) for e in english)
    assert any("how many" in e.question.lower() for e in english)
    swaps = [e for e in build_examples(str(path), 10, random.Random(0)) if e.kind == "swap"]
    assert swaps and all(e.context == CONTEXT and e.question_id.endswith("#swap") for e in swaps if e.question_id.startswith("Q1"))
    only = build_examples(str(path), 10, random.Random(0), english_share=1.0, english_only=True, kinds=("gold",))
    assert only and all(e.question_id.endswith("#en") and e.kind == "gold" for e in only)


def test_questions_the_set_marks_unanswerable_become_real_negatives(tmp_path):
    data = json.loads(json.dumps(SQUAD))
    data["data"][2]["paragraphs"][0]["qas"] = [
        {"id": "U1", "question": "公益幸福团的团长是谁？", "answers": [], "is_impossible": True},
        {"id": "U2", "question": "团员们帮助了多少人？", "answers": []}]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    real = [e for e in build_examples(str(path), 10, random.Random(0), english_share=0.0) if e.kind == "real"]
    assert sorted(e.question_id for e in real) == ["U1", "U2"]
    assert all(e.context.startswith("公益幸福团是员工自发组织") and e.answer_start == -1 for e in real)
    assert not any(e.question_id.startswith("U") and e.kind != "real"
                   for e in build_examples(str(path), 10, random.Random(0))), "no gold case without an answer"
    assert len([e for e in build_examples(str(path), 1, random.Random(0), english_share=0.0)
                if e.kind == "real"]) == 1, "the limit applies to the unanswerable questions too"
    assert not [e for e in build_examples(str(path), 10, random.Random(0), kinds=("gold", "cut"))
                if e.kind == "real"]


def test_english_question_words():
    assert english_question("公益幸福团有多少个？") == "公益幸福团 how many ?"
    assert english_question("公益幸福团有多少个？", "front") == "How many 公益幸福团?"
    assert english_question("谁是董事会主席？", "front") == "Who 是董事会主席?"
    assert english_question("2023财年阿里活跃的公益幸福团有多少个？", "keywords") == "How many 2023财年阿里活跃公益幸福团?"
    assert english_question("阿里巴巴。") is None


def test_swapped_questions_ask_for_what_the_paragraph_lacks():
    rng = random.Random(0)
    pool = ["营业收入", "市值", "公益幸福团"]
    for _ in range(10):
        q = swap_question("2023财年阿里活跃的公益幸福团有多少个？", CONTEXT, ("超110个",), pool, rng)
        assert q is not None and q != "2023财年阿里活跃的公益幸福团有多少个？"
        assert ("营业收入" in q) != ("市值" in q), "one noun the paragraph lacks comes in"
        assert len(q) in (len("2023财年阿里活跃的公益幸福团有多少个？") + d for d in (0, 1, 2)), q
    assert swap_question("这是什么？", CONTEXT, ("超110个",), pool, rng) is None, "no noun of the paragraph to swap"


@pytest.fixture()
def verified_reader_dir(tiny_qa_model, tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(tiny_qa_model, folder)
    return folder


def _reader(folder, verifier: bool = True, **kw):
    kw.setdefault("dtype", "float32")  # the checks below compare probabilities to 1e-4
    return ExtractiveReader(str(folder), max_length=64, stride=16, max_answer_chars=8, verifier=verifier, **kw)


def test_verifier_starts_neutral_and_round_trips(tiny_qa_model, tmp_path):
    model, _ = load_reader_model(str(tiny_qa_model))
    v = Verifier.from_reader(model, 1, "f" * 64)
    assert torch.equal(v.layers[0].attention.self.query.weight, model.bert.encoder.layer[-1].attention.self.query.weight)
    x, mask = torch.randn(3, 10, 32), torch.ones(3, 10, dtype=torch.long)
    mask[1, 6:] = 0
    assert torch.allclose(torch.sigmoid(v(x, mask)), torch.full((3,), 0.5)), "a zero head is undecided"
    torch.nn.init.normal_(v.head.weight)
    v.save(tmp_path, {"note": "test"})
    back = Verifier.load(tmp_path, model.config, "f" * 64)
    assert torch.allclose(back(x, mask), v(x, mask), atol=2e-2)
    # padding does not change a window's logit
    assert torch.allclose(back(x[1:2, :6], mask[1:2, :6]), back(x[1:2], mask[1:2]), atol=1e-4)
    with pytest.raises(VerifierLoadError, match="another reader"):
        Verifier.load(tmp_path, model.config, "0" * 64)
    bigger = model.config.__class__(**{**model.config.to_dict(), "hidden_size": 64, "intermediate_size": 128})
    with pytest.raises(VerifierLoadError, match="do not fit"):
        Verifier.load(tmp_path, bigger)
    (tmp_path / "verifier.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(VerifierLoadError, match="cannot read"):
        Verifier.load(tmp_path, model.config)


def test_reader_scores_each_window_with_its_verifier(verified_reader_dir):
    plain = _reader(verified_reader_dir, verifier=False)
    assert plain.verifier is None
    with pytest.raises(ReaderLoadError, match="has none"):
        _reader(verified_reader_dir)
    assert _reader(verified_reader_dir, verifier=None).verifier is None, "auto: none stored, none used"
    spans = plain.read("公益幸福团有多少个？", [CONTEXT], top_n=5)
    assert spans and all(sp.answerable == 1.0 and sp.confidence == sp.score for sp in spans)

    v = Verifier.from_reader(plain.model, 2, reader_fingerprint(verified_reader_dir))
    torch.manual_seed(1)
    torch.nn.init.normal_(v.head.weight, std=0.5)
    v.save(verified_reader_dir)
    verified = _reader(verified_reader_dir)
    assert verified.verifier is not None
    assert _reader(verified_reader_dir, verifier=None).verifier is not None, "auto: the stored one is used"
    got = verified.read("公益幸福团有多少个？", [CONTEXT], top_n=20)
    assert got == sorted(got, key=lambda s: -s.confidence)
    assert all(0 < sp.answerable < 1 and abs(sp.confidence - sp.score * sp.answerable) < 1e-12 for sp in got)
    # the window probabilities are the verifier applied to the states training stores
    wp = plain.forward_windows("公益幸福团有多少个？", [CONTEXT], states_layers=2)
    other = verified.forward_windows("公益幸福团有多少个？", [CONTEXT], states_layers=1)
    assert not np.allclose(other.states[0], wp.states[0]), "stored states follow states_layers, not the verifier"
    loaded = verified.verifier
    with torch.inference_mode():
        expected = [float(torch.sigmoid(loaded(torch.from_numpy(st)[None], torch.ones(1, len(st), dtype=torch.long))))
                    for st in wp.states]
    assert len(wp.states) > 1, "the context spans several windows"
    by_window = verified.forward_windows("公益幸福团有多少个？", [CONTEXT]).answerable
    assert np.allclose(by_window, expected, atol=1e-4)
    assert {round(sp.answerable, 4) for sp in got} <= {round(p, 4) for p in expected}
    assert _reader(verified_reader_dir, verifier=False).verifier is None
    # reader-only evaluation rows carry P, so one run gives the span-only scores too (calibrate sweep)
    from qa.evaluation.runner import evaluate, load_eval_set

    squad = verified_reader_dir.parent / "set.json"
    squad.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    for reader, has_p in ((verified, True), (plain, False)):
        rows = evaluate(load_eval_set(squad), Config(threshold=0.0), reader=reader, reader_only=True,
                        progress=False).rows
        assert rows and all(("answerable" in r) == has_p for r in rows)
        if has_p:
            assert all(0 < r["answerable"] < 1 and r["score"] <= r["answerable"] for r in rows)


def test_a_verifier_for_other_weights_or_incomplete_is_a_clear_error(verified_reader_dir, tiny_encoder_path,
                                                                    tmp_path, capsys):
    from qa.cli import main as cli

    model, _ = load_reader_model(str(verified_reader_dir))
    Verifier.from_reader(model, 1, "0" * 64).save(verified_reader_dir)
    with pytest.raises(ReaderLoadError, match="another reader"):
        _reader(verified_reader_dir)
    meta = json.loads((verified_reader_dir / "verifier.json").read_text())
    meta["n_layers"] = 40
    (verified_reader_dir / "verifier.json").write_text(json.dumps(meta))
    with pytest.raises(ReaderLoadError, match="does not fit"):
        _reader(verified_reader_dir)
    (verified_reader_dir / "verifier.safetensors").unlink()
    with pytest.raises(ReaderLoadError, match="incomplete"):
        _reader(verified_reader_dir)
    assert _reader(verified_reader_dir, verifier=False).verifier is None, "off, the files are not read"
    doc = tmp_path / "doc.txt"
    doc.write_text(CONTEXT, encoding="utf-8")
    assert cli(["ask", "公益幸福团有多少个？", "--corpus", str(doc), "--encoder", str(tiny_encoder_path),
                "--reader", str(verified_reader_dir), "--verifier"]) == 2
    assert "incomplete" in capsys.readouterr().err


def test_threshold_follows_whether_the_verifier_is_used(verified_reader_dir):
    cfg = Config(reader=str(verified_reader_dir))
    (verified_reader_dir / "calibration.json").write_text(json.dumps(
        {"threshold": 0.12, "verifier": True, "threshold_span_only": 0.3}))
    assert reader_threshold(cfg, verified=True) == 0.12
    assert reader_threshold(cfg, verified=False) == 0.3
    assert reader_threshold(Config(reader=str(verified_reader_dir), threshold=0.5), verified=True) == 0.5
    (verified_reader_dir / "calibration.json").write_text(json.dumps({"threshold": 0.2}))
    assert reader_threshold(cfg, verified=False) == 0.2
    assert reader_threshold(cfg, verified=True) == 0.1, "a span-score threshold does not apply to confidences"


def test_english_thresholds_with_and_without_the_verifier(verified_reader_dir):
    cfg = Config(reader=str(verified_reader_dir))
    (verified_reader_dir / "calibration.json").write_text(json.dumps(
        {"threshold": 0.12, "threshold_english": 0.05, "verifier": True, "threshold_span_only": 0.3,
         "threshold_english_span_only": 0.02}))
    verified, span_only = reader_thresholds(cfg, verified=True), reader_thresholds(cfg, verified=False)
    assert (verified.default, verified.english) == (0.12, 0.05)
    assert (span_only.default, span_only.english) == (0.3, 0.02)
    assert span_only.for_question("How many users does DingTalk have?") == 0.02
    assert span_only.for_question("钉钉有多少用户？") == 0.3


def test_verifier_switch_from_the_environment(monkeypatch):
    assert Config().verifier is None, "by default the verifier is used when the reader has one"
    monkeypatch.setenv("ZHQA_VERIFIER", "auto")
    assert Config.from_env().verifier is None
    monkeypatch.setenv("ZHQA_VERIFIER", "0")
    assert Config.from_env().verifier is False
    monkeypatch.setenv("ZHQA_VERIFIER", "yes")
    assert Config.from_env().verifier is True
    monkeypatch.setenv("ZHQA_VERIFIER", "maybe")
    with pytest.raises(ValueError, match="ZHQA_VERIFIER"):
        Config.from_env()


def test_states_fit_and_save_from_the_command_line(verified_reader_dir, tmp_path):
    data = tmp_path / "set.json"
    data.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    states = tmp_path / "states"
    assert main(["states", "--data", str(data), "--per-file", "10", "--reader", str(verified_reader_dir),
                 "--dtype", "float32", "--layers", "1", "--english-share", "1", "--out", str(states)]) == 0
    ws = load_windows(states)
    assert len(ws) >= 6 and set(ws.kinds) >= {"gold", "cut", "bm25"} and ws.states[0].shape[1] == 32
    assert set(ws.labels[ws.kinds == "gold"]) == {1} and set(ws.labels[ws.kinds != "gold"]) == {0}
    assert ws.layers == 1 and ws.reader_sha256 == reader_fingerprint(verified_reader_dir)
    assert main(["fit", "--states", str(states), "--layers", "2", "--reader", str(verified_reader_dir)]) == 2, \
        "states stored for one layer cannot train a two-layer verifier"
    assert main(["fit", "--states", str(states), "--eval", str(states), "--epochs", "2",
                 "--reader", str(verified_reader_dir)]) == 0
    meta = json.loads((verified_reader_dir / "verifier.json").read_text())
    assert meta["n_layers"] == 1 and meta["train_windows"] == len(ws) and len(meta["history"]) == 2
    assert meta["reader_sha256"] == reader_fingerprint(verified_reader_dir)
    assert _reader(verified_reader_dir).verifier is not None
    assert ExtractiveReader(str(verified_reader_dir), max_length=64, stride=16).verifier is None, "opt-in"
    assert main(["fit", "--states", str(tmp_path / "none"), "--reader", str(verified_reader_dir)]) == 2


def test_fit_learns_a_separable_signal(tiny_qa_model):
    model, _ = load_reader_model(str(tiny_qa_model))
    rng = np.random.default_rng(0)
    states, labels = [], []
    for i in range(80):
        st = rng.normal(size=(int(rng.integers(6, 12)), 32)).astype(np.float16)
        st[:, :4] += -1.5 if i % 2 else 1.5
        states.append(st)
        labels.append(1 - i % 2)  # even: gold
    ws = WindowSet(states, np.array(labels, dtype=np.int8), np.array(["gold", "cut"] * 40),
                   np.array([f"q{i}" for i in range(80)]))
    v = Verifier.from_reader(model, 1)
    before = report(ws, predict(v, ws))
    result = fit(ws, None, v, epochs=8, batch_size=8, lr=1e-3, head_lr=3e-2)
    after = report(ws, predict(v, ws))
    assert after["auc"] > 0.95 and after["mean_p_gold"] > 0.6 > 0.4 > after["mean_p_cut"]
    assert before["mean_p_gold"] == before["mean_p_cut"] == 0.5
    assert result["best_epoch"] == 8, "without held-out windows the last epoch is kept"


def test_calibration_writes_both_thresholds_when_the_reader_has_a_verifier(verified_reader_dir, tmp_path):
    from qa.training.calibrate import choose_threshold
    from qa.training.calibrate import main as calibrate

    paragraphs = [{"id": f"P{i}", "context": f"第{i}段：阿里巴巴公益团体有{i}个成员，活动很多。" * 2, "qas": []}
                  for i in range(8)]
    paragraphs[0]["qas"] = [{"id": f"Q{j}", "question": "阿里巴巴公益团体有多少个成员？",
                             "answers": [{"text": "0个成员", "answer_start": 12}]} for j in range(3)]
    data = tmp_path / "dev.json"
    data.write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}, ensure_ascii=False))
    out = tmp_path / "calibration.json"
    assert calibrate(["--dev", str(data), "--start", "0", "--n", "3", "--reader", str(verified_reader_dir),
                      "--out", str(out)]) == 0
    plain = json.loads(out.read_text())
    assert plain["verifier"] is False and plain["n"] == 3 and "threshold_span_only" not in plain
    model, _ = load_reader_model(str(verified_reader_dir))
    v = Verifier.from_reader(model, 1, reader_fingerprint(verified_reader_dir))
    torch.nn.init.constant_(v.head.bias, -1.0)
    v.save(verified_reader_dir)
    assert calibrate(["--dev", str(data), "--start", "0", "--n", "3", "--reader", str(verified_reader_dir),
                      "--out", str(out)]) == 0
    both = json.loads(out.read_text())
    assert both["verifier"] is True and both["threshold_span_only"] == plain["threshold"]
    # a constant P = sigmoid(-1) scales every confidence alike, so the chosen threshold scales too
    assert both["threshold"] == pytest.approx(plain["threshold"] / (1 + np.e), abs=2e-4)
    assert both["span_only"]["n"] == 3
    # the rule itself: the cut that keeps most right answers and abstentions
    rows = [{"pos_score": 0.9, "pos_right": True, "neg_score": 0.1}, {"pos_score": 0.8, "pos_right": True, "neg_score": 0.3}]
    best = choose_threshold(rows)
    assert best["threshold"] == 0.8 and best["answerable_right"] == best["unanswerable_abstained"] == 1.0


def _write_rows(folder, **sets) -> list[str]:
    """Each set's rows as ``NAME.reader-only.jsonl`` (as eval_sets.py --details writes them); their paths."""
    paths = []
    for name, rows in sets.items():
        p = folder / f"{name}.reader-only.jsonl"
        p.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
        paths.append(str(p))
    return paths


def test_threshold_sweep_weighs_each_set_the_same(tmp_path):
    from qa.training.calibrate import f1_with_abstention, main as calibrate, sweep_threshold

    def row(score, f1, answerable=True, i=0, question="问题？"):
        return {"id": f"q{i}", "question": question, "score": score, "best_span": "x", "best_f1": f1,
                "answers": ["x"] if answerable else []}

    news = [row(0.9, 1.0), row(0.3, 1.0), row(0.2, 0.0)]                 # answerable, low-scoring right answer
    web = [row(0.8, 1.0), row(0.25, 0.0, answerable=False), row(0.1, 0.0, answerable=False)]
    assert f1_with_abstention(web, 0.0) == pytest.approx(1 / 3)
    assert f1_with_abstention(web, 0.5) == pytest.approx(1.0)
    best = sweep_threshold({"news": news, "web": web})
    # 0.26..0.3 keeps news' second right answer and withholds both unanswerable web spans
    assert best["threshold"] == pytest.approx(0.3)
    assert best["objective"] == pytest.approx((2 / 3 + 1.0) / 2), "one group each: sets with and without unanswerable"
    assert best["per_set_f1"] == {"news": pytest.approx(2 / 3), "web": pytest.approx(1.0)}
    paths = _write_rows(tmp_path, news=news, web=web)
    # English questions over the same passages score a tenth of their Chinese twins
    zh = [row(0.5 + i / 100, 1.0, i=i) for i in range(30)]
    en = [{**row((0.5 + i / 100) / 10, 1.0, i=i, question="How many users does it have?"), "id": f"q{i}-en"}
          for i in range(30)]
    paths += _write_rows(tmp_path, zh=zh, en=en)
    out = tmp_path / "calibration.json"
    assert calibrate(["sweep", *paths, "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["verifier"] is False and saved["sets"] == ["en", "news", "web", "zh"]
    assert saved["threshold"] == pytest.approx(0.3), "the English set stays out of the sweep"
    assert saved["english_calibration"]["paired_median_score_ratio"] == pytest.approx(0.1)
    assert saved["threshold_english"] == pytest.approx(0.03)
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n', encoding="utf-8")
    assert calibrate(["sweep", str(tmp_path / "bad.jsonl")]) == 2


@pytest.mark.parametrize("line, message", [
    ('5', "holds no scored rows"),
    ('{"id": "q", "question": "问？", "score": "abc", "best_span": "x", "best_f1": 1, "answers": []}',
     "row 1: score is 'abc', not a number"),
    ('{"id": "q", "question": "问？", "score": null, "best_span": "x", "best_f1": 1, "answers": []}',
     "row 1: score is None, not a number"),
    ('{"id": "q", "question": "问？", "score": 0.5, "best_span": "x", "best_f1": 1, "answers": [], "answerable": "x"}',
     "row 1: answerable is 'x', not a number"),
])
def test_a_sweep_over_damaged_rows_is_one_error_line(tmp_path, capsys, line, message):
    from qa.training.calibrate import main as calibrate

    bad = tmp_path / "set.jsonl"
    bad.write_text(line + "\n", encoding="utf-8")
    assert calibrate(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_a_sweep_refuses_two_files_of_one_set_and_says_when_out_cannot_be_written(tmp_path, capsys):
    from qa.training.calibrate import main as calibrate

    rows = [{"id": f"q{i}", "question": "问题？", "score": i / 10, "best_span": "x", "best_f1": 1.0,
             "answers": ["x"]} for i in range(5)]
    first = _write_rows(tmp_path, news=rows)[0]
    (tmp_path / "other").mkdir()
    second = _write_rows(tmp_path / "other", news=rows)[0]
    assert calibrate(["sweep", first, second]) == 2
    assert "two files are named as the set 'news'" in capsys.readouterr().err
    assert calibrate(["sweep", first, "--out", str(tmp_path / "missing" / "c.json")]) == 2
    out = capsys.readouterr()
    assert '"threshold"' in out.out and "the result above was not written" in out.err and "Traceback" not in out.err


def test_calibrating_on_a_damaged_dev_file_fails_before_the_reader_loads(tmp_path, capsys, monkeypatch):
    from qa.training.calibrate import main as calibrate

    monkeypatch.setattr("qa.reader.extractive.ExtractiveReader.__init__",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("the reader loaded")))
    (tmp_path / "notjson.json").write_text("{", encoding="utf-8")
    (tmp_path / "short.json").write_text(json.dumps({"data": [{"paragraphs": [{"context": "钉钉用户超6亿。", "qas": [
        {"id": "a", "question": "钉钉用户有多少？", "answers": [{"text": "超6亿", "answer_start": 4}]}]}]}]}),
        encoding="utf-8")
    for args, message in ((["--dev", str(tmp_path / "notjson.json")], "cannot be read as JSON"),
                          (["--dev", str(tmp_path)], "cannot be read"),
                          (["--dev", str(tmp_path / "short.json")], "--start 2900 --n 300 take no question"),
                          (["--dev", str(tmp_path / "short.json"), "--start", "0", "--out",
                            str(tmp_path / "missing" / "c.json")], "its folder does not exist")):
        assert calibrate(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_sweep_of_rows_scored_with_the_verifier_also_writes_the_span_only_thresholds(tmp_path):
    from qa.training.calibrate import main as calibrate

    def row(span, p, f1, answerable=True, i=0):
        return {"id": f"q{i}", "question": "问题？", "score": span * p, "answerable": p, "best_span": "x",
                "best_f1": f1, "answers": ["x"] if answerable else []}

    # the verifier separates what the span score cannot: a confident span over an unanswerable question
    news = [row(0.9, 0.9, 1.0), row(0.4, 0.9, 1.0, i=1), row(0.2, 0.9, 0.0, i=2)]
    web = [row(0.8, 0.9, 1.0), row(0.6, 0.1, 0.0, answerable=False, i=1), row(0.1, 0.5, 0.0, answerable=False, i=2)]
    paths = _write_rows(tmp_path, news=news, web=web)
    out = tmp_path / "calibration.json"
    assert calibrate(["sweep", *paths, "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["verifier"] is True
    assert saved["threshold"] == pytest.approx(0.18), "the lowest confidence that keeps news' right spans, withholds web's"
    assert saved["per_set_f1"] == {"news": pytest.approx(2 / 3), "web": pytest.approx(1.0)}
    # by the span score alone, web's 0.6 outranks news' 0.4: no threshold gets all of both
    assert saved["threshold_span_only"] == pytest.approx(0.2)
    assert saved["span_only"]["objective"] < saved["objective"]
