"""A saved local index's passages and documents are read from its segments when asked for, not held."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import index.store.local as local
from index.documents import Document, Region
from index.store import IndexStore, StoreError
from qa.retrieve import Retriever

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem",
             locations=(Region(0, 10, 2, (1.0, 2.0, 3.0, 4.0)), Region(10, 33, 3, None))),
]
NEW = Document("d4", "菜鸟", "菜鸟在2023财年服务了超过10万个商家，其中绿色包裹占比提升。", "mem")


def _saved(encoder, path):
    store = IndexStore(encoder.name, encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    store.add_documents(DOCS, encoder)
    return store, store.save(path)


def _held(store) -> tuple[int, int]:
    """(chunks, documents) the store holds as Python objects rather than reading from a segment."""
    return len(store.chunks._memory), len(store.documents._memory)


def test_a_loaded_index_reads_passages_and_documents_on_demand(tiny_encoder, tmp_path):
    built, path = _saved(tiny_encoder, tmp_path / "idx")
    assert _held(built) == (0, 0), "a save moves what was held onto the disk"
    loaded = IndexStore.load(path)
    assert _held(loaded) == (0, 0)
    assert len(loaded.chunks) == len(built.chunks) > 3
    assert list(loaded.chunks) == list(built.chunks)
    assert loaded.chunks[-1] == built.chunks[len(built.chunks) - 1]
    assert loaded.chunks[1:4] == [built.chunks[i] for i in (1, 2, 3)]
    assert loaded.chunks.take([4, 0, 4]) == [built.chunks[4], built.chunks[0], built.chunks[4]]
    with pytest.raises(IndexError):
        loaded.chunks[len(loaded.chunks)]
    assert list(loaded.documents) == ["d1", "d2", "d3"] and "d2" in loaded.documents and "nope" not in loaded.documents
    d3 = loaded.documents["d3"]
    assert d3.document.text == DOCS[2].text and d3.document.locations == DOCS[2].locations
    assert d3.norm.text == built.documents["d3"].norm.text and list(d3.norm.offsets) == list(
        built.documents["d3"].norm.offsets)
    with pytest.raises(KeyError):
        loaded.documents["nope"]
    assert loaded.document_infos() == built.document_infos()
    hits = Retriever(loaded, tiny_encoder, translate="off").retrieve("钉钉用户有多少", top_k=3)
    assert hits[0].chunk.doc_id == "d3"
    assert hits == Retriever(built, tiny_encoder, translate="off").retrieve("钉钉用户有多少", top_k=3)


def test_added_documents_are_held_until_saved_then_read_from_the_new_segment(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    store = IndexStore.load(path)
    report = store.add_documents([NEW, DOCS[0]], tiny_encoder)
    assert report.added == ["d4"] and report.unchanged == ["d1"], "stored checksums are read for the asked ids"
    held_chunks, held_docs = _held(store)
    assert held_docs == 1 and held_chunks == len(store.chunks.rows_of(["d4"])) > 0
    before = list(store.chunks)
    store.save(path)
    assert _held(store) == (0, 0) and list(store.chunks) == before
    assert store.documents["d4"].document.text == NEW.text
    store.remove_documents(["d1"])
    assert [c.doc_id for c in store.chunks] == [c.doc_id for c in before if c.doc_id != "d1"]
    assert {i.id: i.chunks for i in store.document_infos()} == {
        d: sum(c.doc_id == d for c in before) for d in ("d2", "d3", "d4")}
    again = IndexStore.load(path)
    assert sorted(again.documents) == ["d1", "d2", "d3", "d4"], "the removal is not saved yet"


COMPACT = """
import sys
sys.path.insert(0, {root!r})
import index.store.local as local
from index.documents import Document
from index.embed import Encoder
from index.store import IndexStore

