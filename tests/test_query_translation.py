"""Dictionary query translation for English questions over Chinese documents (qa/query_translation.py)."""
import pytest

from index.documents import Document
from index.store import IndexStore
from qa.query_translation import QueryTranslator
from qa.retrieve import Retriever

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem"),
]


@pytest.fixture(scope="module")
def translator():
    return QueryTranslator.from_cedict()


def test_words_phrases_inflections_and_acronyms(translator):
    t = translator.translate("How many users does DingTalk have?")
    assert {"用户", "钉钉"} <= set(t.terms)
    assert translator.translate("What's DingTalk's user count?").terms[0] == "钉钉", "clitics are no obstacle"
    assert (t.content_words, t.translated_words, t.coverage) == (2, 2, 1.0)
    assert "首席执行官" in translator.translate("Who is the CEO?").terms
    # the longest phrase wins over its words
    assert translator.translate("the chief executive officer").terms == ("首席执行官",)
    # questions made of stopwords only, or of words the dictionary lacks, translate to nothing
    none = translator.translate("What is it and how many are there?")
    assert none.terms == () and none.coverage == 0.0 and none.query("q") == "q"
    assert translator.translate("Zorblax quuxes?").coverage == 0.0


def test_the_head_of_an_x_of_y_gloss_reaches_its_word_after_the_exact_ones(translator):
    """董事长's only gloss, "chairman of the board of directors", is too long to be a key."""
    from qa.query_translation import _reverse_table

    assert translator.translate("Who is the chairman of the company?", lambda ts: [t == "董事长" for t in ts]).terms \
        == ("董事长",)
    entries = [{"simplified": "董事长", "pinyin": "dong3 shi4 zhang3", "definitions": ["chairman of the board of directors"]},
               {"simplified": "主席", "pinyin": "zhu3 xi2", "definitions": ["chairperson", "chairman"]}]
    entries += [{"simplified": word, "pinyin": "x", "definitions": [f"kind of {word}"]}
                for word in ("茶叶", "乌龙", "绿茶", "红茶", "白茶", "黑茶")]
    table = _reverse_table(entries)
    assert table["chairman"] == ("主席", "董事长")
    assert "kind" not in table, "a head six words share says nothing of a topic"


def test_only_words_the_documents_hold_are_kept(translator):
    asked = []

    def known(terms):
        asked.append(list(terms))
        return [t == "用户" for t in terms]

    t = translator.translate("How many users does DingTalk have?", known)
    assert t.terms == ("用户",) and t.translated_words == 1 and t.coverage == 0.5
    assert len(asked) == 1, "the vocabulary is asked once for all candidates"
    assert t.query("How many users?") == "How many users? 用户"


def test_hand_made_table_longest_phrase_and_limit():
    tr = QueryTranslator({"fiscal year": ("财年",), "year": ("年度",), "user": ("用户", "用家", "使用者", "客户")})
    t = tr.translate("users in the fiscal year")
    assert t.terms == ("用户", "用家", "使用者", "财年"), "three per word; 'fiscal year' as one phrase"
    assert (t.content_words, t.translated_words) == (3, 3)


def test_english_question_finds_the_chinese_passage_through_bm25(tiny_encoder):
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    store.add_documents(DOCS, tiny_encoder)
    question = "How many users does DingTalk have?"
    assert Retriever(store, tiny_encoder, mode="bm25", translate="off").retrieve(question) == []
    hits = Retriever(store, tiny_encoder, mode="bm25", translate="bm25").retrieve(question, top_k=1)
    assert hits[0].chunk.doc_id == "d3"
    # hybrid: BM25 keeps its full weight (both content words translated, though the question's own
    # tokens are not in the store) and is searched with the Chinese words
    from qa.retrieve import _normalized

    assert store.bm25_coverage(question) == 0.0
    query = question + " 用户 钉钉"
    dense = store.dense_search(tiny_encoder.encode_queries([question])[0], 100)
    d, b = _normalized(dense, "zscore"), _normalized(store.bm25_search(query, 100), "zscore")
    hybrid = Retriever(store, tiny_encoder, dense_weight=0.45, translate="bm25").retrieve(question, top_k=3)
    assert hybrid[0].chunk.doc_id == "d3" and hybrid[0].bm25_rank == 1
    for h in hybrid:
        row = store.chunks.index(h.chunk)
        assert h.score == pytest.approx(0.45 * d.get(row, 0.0) + 0.55 * b.get(row, 0.0))
    # Chinese questions are not translated
    r = Retriever(store, tiny_encoder)
    assert r.translation("钉钉用户有多少？") is None and r.translation(question).terms
    with pytest.raises(ValueError):
        Retriever(store, tiny_encoder, translate="google")


def test_table_cache_survives_damage(tmp_path, monkeypatch):
    import json

    import qa.query_translation as qt

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path))
    table = qt._cached_table()                      # made from the dictionary and written
    (path,) = tmp_path.glob("query_translation-*.json")
    assert json.loads(path.read_text(encoding="utf-8"))["dingtalk"] == ["钉钉"]
    path.write_text('{"dingtalk": ', encoding="utf-8")   # a torn write
    assert qt._cached_table() == table              # rebuilt, not an error
    path.write_text('["not", "a", "table"]', encoding="utf-8")
    assert qt._cached_table()["dingtalk"] == ("钉钉",)
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left behind"


def test_config_option_and_environment(monkeypatch):
    from qa.config import Config

    assert Config().query_translation == "bm25"
    monkeypatch.setenv("ZHQA_QUERY_TRANSLATION", "off")
    assert Config.from_env().query_translation == "off"
    with pytest.raises(ValueError, match="query translation"):
        Config(query_translation="deepl")


def test_the_reader_is_asked_with_the_chinese_words_its_passages_hold():
    from qa.query_translation import question_for_passages

    passages = ["截至2023年3月31日，钉钉用户超6亿。", "阿里巴巴带动平台生态减碳。"]
    assert question_for_passages("How many users does DingTalk have?", passages) == \
        "How many users does DingTalk have? 用户 钉钉"
    assert question_for_passages("How many users does DingTalk have?", ["杭州西湖。"]) == \
        "How many users does DingTalk have?", "no word of the passages: the question as it is"
    assert question_for_passages("钉钉用户有多少？", passages) == "钉钉用户有多少？", "Chinese questions are not touched"


def test_bm25_share_of_a_translated_question_is_halved(tiny_encoder):
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    store.add_documents(DOCS, tiny_encoder)
    seen = []
    retriever = Retriever(store, tiny_encoder, dense_weight=0.45)
    original = retriever._fuse
    retriever._fuse = lambda *a, **k: seen.append(a[-1]) or original(*a, **k)
    for q in ("How many users does DingTalk have?", "钉钉用户超过多少"):
        retriever.retrieve(q)
    assert seen == [pytest.approx(0.5), 1.0], "translated: full coverage, × 0.5; Chinese: untouched"
    retriever.translated_bm25_weight = 1.0
    retriever.retrieve("How many users does DingTalk have?")
    assert seen[-1] == 1.0
