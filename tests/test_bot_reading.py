"""What the bot hands the reader and makes of its spans, on tiny models: titles read as context only,
and a span read twice (in two chunks' overlap) listed once."""
import pytest

from index.normalize import normalize
from qa.bot import QABot
from qa.config import Config

REPORT = ("星河航运集团有限公司2023年度报告摘要\n星河航运集团有限公司是一家成立多年的企业。"
          + "".join(f"公司第{i}季度运输量为{i * 7}万吨，同比增长{i}%，董事长为魏东海。" for i in range(1, 13)) + "\n")


@pytest.fixture(scope="module")
def report_bot(tiny_encoder_path, tiny_qa_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("reports") / "report.txt"
    path.write_text(REPORT, encoding="utf-8")
    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model), chunk_size=60, chunk_overlap=30,
                    threshold=0.0, top_k=6, rank_decay=1.0)
    return QABot.from_corpus([path], config)


def _all(answer):
    first = [] if answer.abstained else [answer]
    return first + list(answer.alternatives)


@pytest.mark.parametrize("question", ["董事长是谁？", "第3季度运输量是多少？", "同比增长多少？", "星河航运成立多久了？"])
def test_every_candidate_lies_in_its_own_chunk_and_is_listed_once(report_bot, question):
    chunks = {c.chunk_id: c for c in report_bot.store.chunks}
    a = report_bot.ask(question)
    cands = _all(a)
    assert len(cands) >= 4
    places = [(c.doc_id, c.start, c.end) for c in cands]
    assert len(set(places)) == len(places), "a span read in two chunks is listed once"
    for c in cands:
        chunk = chunks[c.chunk_id]
        assert chunk.start <= c.start < c.end <= chunk.end, "no span comes from the title read before a chunk"
        assert "".join(normalize(REPORT[c.start:c.end]).text.split()) == "".join(c.text.split())
    assert a.abstained or a.passage[a.passage_start:a.passage_end] == a.text


def test_the_reader_reads_the_title_only_where_the_question_names_what_only_it_holds(report_bot, monkeypatch):
    seen = []
    read = report_bot.reader.read_ranked
    monkeypatch.setattr(report_bot.reader, "read_ranked",
                        lambda q, texts, *a, **kw: seen.append((texts, kw["answer_from"])) or read(q, texts, *a, **kw))
    report_bot.ask("星河航运的董事长是谁？")   # 星河 and 航运 are in the title only
    (texts, starts), = seen
    title = "星河航运集团有限公司2023年度报告摘要"
    assert any(starts) and any(not s for s in starts)   # the first chunk holds its title; later ones do not
    for text, start in zip(texts, starts):   # a chunk read without the title holds the question's title words
        assert (text[:start] == title + "\n") if start else all(w in text for w in ("星河", "航运"))
    for question, config in (("董事长是谁？", report_bot.config),   # nothing of the title's: no title read
                             ("星河航运的董事长是谁？", Config(**{**report_bot.config.__dict__, "read_titles": False}))):
        seen.clear()
        QABot(report_bot.store, config, reader=report_bot.reader).ask(question)
        (texts, starts), = seen
        assert not any(starts) and texts == [p.text for p in report_bot.ask(question).passages]


def test_a_span_in_two_chunks_overlap_is_one_candidate(report_bot, monkeypatch):
    """The reader offers each chunk's first and last 「魏东海」: a sentence in the overlap of two chunks
    is the last of one and the first of the next, the same place in the document."""
    from qa.bot import CANDIDATES_LISTED
    from qa.reader.answer_type import TypeCheck
    from qa.reader.extractive import Span

    def fake_read(question, texts, *args, answer_from, **kw):
        spans = []
        for p, (text, start) in enumerate(zip(texts, answer_from)):
            for at in {text.find("魏东海", start), text.rfind("魏东海")} - {-1}:
                spans.append(Span(p, at, at + 3, "魏东海", 0.9 - 0.01 * len(spans), 0.0))
        return TypeCheck(None, spans)

    monkeypatch.setattr(report_bot.reader, "read_ranked", fake_read)
    a = report_bot.ask("董事长是谁？", top_k=len(report_bot.store.chunks))
    places = [(c.doc_id, c.start, c.end) for c in _all(a)]
    assert all(REPORT[s:e] == "魏东海" for _, s, e in places)
    assert len(places) == len(set(places)) == min(REPORT.count("魏东海"), CANDIDATES_LISTED)
    assert a.score == pytest.approx(0.9)


def test_question_terms_are_chinese_topic_words():
    from qa.reading_context import question_terms

    assert question_terms("蓝鲸航运的董事长是谁？") == ["蓝鲸", "航运", "董事", "董事长"]
    assert question_terms("如何申请报销？") == ["申请", "报销"]   # 如何 asks; a title 「如何…」 is no topic of it
    assert question_terms("How many users does DingTalk have?") == []