local.MAX_REMOVED_SHARE = 0.0   # any removal rewrites the index whole into a new directory
store = IndexStore.load({path!r})
store.remove_documents(["d1"])
store.add_documents([Document("d5", "新", "天猫双十一的成交额创下新高。", "mem")], Encoder({encoder!r}))
store.save({path!r})
"""


def test_a_reader_keeps_reading_after_another_process_rewrites_the_index(tiny_encoder, tiny_encoder_path, tmp_path):
    built, path = _saved(tiny_encoder, tmp_path / "idx")
    serving = IndexStore.load(path)
    code = COMPACT.format(root=str(Path(__file__).resolve().parents[1]), path=str(path),
                          encoder=str(tiny_encoder_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(IndexStore.load(path).documents) == ["d2", "d3", "d5"], "the other process rewrote it"
    # the files the serving store opened are gone from the directory; it still reads its own state
    assert not any((path / f).exists() for f in serving._segments[0].files)
    assert list(serving.chunks) == list(built.chunks)
    assert serving.documents["d1"].document.text == DOCS[0].text


def test_a_damaged_segment_is_a_store_error_not_a_crash(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    store = IndexStore.load(path)
    store.chunks._position[0] = 10_000   # a row the segment does not have
    with pytest.raises(StoreError, match="missing"):
        store.chunks[0]


def test_a_compaction_streams_every_document_and_chunk_into_one_segment(tiny_encoder, tmp_path, monkeypatch):
    built, path = _saved(tiny_encoder, tmp_path / "idx")
    store = IndexStore.load(path)
    store.add_documents([NEW], tiny_encoder)
    store.save(path)
    monkeypatch.setattr(local, "MAX_REMOVED_SHARE", 0.0)
    store.remove_documents(["d2"])
    expected = list(store.chunks)
    store.save(path)
    assert len(store._segments) == 1 and len(store._files) == 1 and _held(store) == (0, 0)
    loaded = IndexStore.load(path)
    assert list(loaded.chunks) == expected == list(store.chunks)
    assert list(loaded.documents) == ["d1", "d3", "d4"]
    assert loaded.documents["d3"].document.locations == DOCS[2].locations
    np.testing.assert_array_equal(loaded.vectors, store.vectors)


def test_an_auto_index_turns_to_an_hnsw_graph_past_its_size_and_holds_vectors_once(tiny_encoder, tmp_path,
                                                                                     monkeypatch):
    from index.store.update import IndexUpdate

    flat = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5,
                      faiss_kind="auto")
    flat.add_documents(DOCS, tiny_encoder)
    path = flat.save(tmp_path / "idx")
    n = len(flat.chunks)
    monkeypatch.setattr(local, "AUTO_HNSW_FROM", n + 1)
    assert flat.faiss_auto and flat.faiss_kind == "flat" and flat.faiss_index is None
    # 'qa index' adding a document past the size rewrites the index whole, with a graph
    update = IndexUpdate.open(path)
    assert isinstance(update, IndexUpdate)
    update.add_documents([NEW], tiny_encoder)
    update.save(path)
    manifest = json.loads((path / local.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["faiss"] == "hnsw" and manifest["faiss_auto"] is True and local.FAISS_FILE in manifest["files"]
    loaded = IndexStore.load(path)
    assert loaded.faiss_kind == "hnsw" and loaded.faiss_index.ntotal == len(loaded.chunks) > n
    assert len(loaded._vectors) == 0, "the graph's storage is the only copy of the vectors"
    flat.add_documents([NEW], tiny_encoder)
    assert flat.faiss_kind == "hnsw", "a loaded store turns too, at the add that crosses the size"
    np.testing.assert_array_equal(loaded.vectors, flat.vectors)
    assert not loaded.vectors.flags.writeable
    q = tiny_encoder.encode_queries(["钉钉用户"])[0]
    exact = local.top_inner_product(loaded.vectors, q, 3)
    assert [r for r, _ in loaded.dense_search(q, 3)] == [r for r, _ in exact]
    # an addition joins the graph; a removal takes the vectors back from it before dropping it
    loaded.add_documents([Document("d6", "新", "天猫双十一的成交额创下新高。", "mem")], tiny_encoder)
    assert loaded.faiss_index.ntotal == len(loaded.chunks) and len(loaded._vectors) == 0
    before = {c.chunk_id: v for c, v in zip(loaded.chunks, np.array(loaded.vectors))}
    loaded.remove_documents(["d1"])
    assert len(loaded.vectors) == len(loaded.chunks) and "d1" not in loaded.documents
    for c, v in zip(loaded.chunks, loaded.vectors):
        np.testing.assert_array_equal(v, before[c.chunk_id])
    loaded.save(path)
    again = IndexStore.load(path)
    assert again.faiss_kind == "hnsw" and sorted(again.documents) == ["d2", "d3", "d4", "d6"]
    np.testing.assert_array_equal(again.vectors, loaded.vectors)


def test_the_default_kind_is_flat_and_never_turns(tiny_encoder, monkeypatch):
    monkeypatch.setattr(local, "AUTO_HNSW_FROM", 1)
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    store.add_documents(DOCS, tiny_encoder)
    assert store.faiss_kind == "flat" and not store.faiss_auto


def test_an_explicit_kind_never_turns(tiny_encoder, monkeypatch):
    monkeypatch.setattr(local, "AUTO_HNSW_FROM", 1)
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5,
                       faiss_kind="flat")
    store.add_documents(DOCS, tiny_encoder)
    assert store.faiss_kind == "flat" and not store.faiss_auto and store.manifest()["faiss_auto"] is False


def test_documents_keep_the_order_they_were_added_in(tiny_encoder, tmp_path):
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    store.add_documents([Document(i, d.title, d.text, d.source) for i, d in zip(("z", "a", "m"), DOCS)], tiny_encoder)
    loaded = IndexStore.load(store.save(tmp_path / "idx"))
    assert list(loaded.documents) == ["z", "a", "m"] == [i.id for i in loaded.document_infos()]


def test_a_loaded_store_adding_documents_keeps_one_token_row_a_chunk(tiny_encoder, tmp_path):
    from index.bm25 import tokenize
    from index.store.prepare import passage_text

    _, path = _saved(tiny_encoder, tmp_path / "idx")
    store = IndexStore.load(path)
    assert store._tokens is None
    store.add_documents([NEW], tiny_encoder)
    assert len(store.tokens) == len(store.chunks)
    store.add_documents([Document("d5", "新", "天猫双十一的成交额创下新高。", "mem")], tiny_encoder)
    store.save(path)
    again = IndexStore.load(path)
    assert list(again.tokens) == [tokenize(passage_text(c)) for c in again.chunks]
    hits = again.bm25_search("天猫双十一", 1)
    assert again.chunks[hits[0][0]].doc_id == "d5"
