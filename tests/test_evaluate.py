"""Batch evaluation: file formats, bad input, Ctrl-C, reader-only and the real pipeline (e2e)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import qa.evaluation.runner as ev
from index.chunk import Chunk
from qa.answer import Answer, Candidate, Passage
from qa.config import SAMPLE_ARTICLE
from qa.language import is_english_question
from qa.reader.extractive import Span
from qa.retrieve import Hit

# The seed development questions (a copy of ../shared/eval/seed_dev.jsonl) over the bundled article.
SEED_JSONL = """\
{"id": "dev-01", "question": "2023财年阿里活跃的公益幸福团有多少个？", "answers": ["超110个", "110个", "超 110个"]}
{"id": "dev-02", "question": "阿里巴巴集团什么时候发布了《环境、社会和治理报告（2023）》？", "answers": ["7月24日"]}
{"id": "dev-03", "question": "ESG是什么时候被正式确立为阿里巴巴的基石战略之一的？", "answers": ["2021年年底", "2021 年年底"]}
{"id": "dev-04", "question": "2023财年阿里巴巴自身运营二氧化碳净排放是多少？", "answers": ["468.1万吨", "468.1 万吨"]}
{"id": "dev-05", "question": "2023财年阿里巴巴自身运营净排放同比下降了多少？", "answers": ["12.9%"]}
{"id": "dev-06", "question": "阿里巴巴带动平台生态减碳达到多少？", "answers": ["2290.7万吨", "2290.7 万吨"]}
{"id": "dev-07", "question": "在价值链减排上，阿里巴巴共计减碳多少？", "answers": ["40万吨"]}
{"id": "dev-08", "question": "通过88碳账户体系和低碳友好商品体系带动了多少个品牌参与减碳？", "answers": ["409个", "409 个"]}
{"id": "dev-09", "question": "截至3月31日，阿里巴巴女性员工占比是多少？", "answers": ["49.1%"]}
{"id": "dev-10", "question": "阿里巴巴董事会独立董事占比提升到了多少？", "answers": ["60%"]}
{"id": "dev-11", "question": "阿里巴巴生态直接或间接衍生了多少个就业机会？", "answers": ["超7000万个", "7000万个", "超 7000万个"]}
{"id": "dev-12", "question": "截至2023年3月31日，钉钉用户超过多少？", "answers": ["6亿", "超6亿"]}
{"id": "dev-13", "question": "2023财年全国832个脱贫县在阿里巴巴平台的销售额是多少？", "answers": ["超1300亿元", "1300亿元", "超 1300亿元"]}
{"id": "dev-14", "question": "菜鸟建设了多少个县级共同配送中心？", "answers": ["超1460个", "1460个", "超 1460个"]}
{"id": "dev-15", "question": "阿里巴巴累计派出了多少位乡村振兴特派员？", "answers": ["27位"]}
{"id": "dev-16", "question": "2023财年淘宝天猫服务了多少视障用户？", "answers": ["超32万人", "32万人", "超 32万人"]}
{"id": "dev-17", "question": "少年云助学项目为多少所学校部署了云机房？", "answers": ["102所"]}
{"id": "dev-18", "question": "阿里是哪一天提出“人人3小时”倡议的？", "answers": ["2015年9月10日", "2015年 9月 10日"]}
{"id": "dev-19", "question": "2023财年公益幸福团共发起了多少场活动？", "answers": ["1000多场"]}
{"id": "dev-20", "question": "过去一年约有多少次非正常搜索被自动引导至公益宣导教育界面？", "answers": ["约8000万次", "8000万次", "约 8000万次"]}
{"id": "dev-21", "question": "达摩院的阿尔茨海默症智能筛查工具帮助多少人次及早筛查？", "answers": ["118746人次", "118746"]}
{"id": "dev-22", "question": "阿里巴巴构建了什么样的组织结构？", "answers": ["“1+6+N”组织结构", "1+6+N"]}
{"id": "dev-23", "question": "全球有多少家企业使用“能耗宝”？", "answers": ["2580家", "2580 家"]}
{"id": "dev-24", "question": "伊利与菜鸟在什么时候签署了绿色战略合作协议？", "answers": ["2022年7月", "2022年 7月"]}
{"id": "dev-25", "question": "2023财年有多少商家加入了“公益宝贝”计划？", "answers": ["204万", "204万商家"]}
{"id": "dev-26", "question": "阿里巴巴集团董事会主席兼首席执行官是谁？", "answers": ["张勇"]}
{"id": "dev-27", "question": "有多少个交易所出台了ESG信息披露要求？", "answers": ["超过70个", "70个", "超过 70个"]}
{"id": "dev-28", "question": "这篇报道的记者是谁？", "answers": ["皮磊"]}
{"id": "dev-29", "question": "阿里健康发布了什么？", "answers": ["全国首份罕见病就诊地图"]}
{"id": "dev-30", "question": "阿里巴巴2023财年的营业收入是多少？", "answers": []}
{"id": "dev-31", "question": "腾讯公司2023年的碳排放是多少？", "answers": []}
{"id": "dev-32", "question": "How many 公益幸福团 were active in fiscal year 2023?", "answers": ["超110个", "110个", "超 110个"]}
"""

# Short paragraphs with unmistakable answers, in SQuAD layout (one question per paragraph is
# unanswerable from its paragraph: ``is_impossible``).
PARAGRAPHS = [
    ("P-comet", "哈雷彗星", "哈雷彗星是一颗著名的周期彗星，平均每76年接近地球一次。它最近一次回归是在1986年，下一次回归预计在2061年。",
     [("Q-comet-1", "哈雷彗星平均每多少年接近地球一次？", ["76年"]),
      ("Q-comet-2", "哈雷彗星下一次回归预计在哪一年？", ["2061年"])]),
    ("P-lake", "青海湖", "青海湖位于青海省东北部，是中国最大的内陆咸水湖，湖面海拔约3196米。湖中的鸟岛是候鸟的繁殖地。",
     [("Q-lake-1", "中国最大的内陆咸水湖是哪个湖？", ["青海湖"]),
      ("Q-lake-2", "青海湖湖面海拔约多少米？", ["3196米", "约3196米"]),
      ("Q-lake-3", "青海湖的湖水面积是多少平方公里？", [])]),
    ("P-novel", "红楼梦", "《红楼梦》是中国古典长篇章回体小说，作者是清代作家曹雪芹，此书原名《石头记》。",
     [("Q-novel-1", "《红楼梦》的作者是谁？", ["曹雪芹", "清代作家曹雪芹"]),
      ("Q-novel-2", "《红楼梦》原名是什么？", ["《石头记》", "石头记"])]),
    ("P-moon", "阿波罗11号", "1969年7月20日，阿波罗11号的登月舱在月球静海着陆，宇航员阿姆斯特朗成为第一个踏上月球的人。",
     [("Q-moon-1", "第一个踏上月球的人是谁？", ["阿姆斯特朗", "宇航员阿姆斯特朗"]),
      ("Q-moon-2", "阿波罗11号的登月舱在什么时候着陆月球？", ["1969年7月20日"])]),
    ("P-tower", "臺北101", "臺北101是位於臺灣臺北市信義區的摩天大樓，樓高508公尺，於2004年落成。",
     [("Q-tower-1", "臺北101樓高多少公尺？", ["508公尺"])]),
    ("P-duck", "北京烤鸭", "北京烤鸭是北京的传统名菜，以全聚德和便宜坊两家老字号最为有名，其中便宜坊创立于1416年。",
     [("Q-duck-1", "便宜坊创立于哪一年？", ["1416年"])]),
]


def write_squad(path: Path) -> Path:
    data = {"version": "test", "data": [{"title": title, "paragraphs": [{"id": pid, "context": ctx, "qas": [
        {"id": qid, "question": q, "is_impossible": not answers,
         "answers": [{"text": a, "answer_start": ctx.find(a)} for a in answers]} for qid, q, answers in qas]}]}
        for pid, title, ctx, qas in PARAGRAPHS]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(argv: list[str]) -> tuple[int, str, str]:
    """``qa eval`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = ev.main(argv)
    return rc, out.getvalue(), err.getvalue()


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_png(path: Path) -> bool:
    return path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


@pytest.fixture
def no_models(monkeypatch):
    """Fail loudly if the code under test tries to build a bot or load a reader."""
    def boom(*a, **k):
        raise AssertionError("models must not be loaded here")
    monkeypatch.setattr(ev, "make_bot", boom)
    monkeypatch.setattr(ev, "make_reader", boom)


# ---------------------------------------------------------------- fakes: the pipeline without models
def _chunk(doc_id: str, text: str) -> Chunk:
    return Chunk(f"{doc_id}#0", doc_id, doc_id, text, 0, len(text), 0, len(text))


class FakeBot:
    """Answers from a table ``question -> (text, score, doc_id)``; ranks documents from ``ranking``."""

    def __init__(self, canned, ranking, contexts, threshold=0.5, interrupt_at=None):
        self.canned, self.ranking, self.contexts = canned, ranking, contexts
        self.threshold, self.interrupt_at, self.calls = threshold, interrupt_at, 0
        self.store = SimpleNamespace(documents={d: None for d in contexts})
        self.retriever = SimpleNamespace(retrieve=self._retrieve)

    def _retrieve(self, question, k, mode=None):
        return [Hit(_chunk(d, self.contexts[d]), 1.0 / (i + 1)) for i, d in enumerate(self.ranking[question][:k])]

    def ask(self, question, top_k=None, mode=None, threshold=None, depth=None):
        self.calls += 1
        ranked = tuple(self.ranking[question][:max(depth or 0, top_k or 0)])
        if self.interrupt_at is not None and self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        thr = self.threshold if threshold is None else threshold
        text, score, doc = self.canned[question]
        ctx = self.contexts[doc]
        passages = tuple(Passage(f"{d}#0", d, d, self.contexts[d], 1.0, 0, 1) for d in self.ranking[question][:top_k])
        cand = Candidate(text, score, doc, doc, 0, len(text), f"{doc}#0")
        if score < thr:
            return Answer(question, "", score, True, threshold=thr, alternatives=(cand,), passages=passages,
                          latency_ms=12.0, ranked_doc_ids=ranked)
        s = ctx.find(text)
        return Answer(question, text, score, False, doc, doc, s, s + len(text), ctx, s, s + len(text), f"{doc}#0",
                      thr, (), passages, 10.0 + len(text), ranked)


def fake_bot(**kw) -> FakeBot:
    contexts = {pid: ctx for pid, _, ctx, _ in PARAGRAPHS}
    canned = {  # question -> (prediction, score, doc)
        "哈雷彗星平均每多少年接近地球一次？": ("76年", 0.9, "P-comet"),          # right
        "哈雷彗星下一次回归预计在哪一年？": ("1986年", 0.8, "P-comet"),          # wrong
        "中国最大的内陆咸水湖是哪个湖？": ("青海湖", 0.3, "P-lake"),             # right span, abstains (< 0.5)
        "青海湖湖面海拔约多少米？": ("约3196米", 0.7, "P-lake"),                # right (2nd reference)
        "青海湖的湖水面积是多少平方公里？": ("3196米", 0.2, "P-lake"),          # unanswerable, abstains: right
        "《红楼梦》的作者是谁？": ("清代作家曹雪芹", 0.95, "P-novel"),           # right (2nd reference)
        "《红楼梦》原名是什么？": ("石头记", 0.6, "P-novel"),                    # right (punctuation)
        "第一个踏上月球的人是谁？": ("阿姆斯特朗", 0.9, "P-moon"),              # right
        "阿波罗11号的登月舱在什么时候着陆月球？": ("1969年", 0.55, "P-moon"),    # partial
        "臺北101樓高多少公尺？": ("508公尺", 0.9, "P-tower"),                    # right
        "便宜坊创立于哪一年？": ("1416年", 0.9, "P-duck"),                      # right
    }
    docs = list(contexts)
    ranking = {}
    for i, (pid, _, _, qas) in enumerate(PARAGRAPHS):
        for _, q, _ in qas:
            others = [d for d in docs if d != pid]
            # gold first for most; third for the tower question; never retrieved for the duck one
            ranking[q] = ([pid] + others if pid not in ("P-tower", "P-duck") else
                          others[:2] + [pid] + others[2:] if pid == "P-tower" else others)
    return FakeBot(canned, ranking, contexts, **kw)


# ---------------------------------------------------------------- loading question sets
def test_question_types():
    assert ev.question_type("2023财年阿里活跃的公益幸福团有多少个？") == "quantity"
    assert ev.question_type("阿里巴巴集团董事会主席兼首席执行官是谁？") == "person"
    assert ev.question_type("阿里巴巴集团什么时候发布了报告？") == "time"
    assert ev.question_type("阿里是哪一天提出倡议的？") == "time"
    assert ev.question_type("中国最大的内陆咸水湖是哪个湖？") == "place/which"
    assert ev.question_type("阿里健康发布了什么？") == "what"
    assert ev.question_type("为什么排放下降了？") == "why/how"
    assert ev.question_type("陸特和漢斯雷頓開創了哪一地區對梵語的學術研究？") == "place/which"
    assert ev.question_type("How many teams?") == "other"
    assert ev.question_type("几乎所有人都同意吗") == "other"


def test_load_jsonl_and_squad(tmp_path):
    jl = tmp_path / "seed.jsonl"
    jl.write_text(SEED_JSONL, encoding="utf-8")
    s = ev.load_eval_set(jl)
    assert s.kind == "jsonl" and len(s.questions) == 32
    assert s.questions[0].id == "dev-01" and "110个" in s.questions[0].answers
    unans = [q.id for q in s.questions if not q.answerable]
    assert unans == ["dev-30", "dev-31"]
    assert all(q.gold_doc_id is None and q.context is None for q in s.questions)

    sq = ev.load_eval_set(write_squad(tmp_path / "set.json"))
    assert sq.kind == "squad" and sq.paragraphs == len(PARAGRAPHS)
    q = next(q for q in sq.questions if q.id == "Q-lake-2")
    assert q.gold_doc_id == "P-lake" and q.context.startswith("青海湖位于") and q.answers == ("3196米", "约3196米")
    assert not next(q for q in sq.questions if q.id == "Q-lake-3").answerable


def test_load_json_list_and_defaults(tmp_path):
    p = tmp_path / "list.json"
    p.write_text(json.dumps([{"question": "谁？", "answers": ["甲"]}, {"id": 7, "question": "何时？", "answers": [],
                                                                    "doc_id": "d1", "context": "某时"}],
                            ensure_ascii=False), encoding="utf-8")
    s = ev.load_eval_set(p)
    assert [q.id for q in s.questions] == ["q-1", "7"]
    assert s.questions[1].gold_doc_id == "d1" and s.questions[1].context == "某时"


GOOD_LINE = '{"id": "ok", "question": "谁？", "answers": ["甲"]}\n'


@pytest.mark.parametrize("content, message, reason", [
    ('{"id": "b", "question": "何时？", "answers": [\n', ":2: not valid JSON", "invalid JSON line"),
    ('{"id": "a", "question": "谁？", "answers": "甲"}\n', "must be a list of strings", "answers not strings"),
    ('{"id": "a", "question": "谁？", "answers": [3]}\n', "must be a list of strings", "answers not strings"),
    ('{"id": "a", "question": "谁？"}\n', '"answers" is missing', "answers missing"),
    ('{"id": "a", "question": "  ", "answers": []}\n', '"question" is empty', "empty question"),
    ('{"id": "a", "question": "\\u200b\\ufeff", "answers": []}\n', '"question" is empty', "empty question"),
    ('{"id": "a", "question": 5, "answers": []}\n', '"question" must be a string, not int', "question not text"),
    ('{"id": "a", "answers": []}\n', '"question" is missing', "question missing"),
    ('{"id": "a", "question": "' + "长" * 600 + '", "answers": []}\n', "the limit is 500", "question too long"),
    ('{"id": ["a"], "question": "谁？", "answers": []}\n', '"id" must be', "bad id"),
    ('{"id": "a", "question": "谁？", "answers": [], "context": 3}\n', '"context" must be a string',
     "paragraph without context"),
    ('["not", "an", "object"]\n', "expected a JSON object", "not a JSON object"),
    ('{"id": "a", "question": "谁？", "answers": []}\n{"id": "a", "question": "何时？", "answers": []}\n',
     "occurs more than once", "duplicate id"),
    ('{"id": "a", "question": "谁？", "answers": ["  "]}\n', "every answer is blank", "empty answer"),
    ('{"id": "a", "question": "谁\\ud800？", "answers": []}\n', "unpaired UTF-16 surrogate", "invalid text"),
    ('{"id": "a\\udc00", "question": "谁？", "answers": []}\n', "unpaired UTF-16 surrogate", "invalid text"),
    ('{"id": "a", "question": "谁？", "answers": ["甲\\ud800"]}\n', "unpaired UTF-16 surrogate", "invalid text"),
    ('{"id": true, "question": "谁？", "answers": []}\n', '"id" must be a string or a number', "bad id"),
    ('{"id": "a", "question": "谁？", "answers": [], "context": "' + "长" * 200_001 + '"}\n',
     "the limit is 200,000", "context too long"),
])
def test_bad_rows_are_skipped_and_counted_or_refused_when_strict(tmp_path, content, message, reason):
    p = tmp_path / "bad.jsonl"
    p.write_text(GOOD_LINE + content, encoding="utf-8")
    with pytest.raises(ev.DatasetError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ev.load_eval_set(p, strict=True, max_question_chars=500)
    s = ev.load_eval_set(p, max_question_chars=500)
    assert s.skipped == {reason: 1}, s.skipped
    assert "ok" in [q.id for q in s.questions] and s.skipped_total == 1
    assert ev.describe_skipped(s).startswith(f"1 skipped: {reason} 1 (e.g. ")


@pytest.mark.parametrize("content, message", [
    ("\n\n", "is empty"),
    ("这不是 JSON\n也不是\n", "holds no questions that can be used (2 skipped: invalid JSON line 2"),
    ('{"data": [{"title": "x"}]}', "not SQuAD-style"),
    ('{"data": []}', "no questions"),
    ('"just a string"', "got a single JSON str"),
    ('{"id": "a", "question": "", "answers": []}\n', "no questions that can be used (1 skipped: empty question 1 (e.g. a))"),
])
def test_unusable_files_are_refused(tmp_path, content, message):
    p = tmp_path / "bad.jsonl"
    p.write_text(content, encoding="utf-8")
    for strict in (False, True):
        with pytest.raises(ev.DatasetError, match=re.escape(message) if not strict or "skipped" not in message
                           else None):
            ev.load_eval_set(p, strict=strict)


def test_squad_rows_with_wrong_types_at_every_level_are_skipped(tmp_path):
    para = {"context": "青海湖位于青海省。", "qas": [
        {"id": "good", "question": "青海湖在哪？", "answers": [{"text": "青海省", "answer_start": 5}]},
        {"id": "good", "question": "重复？", "answers": []},                      # duplicate id
        {"question": "没有编号？", "answers": []},                                  # missing id
        {"id": "e", "question": "", "answers": []},                               # empty question
        {"id": "t", "question": "类型？", "answers": [{"text": 5}]},               # answer text not a string
        "not an object"]}
    data = {"data": [{"title": "湖", "paragraphs": [para, {"qas": [{"id": "nc", "question": "无段落？",
                                                                      "answers": []}]}, 7]},
                     {"title": "坏"}]}
    p = tmp_path / "squad.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s = ev.load_eval_set(p)
    assert [q.id for q in s.questions] == ["good"] and s.questions[0].gold_doc_id == "湖#0"
    assert s.skipped == {"duplicate id": 1, "missing id": 1, "empty question": 1, "answers not strings": 1,
                         "not a JSON object": 1, "paragraph without context": 1, "paragraph not an object": 1,
                         "article without paragraphs": 1}
    assert s.skipped_examples["paragraph without context"] == ["nc"]
    with pytest.raises(ev.DatasetError, match="occurs more than once"):
        ev.load_eval_set(p, strict=True)


# ---------------------------------------------------------------- bad input through the CLI: exit 2, no traceback
def test_missing_dataset_exits_2(tmp_path, no_models):
    rc, out, err = run([str(tmp_path / "nope.jsonl")])
    assert rc == 2
    assert "nope.jsonl: no such file" in err and "Traceback" not in err
    assert out == ""


def test_malformed_line_exits_2_naming_the_line(tmp_path, no_models):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "a", "question": "谁？", "answers": ["甲"]}\n{"id": "b", question: 1}\n', encoding="utf-8")
    rc, out, err = run([str(p), "--strict", "--details", str(tmp_path / "d.jsonl")])
    assert rc == 2
    assert f"{p}:2: not valid JSON" in err and "Traceback" not in err
    assert not (tmp_path / "d.jsonl").exists()


def test_bad_rows_are_skipped_and_reported_while_the_rest_is_scored(tmp_path, monkeypatch):
    """1,000 questions, two of them empty: the other 998 are answered and scored, the two reported."""
    reader = FakeReader({f"问题{i}？": ("甲", 0.9) for i in range(1000)})
    monkeypatch.setattr(ev, "make_reader", lambda *a, **k: reader)
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: pytest.fail("retrieval path taken"))
    lines = [{"id": f"Q{i}", "question": "" if i in (3, 776) else f"问题{i}？", "answers": ["甲"],
              "context": "甲乙丙丁"} for i in range(1000)]
    p = tmp_path / "set.jsonl"
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    rc, out, err = run([str(p), "--reader-only", "--json", "--no-progress", "--details", str(tmp_path / "d.jsonl")])
    assert rc == 0, err
    s = last_json(out)
    assert s["n"] == 998 and s["em"] == 100.0
    assert s["skipped"] == {"empty question": 2} and s["skipped_examples"] == {"empty question": ["Q3", "Q776"]}
    assert "2 skipped: empty question 2 (e.g. Q3, Q776)" in err and "--strict" in err and "Traceback" not in err
    assert "2 bad rows skipped: empty question 2" in out
    assert len(read_jsonl(tmp_path / "d.jsonl")) == 998
    rc, out, err = run([str(p), "--reader-only", "--strict", "--no-progress"])
    assert rc == 2 and "\"question\" is empty" in err and "line 4" not in err


@pytest.mark.parametrize("make, extra, message", [
    (lambda d: d / "folder", [], "is a directory"),
    (lambda d: (d / "latin1.jsonl", (d / "latin1.jsonl").write_bytes("é".encode("latin-1")))[0], [], "not UTF-8"),
    (lambda d: (d / "s.jsonl", (d / "s.jsonl").write_text(SEED_JSONL, encoding="utf-8"))[0], ["--reader-only"],
     "--reader-only needs gold paragraphs"),
    (lambda d: (d / "s.jsonl", (d / "s.jsonl").write_text(SEED_JSONL, encoding="utf-8"))[0],
     ["--corpus", "/nonexistent/corpus.txt"], "no such file or directory"),
    (lambda d: (d / "s.jsonl", (d / "s.jsonl").write_text(SEED_JSONL, encoding="utf-8"))[0], ["--limit", "0"],
     "--limit must be at least 1"),
    (lambda d: (d / "s.jsonl", (d / "s.jsonl").write_text(SEED_JSONL, encoding="utf-8"))[0], ["--top-k", "0"],
     "(--top-k, ZHQA_TOP_K) must be a whole number of at least 1"),
    (lambda d: (d / "s.jsonl", (d / "s.jsonl").write_text(SEED_JSONL, encoding="utf-8"))[0], ["--chunk-size", "30"],
     "--chunk-size must be"),
])
def test_bad_options_exit_2(tmp_path, no_models, make, extra, message):
    (tmp_path / "folder").mkdir()
    path = make(tmp_path)
    rc, out, err = run([str(path), *extra])
    assert rc == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("outputs, message", [
    (lambda d: ["--predictions", str(d / "s.jsonl")], "is the question set"),
    (lambda d: ["--details", str(d / "link.jsonl")], "is the question set"),   # a link to it
    (lambda d: ["--corpus", str(d / "doc.txt"), "--details", str(d / "doc.txt")], "is a corpus file"),
    (lambda d: ["--predictions", str(d / "o.json"), "--details", str(d / "o.json")], "name the same file"),
    (lambda d: ["--corpus", str(d / "docs"), "--report", str(d / "docs" / "report")], "is inside the corpus folder"),
])
def test_an_output_that_is_an_input_is_refused_before_anything_is_written(tmp_path, no_models, outputs, message):
    data = tmp_path / "s.jsonl"
    data.write_text(SEED_JSONL, encoding="utf-8")
    (tmp_path / "link.jsonl").symlink_to(data)
    (tmp_path / "doc.txt").write_text("阿里巴巴发布了报告。", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    rc, out, err = run([str(data), *outputs(tmp_path)])
    assert rc == 2 and message in err and "Traceback" not in err
    assert data.read_text(encoding="utf-8") == SEED_JSONL
    assert (tmp_path / "doc.txt").read_text(encoding="utf-8") == "阿里巴巴发布了报告。"
    assert not (tmp_path / "o.json").exists()


def test_squad_answers_missing_or_without_text_are_skipped_and_repeated_paragraph_ids_kept_apart(tmp_path):
    from index.readers.squad import load_squad

    data = {"data": [{"title": "t", "paragraphs": [
        {"id": "p", "context": "甲地在北方。", "qas": [
            {"id": "a", "question": "甲地在哪？", "answers": [{"text": "北方", "answer_start": 3}]},
            {"id": "b", "question": "乙地在哪？"},                                   # no answers at all
            {"id": "c", "question": "丙地在哪？", "answers": [{"answer_start": 0}]},   # an answer without text
            {"id": "d", "question": "丁地在哪？", "answers": [], "is_impossible": True}]},
        {"id": "p", "context": "乙地在南方。", "qas": [
            {"id": "e", "question": "乙地在哪？", "answers": [{"text": "南方", "answer_start": 3}]}]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s = ev.load_eval_set(path)
    assert [q.id for q in s.questions] == ["a", "d", "e"]
    assert s.skipped == {"answers missing": 1, "answers not strings": 1}
    assert {q.id: q.gold_doc_id for q in s.questions} == {"a": "p", "d": "p", "e": "p~2"}
    # the corpus made from the same file holds both paragraphs, under the same ids
    assert {p.id: p.context for p in load_squad(path).paragraphs} == {"p": "甲地在北方。", "p~2": "乙地在南方。"}


def test_a_set_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, no_models):
    fifo = tmp_path / "set.jsonl"
    os.mkfifo(fifo)
    rc, out, err = run([str(fifo)])   # would block for ever if read
    assert rc == 2 and "is not a regular file" in err


def test_setup_that_fails_leaves_an_earlier_details_file_and_outputs_fail_after_the_figures(tmp_path, monkeypatch):
    data = tmp_path / "s.jsonl"
    data.write_text(SEED_JSONL, encoding="utf-8")
    kept = tmp_path / "d.jsonl"
    kept.write_text('{"precious": 1}\n', encoding="utf-8")

    def no_bot(*a, **k):
        raise ValueError("the encoder cannot be loaded\nsecond line of a library's message")

    monkeypatch.setattr(ev, "make_bot", no_bot)
    rc, out, err = run([str(data), "--details", str(kept)])
    assert rc == 2 and "cannot set up the bot: the encoder cannot be loaded second line" in err
    assert err.count("\n") == 1
    assert kept.read_text(encoding="utf-8") == '{"precious": 1}\n'
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot())
    data = write_squad(tmp_path / "set.json")
    blocked = tmp_path / "rep"
    blocked.mkdir()
    (blocked / "index.html").mkdir()   # the report cannot be written: the figures are still printed
    preds = tmp_path / "p.json"
    preds.write_text('{"q1": "last run"}', encoding="utf-8")
    rc, out, err = run([str(data), "--report", str(blocked), "--predictions", str(preds), "--no-progress"])
    assert rc == 2 and "cannot write the report" in err and "F1" in out
    assert json.loads(preds.read_text(encoding="utf-8")).keys() != {"q1"}, "the predictions were written"
    assert not (tmp_path / "p.json.tmp").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full, a device that is always full")
def test_a_details_file_that_cannot_be_written_is_named_and_the_run_still_gives_its_figures(tmp_path, monkeypatch):
    """A full disk under --details used to end the run with 'error: No space left on device', naming no
    file and losing the figures. Now the run goes on, prints them, names the file once, and exits 2."""
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot())
    preds = tmp_path / "p.json"
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--details", "/dev/full", "--predictions",
                        str(preds), "--json", "--no-progress"])
    n = last_json(out)["n"]
    assert rc == 2 and "F1" in out and n > 1   # every question answered, not only the first
    assert err.strip() == "qa eval: error: cannot write the details file /dev/full: No space left on device"
    assert len(json.loads(preds.read_text(encoding="utf-8"))) == n   # the other outputs are still written


def test_a_set_of_unanswerable_questions_only_has_no_answerable_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot())
    data = tmp_path / "s.jsonl"
    data.write_text('{"id": "u1", "question": "青海湖的湖水面积是多少平方公里？", "answers": []}\n', encoding="utf-8")
    rc, out, err = run([str(data), "--json", "--no-progress"])
    assert rc == 0, err
    s = last_json(out)
    assert s["n_unanswerable"] == 1 and s["has_answer_em"] is None and s["has_answer_f1"] is None
    line = next(ln for ln in out.splitlines() if "answerable only" in ln)
    assert line.rstrip().endswith("– / –"), line


def test_a_refused_option_leaves_an_earlier_output_file_as_it_was(tmp_path, no_models):
    data = tmp_path / "s.jsonl"
    data.write_text(SEED_JSONL, encoding="utf-8")
    kept = tmp_path / "p.json"
    kept.write_text('{"q1": "last run"}', encoding="utf-8")
    (tmp_path / "taken").write_text("a file where the report folder would go", encoding="utf-8")
    rc, out, err = run([str(data), "--predictions", str(kept), "--report", str(tmp_path / "taken")])
    assert rc == 2 and "cannot create the report folder" in err
    assert kept.read_text(encoding="utf-8") == '{"q1": "last run"}'
    rc, out, err = run([str(data), "--predictions", str(tmp_path / "new.json"), "--report", str(tmp_path / "taken")])
    assert rc == 2 and not (tmp_path / "new.json").exists(), "a new file checked for writing is not left behind"


# ---------------------------------------------------------------- outputs, with a fake bot
def test_outputs_with_fake_pipeline(tmp_path, monkeypatch):
    bot = fake_bot()
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: bot)
    monkeypatch.setattr(ev, "make_reader", lambda *a, **k: pytest.fail("reader-only path taken"))
    data = write_squad(tmp_path / "set.json")
    preds, details, report = tmp_path / "out" / "p.json", tmp_path / "out" / "d.jsonl", tmp_path / "rep"
    rc, out, err = run([str(data), "--predictions", str(preds), "--details", str(details), "--report", str(report),
                        "--json", "--no-progress"])
    assert rc == 0, err
    s = last_json(out)
    n = 11
    assert s["n"] == n and s["interrupted"] is False
    # right: comet-1, lake-2, lake-3 (abstained, unanswerable), novel-1, novel-2, moon-1, tower-1, duck-1
    assert s["em"] == pytest.approx(100 * 8 / n, abs=1e-3)
    # never abstaining also gets lake-1, but answers the unanswerable lake-3
    assert s["em_best_span"] == pytest.approx(100 * 8 / n, abs=1e-3)
    # moon-2: ['1969','年'] vs ['1969','年','7','月','20','日']: p 1, r 1/3 → F1 0.5;
    # comet-2: ['1986','年'] vs ['2061','年'] share '年': p 1/2, r 1/2 → F1 0.5
    assert s["f1"] == pytest.approx(100 * (8 + 0.5 + 0.5) / n, abs=1e-3)
    assert s["no_answer_accuracy"] == 100.0 and s["n_unanswerable"] == 1
    assert s["answered"] == 9 and s["abstained"] == 2
    # gold paragraph (answerable questions only): first for 8, 3rd for the tower one, missing for the duck one
    assert s["n_retrieval"] == 10
    assert s["recall@1"] == pytest.approx(100 * 8 / 10, abs=1e-3)
    assert s["recall@5"] == pytest.approx(100 * 9 / 10, abs=1e-3)
    assert s["recall@10"] == pytest.approx(100 * 9 / 10, abs=1e-3)
    assert s["mrr@10"] == pytest.approx((8 + 1 / 3) / 10, abs=1e-4)
    assert s["latency_ms_p50"] > 0 and s["latency_ms_p95"] >= s["latency_ms_p50"] and s["questions_per_s"] > 0
    assert s["threshold"] == 0.5
    # the terminal table comes before the JSON line
    assert "F1" in out and "recall@1 / @5 / @10" in out and "no-answer accuracy" in out

    p = json.loads(preds.read_text(encoding="utf-8"))
    assert set(p) == {q for _, _, _, qas in PARAGRAPHS for q, _, _ in qas}
    assert p["Q-comet-1"] == "76年" and p["Q-lake-1"] == "" and p["Q-lake-3"] == ""
    assert all(isinstance(v, str) for v in p.values())

    rows = read_jsonl(details)
    assert [r["id"] for r in rows] == [q for _, _, _, qas in PARAGRAPHS for q, _, _ in qas]
    for r in rows:
        for key in ("id", "question", "prediction", "score", "abstained", "answers", "gold_doc_id",
                    "retrieved_doc_ids", "latency_ms", "em", "f1", "best_span"):
            assert key in r, key
    lake1 = next(r for r in rows if r["id"] == "Q-lake-1")
    assert lake1["abstained"] and lake1["prediction"] == "" and lake1["best_span"] == "青海湖" and lake1["score"] == 0.3
    tower = next(r for r in rows if r["id"] == "Q-tower-1")
    assert tower["gold_doc_id"] == "P-tower" and tower["retrieved_doc_ids"][2] == "P-tower" and tower["gold_rank"] == 3

    html = (report / "index.html").read_text(encoding="utf-8")
    for png in ("f1_by_type.png", "score_hist.png", "threshold.png", "recall_at_k.png"):
        assert is_png(report / png), png
        assert png in html
    assert "Worst misses" in html and "1969年" in html and "阿波罗11号的登月舱在什么时候着陆月球？" in html
    assert "<script" not in html


def test_no_abstain_takes_the_best_span(tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot())
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--no-abstain", "--json", "--no-progress",
                        "--predictions", str(tmp_path / "p.json")])
    assert rc == 0, err
    s = last_json(out)
    assert s["abstained"] == 0 and s["threshold"] is None and s["abstention"] is False
    p = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert p["Q-lake-1"] == "青海湖" and p["Q-lake-3"] == "3196米"
    assert s["no_answer_accuracy"] == 0.0


def test_ctrl_c_keeps_rows_done(tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot(interrupt_at=4))
    details, preds = tmp_path / "d.jsonl", tmp_path / "p.json"
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--details", str(details), "--predictions",
                        str(preds), "--json", "--no-progress", "--report", str(tmp_path / "rep")])
    assert rc == 130
    assert len(read_jsonl(details)) == 3
    assert len(json.loads(preds.read_text(encoding="utf-8"))) == 3
    assert "INTERRUPTED: 3 of 11" in out
    s = last_json(out)
    assert s["n"] == 3 and s["total"] == 11 and s["interrupted"] is True
    assert "Interrupted" in (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")


def test_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: fake_bot())
    rc, out, _ = run([str(write_squad(tmp_path / "set.json")), "--limit", "2", "--json", "--no-progress"])
    assert rc == 0 and last_json(out)["n"] == 2


class FakeReader:
    def __init__(self, table):
        self.table, self.seen = table, []

    def read(self, question, passages, top_n=5, asked=None):   # the ExtractiveReader.read signature
        self.seen.append(passages)
        hit = self.table.get(question)
        if hit is None:
            return []
        text, score = hit
        s = passages[0].find(text)
        return [Span(0, s, s + len(text), text, score, 0.01)]


def test_reader_only_details_can_list_the_readers_first_spans(tmp_path):
    from qa.config import Config

    reader = FakeReader({"《红楼梦》的作者是谁？": ("曹雪芹", 0.6)})
    eval_set = ev.load_eval_set(write_squad(tmp_path / "set.json"))
    out = io.StringIO()
    ev.evaluate(eval_set, Config(query_translation="off"), reader=reader, reader_only=True, progress=False,
                details=out, candidates=3)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    novel = next(r for r in rows if r["question"] == "《红楼梦》的作者是谁？")
    start = novel["passage"].find("曹雪芹")
    assert novel["candidates"] == [["曹雪芹", 0.6, start, start + 3]]
    assert all(r["candidates"] == [] for r in rows if r is not novel and r["best_span"] == "")
    plain = io.StringIO()
    ev.evaluate(eval_set, Config(query_translation="off"), reader=reader, reader_only=True, progress=False,
                details=plain)
    assert all("candidates" not in json.loads(line) for line in plain.getvalue().splitlines())


def test_reader_only_reads_gold_paragraph_and_applies_threshold(tmp_path, monkeypatch):
    reader = FakeReader({"哈雷彗星平均每多少年接近地球一次？": ("76年", 0.9),
                         "中国最大的内陆咸水湖是哪个湖？": ("青海湖", 0.2),
                         "《红楼梦》的作者是谁？": ("曹雪芹", 0.6)})
    monkeypatch.setattr(ev, "make_reader", lambda *a, **k: reader)
    monkeypatch.setattr(ev, "make_bot", lambda *a, **k: pytest.fail("reader-only must not build a bot/encoder"))
    data = write_squad(tmp_path / "set.json")
    rc, out, err = run([str(data), "--reader-only", "--threshold", "0.5", "--json", "--no-progress",
                        "--details", str(tmp_path / "d.jsonl"), "--report", str(tmp_path / "rep")])
    assert rc == 0, err
    contexts = {ctx for _, _, ctx, _ in PARAGRAPHS}
    assert reader.seen and all(len(p) == 1 and p[0] in contexts for p in reader.seen)
    s = last_json(out)
    assert s["mode"] == "reader-only" and "recall@5" not in s and s["threshold"] == 0.5
    assert s["em"] == pytest.approx(100 * 3 / 11, abs=1e-3)          # comet-1, novel-1, lake-3 (no span)
    assert s["em_best_span"] == pytest.approx(100 * 4 / 11, abs=1e-3)  # + lake-1 (0.2 < 0.5)
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "d.jsonl")}
    assert rows["Q-lake-1"]["abstained"] and rows["Q-lake-1"]["best_span"] == "青海湖"
    assert "retrieved_doc_ids" not in rows["Q-lake-1"]
    assert is_png(tmp_path / "rep" / "threshold.png") and not (tmp_path / "rep" / "recall_at_k.png").exists()


# ---------------------------------------------------------------- the real pipeline with tiny random models
def test_pipeline_with_tiny_models(tmp_path, tiny_qa_model, tiny_encoder_path):
    data = write_squad(tmp_path / "set.json")
    rc, out, err = run([str(data), "--encoder", str(tiny_encoder_path), "--reader", str(tiny_qa_model),
                        "--top-k", "3", "--threshold", "0", "--json", "--no-progress",
                        "--details", str(tmp_path / "d.jsonl"), "--predictions", str(tmp_path / "p.json")])
    assert rc == 0, err
    s = last_json(out)
    assert s["n"] == 11 and s["encoder"] == str(tiny_encoder_path) and s["top_k"] == 3
    assert s["n_retrieval"] == 10
    assert 0 <= s["recall@1"] <= s["recall@5"] <= s["recall@10"] <= 100 and 0 <= s["mrr@10"] <= 1
    contexts = {pid: ctx for pid, _, ctx, _ in PARAGRAPHS}
    preds = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    for r in read_jsonl(tmp_path / "d.jsonl"):
        assert preds[r["id"]] == r["prediction"]
        # six short paragraphs are six chunks: all of them are ranked, each once
        assert sorted(r["retrieved_doc_ids"]) == sorted(contexts)
        if r["answers"]:
            assert r["gold_rank"] == r["retrieved_doc_ids"].index(r["gold_doc_id"]) + 1
        assert not r["abstained"] and r["prediction"] in contexts[r["answer_doc_id"]]
        assert r["passage"] and r["prediction"] in r["passage"]


def test_saved_index_brings_its_encoder(tmp_path, tiny_qa_model, tiny_encoder_path, monkeypatch):
    from qa.bot import build_index
    from qa.config import Config

    monkeypatch.delenv("ZHQA_ENCODER", raising=False)
    data = write_squad(tmp_path / "set.json")
    store, _ = build_index([data], Config(encoder=str(tiny_encoder_path)))
    store.save(tmp_path / "idx")
    rc, out, err = run([str(data), "--index", str(tmp_path / "idx"), "--reader", str(tiny_qa_model), "--json",
                        "--no-progress", "--limit", "3"])
    assert rc == 0, err
    s = last_json(out)
    assert s["encoder"] == str(tiny_encoder_path) and s["corpus"] == f"index {tmp_path / 'idx'}"
    assert s["n"] == 3 and s["n_retrieval"] == 3


def test_reader_only_with_tiny_reader_loads_no_encoder(tmp_path, tiny_qa_model, monkeypatch):
    import index.embed
    import qa.bot

    def no_encoder(*a, **k):
        raise AssertionError("reader-only must not load the encoder")
    monkeypatch.setattr(index.embed, "get_encoder", no_encoder)
    monkeypatch.setattr(qa.bot, "get_encoder", no_encoder)
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--reader-only", "--reader", str(tiny_qa_model),
                        "--json", "--no-progress", "--details", str(tmp_path / "d.jsonl")])
    assert rc == 0, err
    s = last_json(out)
    assert s["n"] == 11 and s["mode"] == "reader-only" and "recall@1" not in s
    for r in read_jsonl(tmp_path / "d.jsonl"):
        assert r["best_span"] in r["passage"] and 0.0 <= r["score"] <= 1.0
        assert r["abstained"] == (r["score"] < r["threshold"])
        assert r["threshold"] == (s.get("threshold_english", s["threshold"]) if is_english_question(r["question"])
                                  else s["threshold"])


# ---------------------------------------------------------------- the real pipeline (shipped models)
@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("seed")
    data = d / "seed_dev.jsonl"
    data.write_text(SEED_JSONL, encoding="utf-8")
    rc, out, err = run([str(data), "--predictions", str(d / "p.json"), "--details", str(d / "d.jsonl"),
                        "--report", str(d / "rep"), "--json", "--no-progress"])
    return SimpleNamespace(dir=d, rc=rc, out=out, err=err, summary=last_json(out) if rc == 0 else None)


@pytest.mark.e2e
def test_seed_set_end_to_end(seed_run):
    assert seed_run.rc == 0, seed_run.err
    s = seed_run.summary
    assert s["n"] == 32 and s["corpus"] == "the bundled sample article"
    assert s["em"] > 50, s
    assert s["f1"] >= s["em"] and s["f1_nospace"] >= s["f1"] - 1e-9
    assert "no_answer_accuracy" in s and s["n_unanswerable"] == 2
    assert "recall@5" not in s                       # gold documents are not known for this set
    assert s["latency_ms_p50"] > 0 and s["questions_per_s"] > 0


@pytest.mark.e2e
def test_seed_set_files(seed_run):
    assert seed_run.rc == 0, seed_run.err
    preds = json.loads((seed_run.dir / "p.json").read_text(encoding="utf-8"))
    rows = read_jsonl(seed_run.dir / "d.jsonl")
    assert len(preds) == len(rows) == 32
    article = SAMPLE_ARTICLE.read_text(encoding="utf-8")
    squeeze = lambda t: "".join(t.split())  # noqa: E731  (the index normalizes OCR spacing)
    for r in rows:
        assert preds[r["id"]] == r["prediction"]
        assert r["abstained"] == (r["prediction"] == "")
        assert squeeze(r["prediction"]) in squeeze(article)      # extractive: a span of the document
        assert r["retrieved_doc_ids"] and r["latency_ms"] > 0
    for png in ("f1_by_type.png", "score_hist.png", "threshold.png"):
        assert is_png(seed_run.dir / "rep" / png)
    assert "dev-" in (seed_run.dir / "rep" / "index.html").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_reader_only_real_reader_without_encoder(tmp_path, monkeypatch):
    import index.embed
    import qa.bot

    def no_encoder(*a, **k):
        raise AssertionError("reader-only must not load the encoder")
    monkeypatch.setattr(index.embed, "get_encoder", no_encoder)
    monkeypatch.setattr(qa.bot, "get_encoder", no_encoder)
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--reader-only", "--json", "--no-progress",
                        "--details", str(tmp_path / "d.jsonl")])
    assert rc == 0, err
    s = last_json(out)
    assert s["f1_best_span"] > 60, s                # easy questions on their own paragraph
    for r in read_jsonl(tmp_path / "d.jsonl"):
        assert r["best_span"] in r["passage"]


@pytest.mark.e2e
def test_open_domain_over_a_squad_set(tmp_path):
    rc, out, err = run([str(write_squad(tmp_path / "set.json")), "--json", "--no-progress",
                        "--details", str(tmp_path / "d.jsonl")])
    assert rc == 0, err
    s = last_json(out)
    assert s["corpus"] == f"the set's own {len(PARAGRAPHS)} paragraphs"
    assert s["n_retrieval"] == 10
    assert s["recall@1"] >= 70, s                   # six unrelated topics: retrieval should not confuse them
    assert s["recall@1"] <= s["recall@5"] <= s["recall@10"]
    assert 0 < s["mrr@10"] <= 1
    rows = read_jsonl(tmp_path / "d.jsonl")
    assert all(set(r["retrieved_doc_ids"]) <= {pid for pid, _, _, _ in PARAGRAPHS} for r in rows)


def test_the_eval_sets_benchmark_refuses_sets_of_one_name_and_bad_settings(tmp_path, capsys):
    """Two sets named q.jsonl would write one --details file; a refused setting is one line."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("eval_sets", Path(__file__).parents[1] / "benchmarks" / "eval_sets.py")
    eval_sets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(eval_sets)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "q.jsonl").write_text(GOOD_LINE, encoding="utf-8")
    assert eval_sets.main([str(tmp_path / "a" / "q.jsonl"), str(tmp_path / "b" / "q.jsonl")]) == 2
    assert "two sets are named 'q'" in capsys.readouterr().err
    assert eval_sets.main([str(tmp_path / "a" / "q.jsonl"), "--top-k", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--top-k" in err and "Traceback" not in err
