import math

import pytest

from qa.reader.extractive import ExtractiveReader
from qa.reader.loading import ReaderLoadError, load_reader_model, save_reader


@pytest.fixture(scope="module")
def reader(tiny_qa_model):
    return ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8, batch_size=4)


PASSAGES = ["阿里巴巴公益幸福团超110个，共发起了1000多场活动。" * 3, "钉钉用户超6亿。"]


def test_spans_are_exact_substrings_with_valid_scores(reader):
    spans = reader.read("公益幸福团有多少个？", PASSAGES, top_n=10)
    assert spans, "a reader always proposes candidates"
    assert spans == sorted(spans, key=lambda s: -s.score)
    for sp in spans:
        assert PASSAGES[sp.passage][sp.start:sp.end] == sp.text
        assert 0 < len(sp.text) <= 8
        assert 0.0 <= sp.score <= 1.0 and 0.0 <= sp.null_score <= 1.0
    assert len({(s.passage, s.start, s.end) for s in spans}) == len(spans)


def test_long_passages_are_windowed(reader):
    long = "甲乙丙丁" * 60 + "钉钉用户超6亿。"
    spans = reader.read("钉钉用户", [long], top_n=50)
    assert max(s.end for s in spans) > 128, "spans must come from later windows too"


def test_a_question_longer_than_a_window_is_cut_to_its_head_and_tail(reader):
    question = "阿里巴巴" + "的" * 200 + "公益幸福团有多少个？"      # 214 tokens; windows hold 64
    fitted = reader._fit_question(question)
    assert fitted.startswith("阿里巴") and fitted.endswith("有多少个？") and len(fitted) <= 64 // 3 + 1
    assert reader._fit_question("公益幸福团有多少个？") == "公益幸福团有多少个？"
    spans = reader.read(question, PASSAGES, top_n=3)
    assert spans and all(PASSAGES[sp.passage][sp.start:sp.end] == sp.text for sp in spans)


def test_no_passages_no_spans(reader):
    assert reader.read("问题", []) == []


def test_compact_reader_round_trip_needs_matching_weights(tiny_qa_model, tmp_path):
    model, _ = load_reader_model(str(tiny_qa_model))
    out = save_reader(model, tmp_path / "compact", {"note": "test"})
    assert (out / "model.safetensors").exists() and (out / "zhqa_reader.json").exists()
    with pytest.raises(ReaderLoadError):
        load_reader_model(str(tmp_path / "does-not-exist"))


def test_from_model_wraps_a_loaded_model_and_bad_settings_are_clear_errors(tiny_qa_model):
    model, tok = load_reader_model(str(tiny_qa_model))
    wrapped = ExtractiveReader.from_model(model, tok, max_length=64, stride=16, max_answer_chars=8)
    direct = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8)
    assert wrapped.read("钉钉用户", PASSAGES, top_n=3) == direct.read("钉钉用户", PASSAGES, top_n=3)
    with pytest.raises(ReaderLoadError, match="dtype"):
        ExtractiveReader.from_model(model, tok, dtype="float16")
    with pytest.raises(ReaderLoadError, match="device"):
        ExtractiveReader.from_model(model, tok, device="nonsense")


def test_unquote_strips_one_enclosing_pair_only():
    from qa.reader.bounds import unquote

    p = "构建“1+6+N”组织结构，出版《三体》与「甲」「乙」。"
    s = p.index("“")
    assert unquote(p, s, s + 7) == (s + 1, s + 6) and p[s + 1:s + 6] == "1+6+N"
    assert unquote(p, s, s + 11) == (s, s + 11), "an unbalanced span keeps its marks"
    t = p.index("《")
    assert unquote(p, t, t + 4) == (t, t + 4), "title marks are part of the name"
    q = p.index("「")
    assert unquote(p, q, q + 6) == (q, q + 6), "「甲」「乙」 is two quotations, not one"
    assert unquote(p, s, s + 2) == (s, s + 2), "an empty quotation stays"
    b = "四次擒抱(118)与（见下）"
    i = b.index("(")
    assert unquote(b, i, i + 5) == (i + 1, i + 4), "an aside's brackets around the whole span go"
    assert unquote(b, i - 2, i + 5) == (i - 2, i + 5), "brackets inside the span stay"
    a = "Tencent's and Alibaba'"
    assert unquote(a, 7, len(a)) == (7, len(a)), "apostrophes are not quotation marks"


