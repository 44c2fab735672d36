"""The UI's callbacks, called directly (no server) over the real pipeline on the bundled article."""
from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:::gradio")]

QUESTION = "2023财年阿里活跃的公益幸福团有多少个？"
FACT = "星河公司是一家虚构的航天材料企业。星河公司的创始人是李明远。公司成立于2016年，总部设在青岛。"


@pytest.fixture(scope="module")
def bot():
    from qa.config import Config
    from ui import build_bot

    return build_bot(config=Config.from_env())


@pytest.fixture()
def ui(bot):
    from ui.app import ChatUI

    return ChatUI(bot)


def _n_sources(sources_html: str) -> int:
    return len(re.findall(r'class="zhqa-source[ "]', sources_html))


def _plain(markdown: str) -> str:
    """Markdown text without its backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _state(bot):
    return len(bot.store.documents), len(bot.store.chunks)


# ---------------------------------------------------------------------------- chat
def test_answer_shows_bold_span_confidence_highlighted_passage_and_sources(ui, bot, monkeypatch):
    from ui.app import md_escape

    monkeypatch.setattr(bot, "threshold", float("-inf"))  # never abstain: check the answer layout
    answer = bot.ask(QUESTION, top_k=4, mode="hybrid")
    assert not answer.abstained
    history, sources, box = ui.respond(QUESTION, [], 4, "hybrid")
    assert box == ""  # the question box is cleared
    assert history[0] == {"role": "user", "content": QUESTION}
    msg = history[1]["content"]
    assert history[1]["role"] == "assistant"
    assert msg.startswith(f"**{md_escape(answer.text)}**")
    assert f"{answer.score:.2f}" in msg
    assert md_escape(answer.doc_id) in msg and md_escape(answer.title) in msg
    span = answer.passage[answer.passage_start:answer.passage_end]
    assert f"<mark>{html.escape(span)}</mark>" in msg.replace("<br>", "\n")
    assert _n_sources(sources) == 4
    assert "zhqa-hit" in sources  # the passage holding the answer is marked in the sources panel
    assert "得分" in sources and "hybrid" in sources


def test_previous_turns_stay_visible(ui):
    history, _, _ = ui.respond(QUESTION, [], 3, "hybrid")
    history, _, _ = ui.respond("钉钉用户超过多少？", history, 3, "hybrid")
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[0]["content"] == QUESTION and history[2]["content"] == "钉钉用户超过多少？"


def test_history_in_gradio_normalised_form_is_kept(ui):
    # Gradio hands the Chatbot value back with content as a list of parts
    prior = [{"role": "user", "content": [{"type": "text", "text": "你好"}], "metadata": None, "options": None},
             {"role": "assistant", "content": [{"type": "text", "text": "**x**"}], "metadata": None, "options": None}]
    history, _, _ = ui.respond(QUESTION, prior, 3, "hybrid")
    assert history[:2] == prior and len(history) == 4


def test_abstain_says_no_answer_and_shows_closest_passages(ui, bot, monkeypatch):
    from qa.answer import NO_ANSWER_ZH

    monkeypatch.setattr(bot, "threshold", 1e9)
    history, sources, _ = ui.respond("钉钉用户超过多少？", [], 5, "hybrid")
    msg = history[-1]["content"]
    assert NO_ANSWER_ZH in msg and "最接近的段落" in msg
    answer = bot.ask("钉钉用户超过多少？", top_k=5)
    first = html.escape(" ".join(answer.passages[0].text.split())[:40])
    assert first in msg
    assert _n_sources(sources) == 5 and "zhqa-hit" not in sources
    assert "问题问的是" not in msg, "钉钉用户超过多少 names no measure"


def test_abstain_names_the_measure_the_question_asked_for(ui, bot, monkeypatch):
    # reader v2 answers this question with another sum (1300亿元, see tests/test_e2e.py's xfails), so the
    # abstention is forced here; the better-scored count spans it set aside must still be named
    monkeypatch.setattr(bot, "threshold", 1e9)
    history, _, _ = ui.respond("阿里巴巴2023财年的营业收入是多少？", [], 5, "hybrid")
    msg = history[-1]["content"]
    assert "问题问的是金额" in msg and "超110个" not in msg.split("最接近的段落")[0]


def test_mode_and_top_k_reach_the_retriever(ui):
    _, sources, _ = ui.respond(QUESTION, [], 2, "bm25")
    assert _n_sources(sources) == 2
    assert "bm25 #1" in sources and "dense #" not in sources
    _, sources, _ = ui.respond(QUESTION, [], 3, "dense")
    assert _n_sources(sources) == 3 and "bm25 #" not in sources


@pytest.mark.parametrize("question, expected", [("", "the question is empty"), ("   \n", "the question is empty"),
                                                ("\u200b \ufeff\u2060", "the question is empty"),   # shows nothing
                                                ("长" * 5000, "the limit is")])
def test_bad_questions_show_the_message_not_a_traceback(ui, question, expected):
    history, sources, box = ui.respond(question, [], 5, "hybrid")
    msg = history[-1]["content"]
    assert history[-1]["role"] == "assistant"
    assert expected in msg and "Traceback" not in msg and "⚠️" in msg
    assert box == question  # kept, so the user can fix it
    assert "zhqa-source\"" not in sources


def test_an_over_long_question_is_not_kept_whole_in_the_chat(ui):
    """The chat history goes back to the server with every turn: a megabyte pasted by mistake stayed in it.
    The refused question now shows as its start and length; the text box keeps it whole, to be cut down."""
    question = "问" * 1_000_000
    history, _, box = ui.respond(question, [{"role": "user", "content": "早先的问题"}], 5, "hybrid")
    assert history[1] == {"role": "user", "content": "问" * 50 + "…（共 1,000,000 字 · 1,000,000 characters）"}
    assert history[2]["role"] == "assistant" and "1000000 characters long" in history[2]["content"]
    assert len(history) == 3 and sum(len(turn["content"]) for turn in history) < 300
    assert box == question


def test_concurrent_questions(ui, bot):
    questions = [QUESTION, "钉钉用户超过多少？", "阿里巴巴带动平台生态减碳达到多少？", "腾讯公司2023年的碳排放是多少？"]
    alone = {q: bot.ask(q, top_k=3) for q in questions}
    with ThreadPoolExecutor(8) as pool:        # asks run at once (read lock): the same answers as one by one
        results = list(pool.map(lambda q: ui.respond(q, [], 3, "hybrid"), questions * 2))
        answers = list(pool.map(lambda q: bot.ask(q, top_k=3), questions * 2))
    for q, (history, sources, _) in zip(questions * 2, results):
        assert history[0]["content"] == q and history[1]["role"] == "assistant"
        assert _n_sources(sources) == 3
    for q, a in zip(questions * 2, answers):
        assert (a.text, a.abstained) == (alone[q].text, alone[q].abstained)
        assert a.score == pytest.approx(alone[q].score, abs=1e-4)


def test_a_document_added_while_others_ask_is_there_afterwards(bot):
    from index.documents import Document

    before = _state(bot)
    doc = Document("concurrent-fact", "星河公司", FACT, "test")
    try:
        with ThreadPoolExecutor(4) as pool:
            asks = [pool.submit(bot.ask, QUESTION, 3) for _ in range(3)]
            add = pool.submit(bot.add_documents, [doc])
            asks += [pool.submit(bot.ask, QUESTION, 3) for _ in range(3)]
            add.result(timeout=120)
            assert all(not f.result(timeout=120).text or "110" in f.result().text for f in asks)
        assert "concurrent-fact" in bot.store.documents
        assert "李明远" in bot.ask("星河公司的创始人是谁？", top_k=3, threshold=0.0).text
    finally:
        bot.remove_documents(["concurrent-fact"])
    assert _state(bot) == before


def test_api_ask_returns_the_answer_dict_and_reports_errors(ui):
    import gradio as gr

    d = ui.api_ask(QUESTION, 2, "hybrid")
    assert d["question"] == QUESTION and isinstance(d["abstained"], bool) and len(d["passages"]) == 2
    assert len(ui.api_ask(QUESTION)["passages"]) == ui.bot.config.top_k == 3   # unnamed: the bot's default
    with pytest.raises(gr.Error, match="empty"):
        ui.api_ask("  ", 3, "hybrid")
    with pytest.raises(gr.Error, match="mode"):
        ui.api_ask(QUESTION, 3, "fuzzy")
    for bad in (0, -1, 1000, float("inf"), "3", 2.5):   # refused, as a bad mode is, not quietly changed
        with pytest.raises(gr.Error, match="top_k must be a whole number from 1 to"):
            ui.api_ask(QUESTION, bad)
    assert len(ui.api_ask(QUESTION, 2.0)["passages"]) == 2   # a whole number sent as JSON's 2.0


def test_bad_input_that_used_to_escape_the_chat_callbacks(ui, bot):
    """A lone surrogate is echoed as U+FFFD (Gradio's transport cannot carry it, and the warning was
    lost with it); an infinite top-k, a non-text question, an odd history and a non-text id to remove
    each get their message."""
    history, _, box = ui.respond("\ud800星河", [], 3, "hybrid")
    assert history[0]["content"] == "\ufffd星河" and box == "\ufffd星河"
    assert "invalid text" in history[-1]["content"] and "surrogate" in history[-1]["content"]
    history, _, _ = ui.respond(QUESTION, [], float("inf"), "hybrid")
    assert not history[-1]["content"].startswith("⚠️")
    history, _, _ = ui.respond(None, 5, 3, "hybrid")
    assert history == [{"role": "assistant", "content": "⚠️ 无法提问：the question must be text"}]
    before = len(bot.document_infos())
    status, *_ = ui.remove(["not", "an", "id"])
    assert status.startswith("✗ 索引中没有文档") and len(bot.document_infos()) == before


def test_api_ask_without_a_mode_retrieves_as_the_bot_is_configured(ui, monkeypatch):
    from dataclasses import replace

    assert any(p["dense_rank"] is not None for p in ui.api_ask(QUESTION)["passages"])   # hybrid
    monkeypatch.setattr(ui.bot, "config", replace(ui.bot.config, mode="bm25"))
    passages = ui.api_ask(QUESTION)["passages"]
    assert passages and all(p["dense_rank"] is None and p["bm25_rank"] is not None for p in passages)


def test_app_builds_with_an_ask_endpoint(bot):
    from ui.app import build_app

    demo = build_app(bot)
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"ask", "chat", "add_documents", "remove_document"} <= names


# ---------------------------------------------------------------------------- documents
def test_documents_table_lists_the_bundled_article(ui, bot):
    rows = ui.documents_table()
    assert len(rows) == len(bot.store.documents) >= 1
    doc_id, title, chunks = next(r for r in rows if r[0].startswith("alibaba_esg_2023"))
    assert title == bot.store.documents[doc_id].document.title
    assert chunks == sum(1 for c in bot.store.chunks if c.doc_id == doc_id) > 0


def test_upload_ask_and_remove(ui, bot, tmp_path):
    before = _state(bot)
    f = tmp_path / "xinghe.txt"
    f.write_text(FACT + "\n<script>alert(1)</script>\n", encoding="utf-8")
    status, rows, dropdown, summary = ui.add_files([str(f)])
    assert "已添加 1 篇文档" in status
    new = [r for r in rows if r[0].startswith("xinghe-")]
    assert len(new) == 1 and new[0][2] >= 1
    doc_id = new[0][0]
    assert len(bot.store.documents) == before[0] + 1
    assert bot.store.documents[doc_id].document.source == "upload:xinghe.txt"  # no server temp path
    assert doc_id in [v for _, v in dropdown["choices"]]
    assert f"**{before[0] + 1}**" in summary

    # the same file again changes nothing
    status, *_ = ui.add_files([str(f)])
    assert "未改变" in status and len(bot.store.documents) == before[0] + 1

    # the new document is retrievable, and its HTML is shown escaped
    history, sources, _ = ui.respond("星河公司的创始人是谁？", [], 3, "bm25")
    assert doc_id in sources and "李明远" in sources
    assert "<script>" not in sources and "<script>" not in history[-1]["content"]

    status, rows, dropdown, summary = ui.remove(doc_id)
    assert "已删除" in status and doc_id not in [r[0] for r in rows]
    assert _state(bot) == before
    status, *_ = ui.remove(doc_id)
    assert "没有文档" in status
    status, *_ = ui.remove(None)
    assert "请先选择" in status


def test_an_edited_file_uploaded_again_replaces_its_earlier_version(ui, bot, tmp_path):
    before = _state(bot)
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir(), second.mkdir()
    (first / "xinghe.txt").write_text(FACT, encoding="utf-8")
    (second / "xinghe.txt").write_text(FACT.replace("李明远", "周若溪"), encoding="utf-8")
    (first / "other.txt").write_text("# 青岛星河\n星河公司的总部设在青岛。\n", encoding="utf-8")
    status, rows, _, _ = ui.add_files([str(first / "xinghe.txt"), str(first / "other.txt")])
    assert "已添加 2 篇文档" in status
    old_id = next(r[0] for r in rows if r[0].startswith("xinghe-"))

    status, rows, _, _ = ui.add_files([str(second / "xinghe.txt")])
    assert "已更新 1 篇文档" in status and "旧版本 1 篇已删除" in status and "已添加" not in status
    ids = [r[0] for r in rows if r[0].startswith("xinghe-")]
    assert len(ids) == 1 and ids[0] != old_id          # one version, the new one
    # two files of one name in one upload: the second would replace the first, so it is refused
    status, rows, _, _ = ui.add_files([str(first / "xinghe.txt"), str(second / "xinghe.txt")])
    assert "同名文件" in status and "已更新 1 篇文档" in status
    assert [r[0] for r in rows if r[0].startswith("xinghe-")] == [old_id]
    ids = [old_id]
    assert any(r[0].startswith("other-") for r in rows)  # another upload's document is kept
    assert len(bot.store.documents) == before[0] + 2
    _, sources, _ = ui.respond("星河公司的创始人是谁？", [], 3, "bm25")
    assert "李明远" in sources and "周若溪" not in sources
    for doc_id in ids + [r[0] for r in rows if r[0].startswith("other-")]:
        ui.remove(doc_id)
    assert _state(bot) == before


def test_a_scan_with_the_longest_name_an_upload_keeps_is_kept(tmp_path, monkeypatch):
    from ui.app import keep_upload, safe_filename

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    name = safe_filename("报" * 200 + ".pdf")   # 80 characters, 232 bytes in UTF-8: near the 255-byte limit
    scan = tmp_path / name
    scan.write_bytes(b"%PDF-1.4 scan")
    kept = keep_upload(scan)
    assert kept.name == name and kept.read_bytes() == b"%PDF-1.4 scan"
    assert [p.name for p in kept.parent.iterdir()] == [name], "no temporary copy left beside it"


def test_upload_identity_names_an_upload_by_its_file_name(tmp_path, monkeypatch):
    from index.cache import cache_dir
    from ui.app import upload_identity

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path))
    kept = cache_dir() / "uploads" / "0123456789abcdef" / "scan.png"
    assert upload_identity(str(kept)) == "upload:scan.png" == upload_identity("upload:scan.png")
    assert upload_identity("/data/scan.png") == "/data/scan.png"   # a path indexed from the command line
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "moved"))   # known by its shape wherever the cache is now
    assert upload_identity(str(kept)) == "upload:scan.png"


@pytest.mark.parametrize("name, data, reason", [
    ("binary.txt", bytes(range(256)) * 40, "binary"),
    ("bad-encoding.md", b"\x81\xff\xfd" * 10 + b"\xff" * 50, "binary file or unsupported"),
    ("empty.txt", b"   \n", "empty"),
    ("not-squad.json", b'{"hello": "world"}', "SQuAD"),
    ("report.pdf", b"%PDF-1.4 ...", "not a readable PDF"),
    ("scan.png", b"", "file is empty"),
    ("slides.key", b"keynote", "不支持的文件类型"),
])
def test_bad_upload_gives_a_message_and_leaves_the_index_unchanged(ui, bot, tmp_path, name, data, reason):
    before = _state(bot)
    f = tmp_path / name
    f.write_bytes(data)
    status, rows, _, _ = ui.add_files([str(f)])
    assert reason in _plain(status)
    assert "索引未改变" in status
    assert _state(bot) == before and len(rows) == before[0]


def test_oversized_upload_is_refused(bot, tmp_path):
    from ui.app import ChatUI

    small = ChatUI(bot, max_upload_bytes=1000)
    before = _state(bot)
    f = tmp_path / "big.txt"
    f.write_text(FACT * 100, encoding="utf-8")
    status, *_ = small.add_files([str(f)])
    assert "上限" in status and "索引未改变" in status
    assert _state(bot) == before


def test_mixed_upload_adds_the_good_file_and_reports_the_bad_one(ui, bot, tmp_path):
    before = _state(bot)
    good, bad = tmp_path / "good.md", tmp_path / "bad.txt"
    good.write_text("# 青岛星河\n星河公司的总部设在青岛。\n", encoding="utf-8")
    bad.write_bytes(bytes(range(256)) * 10)
    status, rows, _, _ = ui.add_files([str(bad), str(good)])
    assert "已添加 1 篇文档" in status and "bad.txt" in _plain(status)
    added = [r[0] for r in rows if r[0].startswith("good-")]
    assert len(added) == 1 and len(bot.store.documents) == before[0] + 1
    ui.remove(added[0])
    assert _state(bot) == before


def test_a_pdf_the_cache_cannot_keep_is_indexed_without_its_scan(tmp_path, monkeypatch, tiny_encoder_path,
                                                                 tiny_qa_model):
    """The kept copy of a PDF or scan goes in the cache folder; when that cannot be written, the upload
    used to fail with Gradio's bare error. Now the document is indexed (its answers without the scan's
    crop) and the status line says why; once the cache can be written again, an upload keeps the scan."""
    from reportlab.pdfgen import canvas

    from qa.bot import QABot
    from qa.config import Config
    from ui.app import ChatUI

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "uploads").write_text("a file where the uploads folder goes", encoding="utf-8")   # root-proof
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(cache))
    fact = tmp_path / "fact.txt"
    fact.write_text(FACT, encoding="utf-8")
    tiny = ChatUI(QABot.from_corpus([fact], Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model))))
    pdf = tmp_path / "report.pdf"
    c = canvas.Canvas(str(pdf))
    c.drawString(40, 800, "Xinghe Corp was founded in 2016 in Qingdao.")
    c.save()

    status, rows, _, _ = tiny.add_files([str(pdf)])
    assert "已添加 1 篇文档" in status
    assert "report.pdf：原件未能保存到缓存文件夹（Not a directory）" in _plain(status)
    [doc_id] = [r[0] for r in rows if r[0].startswith("report-")]
    assert tiny.bot.store.documents[doc_id].document.source == "upload:report.pdf"

    (cache / "uploads").unlink()
    status, *_ = tiny.add_files([str(pdf)])
    [kept] = (cache / "uploads").glob("*/report.pdf")
    assert "原件未能保存" not in status and kept.read_bytes() == pdf.read_bytes()
    assert not list((cache / "uploads").glob("*/.*.part"))   # copied aside, then renamed into place


def test_unsafe_file_names_are_neutralised(ui, bot, tmp_path):
    from ui.app import safe_filename

    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\evil.txt") == "evil.txt"
    assert safe_filename(".bashrc") == "bashrc"
    assert safe_filename("报告 (最终版).txt") == "报告_最终版.txt"
    assert safe_filename("a\x00b\n.txt") == "ab.txt"
    assert safe_filename("...") == "upload"
    assert len(safe_filename("长" * 300 + ".txt")) <= 80 and safe_filename("长" * 300 + ".txt").endswith(".txt")

    before = _state(bot)
    f = tmp_path / "<img src=x onerror=alert(1)>;rm -rf ~.txt"
    f.write_text(FACT, encoding="utf-8")
    status, rows, _, _ = ui.add_files([str(f)])
    assert "已添加 1 篇文档" in status and "<img" not in status
    doc_id = next(d for d in bot.store.documents if bot.store.documents[d].document.source.startswith("upload:img"))
    assert re.fullmatch(r"[\w\-.]+", doc_id), doc_id
    assert bot.store.documents[doc_id].document.source == "upload:img_src_x_onerror_alert_1_rm_-rf.txt"
    assert doc_id in [r[0] for r in rows]
    ui.remove(doc_id)
    assert _state(bot) == before


def test_no_files_selected(ui):
    status, *_ = ui.add_files(None)
    assert "请先选择" in status
    status, *_ = ui.add_files([])
    assert "请先选择" in status


# ---------------------------------------------------------------------------- command line
def test_qa_ui_subcommand(tmp_path, capsys):
    from ui import DEFAULT_HOST
    from ui.cli import build_ui_parser, main

    args = build_ui_parser().parse_args(["ui"])
    assert args.host == DEFAULT_HOST == "127.0.0.1" and args.port == 7860 and args.share is False
    args = build_ui_parser().parse_args(["ui", "--corpus", "a.txt", "b.md", "--port", "8000"])
    assert args.corpus == ["a.txt", "b.md"] and args.port == 8000
    with pytest.raises(SystemExit):
        build_ui_parser().parse_args(["ui", "--index", "x", "--corpus", "y"])  # one source at most
    assert main(["ui", "--index", str(tmp_path / "missing")]) == 2
    assert "no index at" in capsys.readouterr().err
    assert main(["ui", "--corpus", str(tmp_path / "nothing.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 10)
    assert main(["ui", "--corpus", str(tmp_path / "blob.txt")]) == 2
    assert "could be indexed" in capsys.readouterr().err
    for argv, message in ((["ui", "--port", "0"], "between 1 and 65535"), (["ui", "--index", ""], "--index is empty"),
                          (["ui", "--encoder", " "], "--encoder is empty")):
        assert main(argv) == 2, "refused before any model loads"
        assert message in capsys.readouterr().err
    assert main(["ask", ""]) == 2  # other commands still go to qa.cli
