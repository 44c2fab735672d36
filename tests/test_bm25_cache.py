"""A saved index's BM25 is kept beside it: later opens memory-map it and never read the tokens."""
import numpy as np

import index.store.bm25_cache as bm25_cache
import index.store.local as local
from index.bm25 import tokenize
from index.documents import Document
from index.store import IndexStore
from index.store.prepare import passage_text
from index.store.update import IndexUpdate

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem"),
]
QUERIES = ["钉钉用户有多少", "公益幸福团", "减碳 万吨", "没有的词"]


def _caches(path):
    return sorted(f.name for f in path.iterdir() if f.name.startswith(bm25_cache.PREFIX))


def _results(store):
    return [store.bm25_search(q, 5) for q in QUERIES]


def test_bm25_is_kept_beside_a_saved_index_and_memory_mapped_later(tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(local, "BM25_CACHE_FROM", 1)
    built = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    built.add_documents(DOCS, tiny_encoder)
    expected = _results(built)
    path = built.save(tmp_path / "idx")
    assert len(_caches(path)) == 1, "BM25 indexed before the save covers the saved state: kept"
    import shutil

    shutil.rmtree(path / _caches(path)[0])
    first = IndexStore.load(path)
    assert first._tokens is None, "a load leaves the tokens in the segments"
    assert _results(first) == expected
    assert first._tokens is not None and _caches(path) == [bm25_cache.folder_for(path, first._saved_state).name]
    second = IndexStore.load(path)
    assert _results(second) == expected
    assert second._tokens is None, "the kept BM25 was used: no token was read"
    assert isinstance(second._bm25._retriever.scores["data"], np.memmap)
    # damaged: indexed again, same answers, no error
    card = path / _caches(path)[0]
    data = next(f for f in card.iterdir() if f.name.startswith("data"))
    data.write_bytes(data.read_bytes()[:-8] + b"\0" * 8)
    third = IndexStore.load(path)
    assert _results(third) == expected and third._tokens is not None
    fourth = IndexStore.load(path)   # the damaged BM25 was replaced by the one indexed again
    assert _results(fourth) == expected and fourth._tokens is None


def test_a_new_state_gets_its_own_bm25_and_the_old_one_goes(tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(local, "BM25_CACHE_FROM", 1)
    monkeypatch.setattr(bm25_cache, "STALE_AFTER_S", 0.0)
    monkeypatch.setattr(local, "MAX_REMOVED_SHARE", 0.9)   # the removal below adds a segment, not a rewrite
    built = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    built.add_documents(DOCS[:2], tiny_encoder)
    path = built.save(tmp_path / "idx")
    IndexStore.load(path).bm25_search("公益", 3)
    old = _caches(path)
    assert len(old) == 1
    update = IndexUpdate.open(path)
    update.add_documents([DOCS[2]], tiny_encoder)
    update.save(path)
    # the next write marks the superseded state's BM25 (a reader may still be opening it) ...
    assert _caches(path) == old and (path / old[0] / bm25_cache.SUPERSEDED).exists()
    loaded = IndexStore.load(path)
    assert loaded.chunks[loaded.bm25_search("钉钉用户有多少", 1)[0][0]].doc_id == "d3"
    second = bm25_cache.folder_for(path, loaded._saved_state).name
    assert _caches(path) == sorted(old + [second])
    # a store that changed holds no saved state: nothing is kept for it until it is saved
    loaded.remove_documents(["d1"])
    loaded.bm25_search("公益", 3)
    assert loaded._saved_state is None and _caches(path) == sorted(old + [second])
    loaded.save(path)
    # ... and a later write removes it once the grace period is over; BM25 indexed after the change
    # covers the saved state: kept
    third = bm25_cache.folder_for(path, loaded._saved_state).name
    assert _caches(path) == sorted([second, third]) and (path / second / bm25_cache.SUPERSEDED).exists()
    assert _results(IndexStore.load(path)) == _results(loaded)


def test_tokens_left_on_disk_are_read_in_row_order_after_removals(tiny_encoder, tmp_path):
    built = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5)
    built.add_documents(DOCS, tiny_encoder)
    path = built.save(tmp_path / "idx")
    loaded = IndexStore.load(path)
    loaded.remove_documents(["d2"])
    assert loaded._tokens is None
    assert list(loaded.tokens) == [tokenize(passage_text(c)) for c in built.chunks if c.doc_id != "d2"]
    built.remove_documents(["d2"])
    assert _results(loaded) == _results(built)