def test_answer_bounds_trim_spaces_around_and_inside_the_quotes():
    from qa.reader.bounds import answer_bounds

    p = "构建 “ 1+6+N ” 组织"
    s, e = answer_bounds(p, 2, 13)
    assert p[s:e] == "1+6+N"



def test_answer_bounds_never_keep_edge_punctuation_unbalanced_marks_or_dangling_particles():
    from qa.reader.bounds import answer_bounds

    def clean(text: str) -> str:
        s, e = answer_bounds(text, 0, len(text))
        return text[s:e]

    assert clean("超110个，") == "超110个"
    assert clean("，2023年。") == "2023年"
    assert clean("“黑命贵") == "黑命贵" and clean("黑命贵”运动") == "黑命贵"
    assert clean("张勇（Daniel") == "张勇", "an aside opened and not closed goes"
    assert clean("1999年）") == "1999年"
    assert clean("美丽的") == "美丽" and clean("是张勇") == "张勇"
    assert clean("的时间和空间") == "时间和空间" and clean("（118）") == "118" and clean("“(118)”") == "118"
    p = "任务所需的时间和空间，首都的黎波里，港口城市的里雅斯特，位于的的喀喀湖。他此行的目的是调查真相。"
    for answer, expected in (("的时间和空间", "时间和空间"), ("的是调查真相", "调查真相"), ("的黎波里", "的黎波里"), ("的里雅斯特", "的里雅斯特"),
                             ("的的喀喀湖", "的的喀喀湖")):
        s, e = answer_bounds(p, p.index(answer), p.index(answer) + len(answer))
        assert p[s:e] == expected, answer
    assert clean("12%¹") == "12%" and clean("156.2亿元²") == "156.2亿元" and clean("营业收入¹²") == "营业收入"
    assert clean("2,947项※") == "2,947项" and clean("12.5亿元†") == "12.5亿元"
    assert clean("\n2023年") == "2023年"
    for kept in ("120m²", "3.5km²", "5cm³", "3×10⁵", "10⁻⁶", "目的", "随着", "是否合法", "的确如此", "的士司机", "《三体》", "阿里巴巴（中国）有限公司", "-5℃", "39 岁", "的", "了"):
        assert clean(kept) == kept, kept
    p = "据报道，诺曼完成了四次拦截。"
    s, e = answer_bounds(p, p.index("四"), len(p))
    assert p[s:e] == "四次拦截"


def test_a_function_word_alone_is_never_a_span(tiny_qa_model):
    from qa.reader.bounds import is_function_word
    from qa.reader.extractive import ExtractiveReader

    assert is_function_word("通过") and is_function_word(" 以及 ") and is_function_word("等")
    assert not any(map(is_function_word, ("是", "有", "通过率", "能耗宝", "张勇", "")))
    assert is_function_word("通過") and is_function_word("與") and is_function_word("隨著")   # traditional text
    assert not any(map(is_function_word, ("于", "向", "由", "将", "和", "在")))   # surnames, the chess piece 将
    reader = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=4)
    passage = ["通过能耗宝，由菜鸟和伊利并且以及在将。"]
    spans = reader.read("平台叫什么名字？", passage, top_n=500)
    assert spans and not any(is_function_word(s.text) for s in spans)


def test_auto_precision_is_bf16_only_where_the_cpu_runs_it_natively(tiny_qa_model, monkeypatch):
    import torch

    import index.hardware as hw

    assert hw.resolve_dtype("float32") == "float32" and hw.resolve_dtype("bfloat16") == "bfloat16"
    for native in (True, False):
        hw.bf16_is_fast.cache_clear()
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda native=native: native)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        assert hw.resolve_dtype("auto") == ("bfloat16" if native else "float32")
        r = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16)   # dtype defaults to auto
        assert r.dtype == (torch.bfloat16 if native else torch.float32)
    hw.bf16_is_fast.cache_clear()
    with pytest.raises(ReaderLoadError, match="auto or one of"):
        ExtractiveReader(str(tiny_qa_model), dtype="float16")