def test_the_question_is_read_in_the_script_of_the_first_passage():
    from qa.reading_context import question_in_script

    traditional, simplified = "臺灣宏碩電子股份有限公司去年合併營收為新臺幣一千億元。", "宏硕电子去年的合并营收为一千亿元。"
    assert question_in_script("宏硕电子的合并营收是多少？", traditional) == "宏碩電子的合併營收是多少？"
    assert question_in_script("宏碩電子的合併營收是多少？", simplified) == "宏硕电子的合并营收是多少？"
    for question, passage in (("宏硕电子的合并营收是多少？", simplified), ("宏碩電子的合併營收是多少？", traditional)):
        assert question_in_script(question, passage) == question
    # an English question's Chinese words follow the passage too; a short question with one traditional
    # character is in traditional script, a long passage with two is not
    assert question_in_script("Who is the chairman? 董事长", traditional) == "Who is the chairman? 董事長"
    assert question_in_script("Who is the chairman? 董事長", simplified) == "Who is the chairman? 董事长"
    assert question_in_script("营收多少？", "宏硕电子去年的营收为一千亿元，較前一年成長。") == "营收多少？"
    assert question_in_script("誰是董事長？", simplified) == "谁是董事长？"
    # the passage's own characters first: a Taiwan passage writes 台北 and 這裡 (s2t: 臺北, 這裏)
    taipei = "宏碩電子總部位於台北市內湖區，這裡也是研發中心所在地。"
    assert question_in_script("公司总部在台北哪里？", taipei) == "公司總部在台北哪裡？"


def test_spans_read_twice_leave_the_full_list_of_candidates(report_bot, monkeypatch):
    """The reader's best spans include the same 「魏东海」 read in two chunks' overlap; merging them must
    not shorten the list: the bot asks the reader for more than it lists."""
    from qa.bot import CANDIDATES_LISTED
    from qa.reader.answer_type import TypeCheck
    from qa.reader.extractive import Span

    asked_for = []

    def fake_read(question, texts, *args, top_n, answer_from, **kw):
        asked_for.append(top_n)
        spans = []
        for p, (text, start) in enumerate(zip(texts, answer_from)):
            for at in sorted({text.find("魏东海", start), text.rfind("魏东海")} - {-1}):
                spans.append(Span(p, at, at + 3, "魏东海", 0.9 - 0.001 * len(spans), 0.0))
        return TypeCheck(None, spans[:top_n])

    monkeypatch.setattr(report_bot.reader, "read_ranked", fake_read)
    a = report_bot.ask("董事长是谁？", top_k=len(report_bot.store.chunks))
    places = [(c.start, c.end) for c in _all(a)]
    assert REPORT.count("魏东海") >= CANDIDATES_LISTED and asked_for[0] > CANDIDATES_LISTED
    assert len(places) == len(set(places)) == CANDIDATES_LISTED


def test_an_answer_running_over_a_page_break_names_both_pages(tiny_encoder_path, tiny_qa_model, tmp_path, monkeypatch):
    from index.documents import Document, Region
    from qa.reader.answer_type import TypeCheck
    from qa.reader.extractive import Span

    first, second = "报告期内，集装箱吞吐量为1,0", "48.6万标准箱，同比增长7.9%。"
    text = first + "\n\n" + second
    doc = Document("r", "港口报告", text, str(tmp_path / "report.pdf"),
                   (Region(0, len(first), 1, None), Region(len(first) + 2, len(text), 2, None)))
    from index.embed import get_encoder
    from index.store import IndexStore

    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model), threshold=0.0, top_k=1)
    bot = QABot(IndexStore(config.encoder, get_encoder(config.encoder).info.dimension), config)
    bot.add_documents([doc])

    def fake_read(question, texts, *args, answer_from, **kw):
        at = texts[0].index("1,048.6")
        return TypeCheck(None, [Span(0, at, at + len("1,048.6万标准箱"), "1,048.6万标准箱", 0.9, 0.0)])

    monkeypatch.setattr(bot.reader, "read_ranked", fake_read)
    a = bot.ask("集装箱吞吐量是多少？")
    assert a.text == "1,048.6万标准箱" and (a.page, a.last_page) == (1, 2)
    fake = lambda question, texts, *args, answer_from, **kw: TypeCheck(None, [Span(0, 0, 4, texts[0][:4], 0.9, 0.0)])
    monkeypatch.setattr(bot.reader, "read_ranked", fake)
    a = bot.ask("集装箱吞吐量是多少？")
    assert (a.page, a.last_page) == (1, None)
