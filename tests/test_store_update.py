"""Changing a saved local index through IndexUpdate (index/store/update.py): what `qa index` does."""
import json

import numpy as np
import pytest

from index.documents import Document
from index.store import MANIFEST, IndexStore, StoreError
from index.store.update import IndexUpdate

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem"),
]
NEW = Document("d4", "驿站", "菜鸟驿站超过10万个，覆盖全国城乡。", "mem")


def _saved(encoder, path):
    store = IndexStore(encoder.name, encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    store.add_documents(DOCS, encoder)
    return store, store.save(path)


def test_update_reads_no_passage_and_matches_a_whole_store(tiny_encoder, tmp_path, monkeypatch):
    import index.store.local as local

    whole, path = _saved(tiny_encoder, tmp_path / "idx")
    monkeypatch.setattr(local, "MAX_REMOVED_SHARE", 0.9)   # three documents: each removal is a third

    def no_passages(*a, **k):
        raise AssertionError("an update must not read the segments' passages")

    monkeypatch.setattr(local, "read_segment_index", no_passages)
    update = IndexUpdate.open(path)
    assert isinstance(update, IndexUpdate) and sorted(update.documents) == ["d1", "d2", "d3"]
    assert update.chunk_count == len(whole.chunks) and update.encoder_name == tiny_encoder.name
    report = update.add_documents([NEW, DOCS[0]], tiny_encoder)
    assert report.added == ["d4"] and report.unchanged == ["d1"]
    changed = Document("d2", "减碳", "阿里巴巴减碳达2300万吨。", "mem")
    assert update.add_documents([changed], tiny_encoder).replaced == ["d2"]
    assert update.remove_documents(["d3", "nope"]) == 1
    update.save(path)
    monkeypatch.undo()
    # the same changes made on a whole store give the same index
    whole.add_documents([NEW, changed], tiny_encoder)
    whole.remove_documents(["d3"])
    loaded = IndexStore.load(path)
    assert sorted(loaded.documents) == sorted(whole.documents) == ["d1", "d2", "d4"]
    assert sorted(c.chunk_id for c in loaded.chunks) == sorted(c.chunk_id for c in whole.chunks)
    by_id = {c.chunk_id: v for c, v in zip(whole.chunks, whole.vectors)}
    for c, v in zip(loaded.chunks, loaded.vectors):
        np.testing.assert_array_equal(v, by_id[c.chunk_id])
    assert loaded.chunks[loaded.bm25_search("驿站", 1)[0][0]].doc_id == "d4"
    manifest = json.loads((path / MANIFEST).read_text())
    assert len(manifest["segments"]) == 2 and sorted(sum(manifest["removed"].values(), [])) == ["d2", "d3"]
    assert manifest["documents"] == 3 and manifest["chunks"] == len(loaded.chunks)


def test_a_document_added_twice_in_one_update_keeps_its_last_version(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    update = IndexUpdate.open(path)
    update.add_documents([NEW], tiny_encoder)
    update.add_documents([Document("d4", "驿站", "菜鸟驿站超过12万个。", "mem")], tiny_encoder)
    update.add_documents([Document("d5", "临时", "临时文件。", "mem")], tiny_encoder)
    update.remove_documents(["d5"])
    update.save()
    loaded = IndexStore.load(path)
    assert sorted(loaded.documents) == ["d1", "d2", "d3", "d4"]
    assert [c.text for c in loaded.chunks if c.doc_id == "d4"] == ["菜鸟驿站超过12万个。"]


def test_compaction_and_other_indexes_go_through_a_whole_store(tiny_encoder, tmp_path, monkeypatch):
    import index.store.local as local

    _, path = _saved(tiny_encoder, tmp_path / "idx")
    update = IndexUpdate.open(path)
    update.remove_documents(["d1", "d2"])   # two thirds of the stored chunks: compacted
    update.add_documents([NEW], tiny_encoder)
    update.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert len(manifest["segments"]) == 1 and manifest["removed"] == {}
    assert sorted(IndexStore.load(path).documents) == ["d3", "d4"]
    assert sorted(update.documents) == ["d3", "d4"], "the update goes on from the compacted index"
    # an HNSW index is loaded whole (its graph is rewritten at each save)
    hnsw = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10,
                      faiss_kind="hnsw")
    hnsw.add_documents(DOCS, tiny_encoder)
    assert isinstance(IndexUpdate.open(hnsw.save(tmp_path / "h")), IndexStore)
    # another process saved meanwhile: the update neither appends to nor overwrites its index
    monkeypatch.setattr(local, "MAX_SEGMENTS", 1)
    update = IndexUpdate.open(path)
    other = IndexStore.load(path)
    other.add_documents([Document("d9", "他", "另一个进程的文件。", "mem")], tiny_encoder)
    other.save(path)
    update.add_documents([Document("d8", "我", "这个进程的文件。", "mem")], tiny_encoder)
    with pytest.raises(StoreError, match="changed by another process"):
        update.save(path)
    assert "d9" in IndexStore.load(path).documents


def test_one_add_with_an_id_twice_keeps_its_last_version(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    update = IndexUpdate.open(path)
    report = update.add_documents([NEW, Document("d4", "驿站", "菜鸟驿站超过12万个。", "mem")], tiny_encoder)
    assert report.added == ["d4"] and update.documents["d4"].chunks == 1
    update.save()
    loaded = IndexStore.load(path)
    assert [c.text for c in loaded.chunks if c.doc_id == "d4"] == ["菜鸟驿站超过12万个。"]
    assert json.loads((path / MANIFEST).read_text())["chunks"] == len(loaded.chunks)
    whole = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    whole.add_documents([NEW, NEW], tiny_encoder)
    assert len(whole.chunks) == 1


def test_compaction_after_add_remove_add_of_one_id_keeps_one_version(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    update = IndexUpdate.open(path)
    update.add_documents([NEW], tiny_encoder)
    update.remove_documents(["d4", "d1", "d2"])          # two thirds removed: the save compacts
    update.add_documents([Document("d4", "驿站", "菜鸟驿站超过12万个。", "mem")], tiny_encoder)
    update.save()
    loaded = IndexStore.load(path)
    assert sorted(loaded.documents) == ["d3", "d4"]
    assert [c.text for c in loaded.chunks if c.doc_id == "d4"] == ["菜鸟驿站超过12万个。"]


def test_a_damaged_segment_is_a_clear_error(tiny_encoder, tmp_path):
    _, path = _saved(tiny_encoder, tmp_path / "idx")
    next(path.glob("seg-*.sqlite")).write_bytes(b"garbage" * 100)
    with pytest.raises(StoreError, match=r"seg-\S+\.sqlite is corrupt \(checksum mismatch\)"):
        IndexUpdate.open(path)