def test_a_span_length_prior_reorders_spans_but_keeps_their_confidence(tiny_qa_model):
    from qa.reader.extractive import SpanLengthPrior

    assert SpanLengthPrior.from_calibration({}) == SpanLengthPrior() and SpanLengthPrior().weight(60) == 1.0
    assert SpanLengthPrior.from_calibration({"span_length_prior": {"beta": 0.02, "free": 4}}) == SpanLengthPrior(0.02, 4)
    assert SpanLengthPrior.from_calibration({"span_length_prior": {"beta": "x"}}) == SpanLengthPrior()
    prior = SpanLengthPrior(0.1, 4)
    assert prior.weight(4) == 1.0 and prior.weight(14) == pytest.approx(math.exp(-1.0))
    reader = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8, batch_size=4)
    assert reader.length_prior == SpanLengthPrior(), "a folder without calibration.json ranks by confidence"
    passage = "阿里巴巴集团的首席执行官是张勇，他于2015年接任。"
    plain = reader.read("首席执行官是谁？", [passage], top_n=10_000)   # every candidate
    reader.length_prior = SpanLengthPrior(10.0, 0)   # length all but decides
    short = reader.read("首席执行官是谁？", [passage], top_n=10_000)
    assert sorted((s.start, s.end, s.confidence) for s in plain) == sorted((s.start, s.end, s.confidence) for s in short)
    assert len(short[0].text) == min(len(s.text) for s in plain)


def test_passage_weights_reorder_spans_but_keep_their_confidence(reader):
    question = "公益幸福团有多少个？"
    plain = reader.read(question, PASSAGES, top_n=10_000)
    assert {s.passage for s in plain} == {0, 1}
    for favoured in (0, 1):
        weights = [1.0 if i == favoured else 1e-9 for i in range(len(PASSAGES))]
        weighted = reader.read(question, PASSAGES, top_n=10_000, passage_weights=weights)
        assert weighted[0].passage == favoured
        assert [s.passage for s in weighted] == sorted((s.passage for s in weighted), key=lambda p: p != favoured)
        assert sorted((s.passage, s.start, s.end, s.confidence) for s in weighted) == \
            sorted((s.passage, s.start, s.end, s.confidence) for s in plain)
    assert reader.read(question, PASSAGES, top_n=10_000, passage_weights=[1.0, 1.0]) == plain
    with pytest.raises(ValueError, match="2 passages"):
        reader.read(question, PASSAGES, passage_weights=[1.0])


def test_reading_in_rank_order_gives_the_best_span_of_reading_all(reader, monkeypatch):
    passages = PASSAGES + ["星河公司的创始人是李明远，公司成立于2001年。"]
    passes = []
    real = reader.forward_windows
    monkeypatch.setattr(reader, "forward_windows", lambda q, ps, *a, **kw: passes.append(len(ps)) or real(q, ps, *a, **kw))
    for question in ("公益幸福团有多少个？", "钉钉用户超过多少？", "谁创立了星河公司？"):
        # falling weights a tiny model's spans cannot beat: the later passages are read, and merged in order
        weights = [1.0, 0.5, 0.25]
        passes.clear()
        whole = reader.read_checked(question, passages, top_n=10_000, passage_weights=weights).kept
        ranked = reader.read_ranked(question, passages, top_n=10_000, passage_weights=weights).kept
        assert passes == [3, 1, 2]
        assert [(s.passage, s.start, s.end) for s in ranked] == [(s.passage, s.start, s.end) for s in whole]
        assert [s.confidence for s in ranked] == pytest.approx([s.confidence for s in whole], rel=1e-4)
        # weights its first span beats: the others are never read, and the best span is the same
        weights = [1.0, 1e-7, 1e-8]
        passes.clear()
        whole = reader.read_checked(question, passages, top_n=5, passage_weights=weights).kept
        ranked = reader.read_ranked(question, passages, top_n=5, passage_weights=weights).kept
        assert passes == [3, 1]
        assert (ranked[0].passage, ranked[0].start, ranked[0].end) == (whole[0].passage, whole[0].start, whole[0].end)
        assert {s.passage for s in ranked} == {0}
    passes.clear()   # equal weights: nothing could be left unread, one pass as read_checked
    ranked = reader.read_ranked("钉钉用户？", passages, top_n=50, passage_weights=[1, 1, 1]).kept
    assert passes == [3]
    assert ranked == reader.read_checked("钉钉用户？", passages, top_n=50, passage_weights=[1, 1, 1]).kept


