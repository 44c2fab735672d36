import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunk import chunk_document, split_sentences
from index.documents import Document
from index.normalize import normalize
from tests.conftest import SAMPLE


def _strip(s):
    return "".join(s.split())


def test_sample_article_chunks_are_bounded_and_cover_every_sentence():
    text = SAMPLE.read_text(encoding="utf-8")
    doc = Document("a", "t", text, "x")
    norm = normalize(text)
    chunks = chunk_document(doc, norm, size=250, overlap=60)
    assert len(chunks) > 5
    assert all(len(c.text) <= 250 for c in chunks)
    for s, e in split_sentences(norm.text):
        assert any(c.norm_start <= s and e <= c.norm_end for c in chunks), norm.text[s:e]
    for c in chunks:
        # original offsets cover the same characters, up to OCR whitespace
        assert _strip(normalize(text[c.start:c.end]).text) == _strip(c.text)


def test_consecutive_chunks_overlap():
    text = "。".join(f"第{i}句话说明了一件事情" for i in range(40)) + "。"
    chunks = chunk_document(Document("d", "", text, ""), normalize(text), size=60, overlap=20)
    for a, b in zip(chunks, chunks[1:]):
        assert b.norm_start < a.norm_end


def test_very_long_sentence_is_cut():
    text = "长" * 700
    chunks = chunk_document(Document("d", "", text, ""), normalize(text), size=250, overlap=0)
    assert [len(c.text) for c in chunks] == [250, 250, 200]


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError):
        chunk_document(Document("d", "", "x。", ""), normalize("x。"), size=10)


def _chunks(text, size=250, overlap=60):
    return chunk_document(Document("d", "", text, ""), normalize(text), size=size, overlap=overlap)


@pytest.mark.parametrize("glue", ["，", ". ", ""])   # comma-only clauses, half-width stops, no punctuation
def test_a_name_on_the_cut_of_an_over_long_sentence_is_whole_in_some_chunk(glue):
    # every name sits at a different place relative to the 250-character cuts
    names = ["欧阳明华", "慕容雪梅", "司马长风", "上官云飞", "诸葛一鸣", "东方青苍"]
    clauses = [f"第{i}标段由{names[i % 6]}负责并于{2000 + i}年完工" for i in range(60)]
    text = glue.join(clauses) + "。"
    chunks = _chunks(text)
    assert all(len(c.text) <= 250 for c in chunks)
    for clause in clauses:   # each clause (name, figure) whole in one chunk, not only the sentence's pieces
        assert any(clause in c.text for c in chunks), clause


def test_over_long_sentence_is_cut_after_a_comma_not_inside_a_number():
    text = "，".join(f"项目{i}的投资为{i}.5亿元" for i in range(80)) + "。"
    for c in _chunks(text)[:-1]:
        assert c.text.endswith("，"), c.text[-12:]
    text = "".join(f"投资{i}.5亿元" for i in range(100))   # only decimal points: a hard cut, never after one
    assert not any(c.text.endswith(".") for c in _chunks(text))


def test_pieces_of_a_long_sentence_overlap_by_about_the_overlap():
    chunks = _chunks("长" * 700, size=250, overlap=60)
    assert all(len(c.text) <= 250 for c in chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert a.norm_end - b.norm_start == 60
    assert chunks[-1].norm_end == 700


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(alphabet=st.sampled_from(list("公司董事长魏东海，,.。 1２3\n")), max_size=400),
                      st.text(alphabet=st.sampled_from(list("公司董事长魏东海，,")), min_size=100, max_size=600)),
       size=st.integers(20, 120), share=st.floats(0, 0.99))
def test_chunks_fit_cover_everything_and_always_move_on(text, size, share):
    overlap = int(size * share)
    norm = normalize(text)
    chunks = chunk_document(Document("d", "", text, ""), norm, size=size, overlap=overlap)
    assert all(0 < len(c.text) <= size for c in chunks)
    for a, b in zip(chunks, chunks[1:]):   # none lies inside the one before; each moves on
        assert a.norm_start < b.norm_start and a.norm_end < b.norm_end
    covered = set()
    for c in chunks:
        covered.update(range(c.norm_start, c.norm_end))
    assert {i for i, ch in enumerate(norm.text) if ch not in " \n"} <= covered
    # each piece of an over-long sentence moves on by half a piece at least: no crawling
    assert len(chunks) <= 4 * len(norm.text) / size + len(split_sentences(norm.text)) + 1


def test_a_run_on_sentence_with_a_large_overlap_is_not_cut_one_character_at_a_time():
    text = "，".join(f"第{i}标段由欧阳明华负责" for i in range(300)) + "。"   # 3,600 characters, one sentence
    chunks = _chunks(text, size=100, overlap=60)
    assert len(chunks) <= 2 * len(text) / 50
    assert all(b.norm_start - a.norm_start >= 25 for a, b in zip(chunks, chunks[1:]))


def test_a_table_row_of_fields_is_never_cut_where_it_fits_and_a_long_one_at_its_fields():
    """Cut at a row's 「；」, a chunk began 「2022年：1,136.7；2023年：1,234.5」: figures without their metric."""
    rows = [f"指标：{name}（亿元）；2021年：{i}82.3；2022年：{i}136.7；2023年：{i}234.5"
            for i, name in enumerate(["营业收入", "归母净利润", "研发投入", "经营现金流", "资本开支", "总资产", "净资产"], 1)]
    text = "公司近三年主要会计数据如下。\n" + "\n".join(rows) + "\n公司坚持创新；持续投入研发。"
    norm = normalize(text)
    assert "指标" in norm.text and norm.text.count("\n") == len(rows) + 1   # the rows keep their lines
    chunks = chunk_document(Document("d", "", text, ""), norm, size=120, overlap=60)
    for row in rows:
        assert any(row in c.text for c in chunks), row
    assert all(c.text.startswith(("公司", "指标")) for c in chunks)
    assert [norm.text[s:e] for s, e in split_sentences(norm.text)][-2:] == ["公司坚持创新；", "持续投入研发。"]
    long_row = "；".join(f"{year}年：{year - 1900}.5" for year in range(1990, 2024))
    pieces = chunk_document(Document("d", "", long_row, ""), normalize(long_row), size=60, overlap=20)
    assert len(pieces) > 1 and all(p.text.endswith("；") or p.text == pieces[-1].text for p in pieces)
    assert all(p.text.split("；")[0].count("：") == 1 for p in pieces)   # each piece begins at a field
