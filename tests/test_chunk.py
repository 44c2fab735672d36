import pytest

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