def test_reading_in_rank_order_keeps_the_length_prior_the_answer_types_and_the_bound(tiny_qa_model, monkeypatch):
    from qa.reader.extractive import SpanLengthPrior

    reader = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8, batch_size=4,
                              answer_types=True)
    reader.length_prior = SpanLengthPrior(0.3, 2)
    passages = ["公益幸福团超110个，2021年发起1000多场活动，投入3亿元。", "钉钉用户超6亿，2023年覆盖2000万家组织。",
                "星河公司成立于2001年，员工500人，营收8亿元。"]
    question = "公益幸福团有多少个？"   # a count: the answer-type rule sets years and sums of money aside

    def key(span, weights):
        return span.confidence * weights[span.passage] * reader.length_prior.weight(len(span.text))

    weights = [1.0, 0.5, 0.25]
    whole = reader.read_checked(question, passages, top_n=10_000, passage_weights=weights)
    ranked = reader.read_ranked(question, passages, top_n=10_000, passage_weights=weights)
    assert whole.dropped > 0, "the rule sets some spans aside here"
    assert ranked.dropped == whole.dropped and ranked.expected == whole.expected
    assert [(s.passage, s.start, s.end) for s in ranked.kept] == [(s.passage, s.start, s.end) for s in whole.kept]
    assert [key(s, weights) for s in ranked.kept] == sorted((key(s, weights) for s in ranked.kept), reverse=True)
    # at the bound: the first passage's best span against the largest weight of the others
    first = reader.read_checked(question, passages[:1], top_n=1, passage_weights=[1.0]).kept[0]
    best = key(first, [1.0])
    passes = []
    read = reader.forward_windows
    monkeypatch.setattr(reader, "forward_windows", lambda q, ps, *a, **kw: passes.append(len(ps)) or read(q, ps, *a, **kw))
    for factor, expected_passes in ((1.01, [1, 2]), (0.99, [1])):
        weights = [1.0, best * factor, best * factor / 2]
        passes.clear()
        ranked = reader.read_ranked(question, passages, top_n=5, passage_weights=weights).kept
        assert passes == expected_passes
        whole = reader.read_checked(question, passages, top_n=5, passage_weights=weights).kept
        assert (ranked[0].passage, ranked[0].start, ranked[0].end) == (whole[0].passage, whole[0].start, whole[0].end)


def test_a_new_calibration_keeps_the_span_length_prior_chosen_before(tmp_path):
    import json

    from qa.training.calibrate import write_calibration

    path = tmp_path / "calibration.json"
    write_calibration(path, {"threshold": 0.1})
    assert json.loads(path.read_text()) == {"threshold": 0.1}
    path.write_text(json.dumps({"threshold": 0.1, "span_length_prior": {"beta": 0.02, "free": 4}}))
    write_calibration(path, {"threshold": 0.05})
    assert json.loads(path.read_text()) == {"threshold": 0.05, "span_length_prior": {"beta": 0.02, "free": 4}}


def test_no_span_starts_in_the_context_before_answer_from(reader):
    question = "董事长是谁？"
    title = "星河航运集团有限公司2023年度报告摘要\n"
    passages = [title + "公司董事长为魏东海，总经理为李明远。", "钉钉用户超6亿，2023年覆盖2000万家组织。"]
    plain = reader.read(question, passages, top_n=10_000)
    assert any(s.passage == 0 and s.start < len(title) for s in plain), "the tiny model proposes title spans"
    held = reader.read(question, passages, top_n=10_000, answer_from=[len(title), 0])
    assert held and all(s.start >= len(title) for s in held if s.passage == 0)
    # the passage without a head reads as before
    assert {(s.start, s.end, s.score) for s in held if s.passage == 1} == \
        {(s.start, s.end, s.score) for s in plain if s.passage == 1}
    for weights in ([1.0, 0.5], [1.0, 1e-9]):   # read in rank order: the same rule on each pass
        ranked = reader.read_ranked(question, passages, top_n=10_000, passage_weights=weights,
                                    answer_from=[len(title), 0]).kept
        assert ranked and all(s.start >= len(title) for s in ranked if s.passage == 0)
    with pytest.raises(ValueError, match="2 passages"):
        reader.read(question, passages, answer_from=[0])
    with pytest.raises(ValueError, match="2 passages"):   # even where the first passage would settle it
        reader.read_ranked(question, passages, passage_weights=[1.0, 1e-9], answer_from=[0])


def test_no_span_crosses_a_line_break_or_a_cell_border(tiny_qa_model):
    """The tiny reader proposes spans all over; none may hold a line break or a 「|」 inside it."""
    from qa.reader.extractive import ExtractiveReader

    reader = ExtractiveReader(str(tiny_qa_model), max_length=96, stride=32, max_answer_chars=24, answer_types=False)
    passage = "声音\n\n恐怖主义是国际社会的公敌。\n项目 | 2023年 | 2022年\n投入金额 | 9.87 | 8.14\n占营业收入比例：5.29%"
    spans = reader.read("国际社会的公敌是什么？", [passage], top_n=400)
    assert len(spans) > 20
    for s in spans:
        inside = passage[s.start:s.end]
        assert "\n" not in inside and "|" not in inside, inside
