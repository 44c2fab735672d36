import hashlib
import json

import numpy as np
import pytest

from index.documents import Document
from index.store import MANIFEST, IndexStore, StoreError
from qa.retrieve import Retriever
from tests.conftest import SHARED

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem"),
]


def _store(encoder, kind="flat"):
    s = IndexStore(encoder.name, encoder.info.dimension, chunk_size=60, chunk_overlap=10, faiss_kind=kind)
    s.add_documents(DOCS, encoder)
    return s


def test_add_search_and_round_trip(tiny_encoder, tmp_path):
    store = _store(tiny_encoder)
    assert len(store.documents) == 3 and len(store.chunks) >= 3
    hits = store.bm25_search("钉钉用户有多少", 3)
    assert store.chunks[hits[0][0]].doc_id == "d3"
    path = store.save(tmp_path / "idx")
    loaded = IndexStore.load(path, tiny_encoder.name, tiny_encoder.info.dimension)
    assert [c.chunk_id for c in loaded.chunks] == [c.chunk_id for c in store.chunks]
    np.testing.assert_array_equal(loaded.vectors, store.vectors)
    q = tiny_encoder.encode_queries(["钉钉用户"])[0]
    assert loaded.dense_search(q, 2) == store.dense_search(q, 2)
    # original offsets survive the round trip
    c = loaded.chunks[0]
    assert loaded.documents[c.doc_id].document.text[c.start:c.end].replace(" ", "") == c.text.replace(" ", "")


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_other_faiss_kinds_find_the_same_nearest_chunk(tiny_encoder, kind):
    flat, other = _store(tiny_encoder), _store(tiny_encoder, kind)
    q = tiny_encoder.encode_queries(["减碳多少"])[0]
    assert flat.dense_search(q, 1)[0][0] == other.dense_search(q, 1)[0][0]


def test_unchanged_documents_are_not_reembedded_and_changed_ones_replace(tiny_encoder):
    store = _store(tiny_encoder)
    n = len(store.chunks)
    rep = store.add_documents(DOCS, tiny_encoder)
    assert rep.unchanged == ["d1", "d2", "d3"] and len(store.chunks) == n
    rep = store.add_documents([Document("d3", "钉钉", "钉钉用户超7亿。", "mem")], tiny_encoder)
    assert rep.replaced == ["d3"]
    assert [c.text for c in store.chunks if c.doc_id == "d3"] == ["钉钉用户超7亿。"]
    assert len(store.vectors) == len(store.chunks) == len(store.tokens)


def test_remove_documents(tiny_encoder, tmp_path):
    store = _store(tiny_encoder)
    assert store.remove_documents(["d1", "missing"]) == 1
    assert all(c.doc_id != "d1" for c in store.chunks)
    assert len(store.vectors) == len(store.chunks)
    loaded = IndexStore.load(store.save(tmp_path / "i"))
    assert set(loaded.documents) == {"d2", "d3"}


def test_load_refuses_other_encoder_and_corruption(tiny_encoder, tmp_path):
    path = _store(tiny_encoder).save(tmp_path / "idx")
    with pytest.raises(StoreError, match="built with encoder"):
        IndexStore.load(path, "some-other-model", tiny_encoder.info.dimension)
    with pytest.raises(StoreError, match="-d"):
        IndexStore.load(path, tiny_encoder.name, 999)
    vectors = next(path.glob("seg-*.npy"))
    data = bytearray(vectors.read_bytes())
    data[-5] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt"):
        IndexStore.load(path)


def test_load_refuses_missing_or_garbled_manifest(tiny_encoder, tmp_path):
    with pytest.raises(StoreError, match="no index"):
        IndexStore.load(tmp_path / "nothing")
    path = _store(tiny_encoder).save(tmp_path / "idx")
    (path / MANIFEST).write_text("{broken")
    with pytest.raises(StoreError, match="corrupt"):
        IndexStore.load(path)
    path = _store(tiny_encoder).save(tmp_path / "idx2")
    m = json.loads((path / MANIFEST).read_text())
    m["format_version"] = 99
    (path / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(StoreError, match="format"):
        IndexStore.load(path)
    path = _store(tiny_encoder).save(tmp_path / "idx3")
    next(path.glob("seg-*.sqlite")).unlink()
    with pytest.raises(StoreError, match="missing"):
        IndexStore.load(path)
    (path / MANIFEST).write_text("[1, 2]")
    with pytest.raises(StoreError, match="corrupt"):
        IndexStore.load(path)


def test_a_failed_save_leaves_the_previous_index_intact(tiny_encoder, tmp_path, monkeypatch):
    import os
    import time

    import faiss

    import index.store.local as local

    def boom(*a, **k):
        raise OSError("disk full")

    # a whole write (HNSW indexes are always written whole) that fails leaves no temporary directory
    store = _store(tiny_encoder, "hnsw")
    path = store.save(tmp_path / "idx")
    store.remove_documents(["d1"])
    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(OSError):
        store.save(path)
    assert set(IndexStore.load(path).documents) == {"d1", "d2", "d3"}
    assert [p.name for p in tmp_path.iterdir()] == ["idx"], "temporary directories must be cleaned up"
    # an appended segment whose manifest switch fails: the index is as before; the orphan files go later
    store = _store(tiny_encoder)
    path = store.save(tmp_path / "flat")
    store.add_documents([Document("d4", "新", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    with monkeypatch.context() as m:
        m.setattr(local, "write_manifest", boom)
        with pytest.raises(OSError):
            store.save(path)
    assert set(IndexStore.load(path).documents) == {"d1", "d2", "d3"}
    named = set(json.loads((path / MANIFEST).read_text())["files"])
    orphans = [f for f in path.iterdir() if f.name.startswith("seg-") and f.name not in named]
    assert len(orphans) == 2, "the killed write's segment files are there, unnamed"
    for f in orphans:
        os.utime(f, (time.time() - 3600, time.time() - 3600))
    loaded = IndexStore.load(path)
    loaded.add_documents([Document("d5", "新", "杭州西湖。", "mem")], tiny_encoder)
    loaded.save(path)
    assert not any(f.exists() for f in orphans), "files no manifest names are removed by the next write"
    assert set(IndexStore.load(path).documents) == {"d1", "d2", "d3", "d5"}


def _segment_files(path):
    return {f.name: f.stat().st_mtime_ns for f in path.iterdir() if f.name.startswith("seg-")}


def test_a_save_writes_only_what_changed(tiny_encoder, tmp_path, monkeypatch):
    import index.store.local as local

    monkeypatch.setattr(local, "MAX_REMOVED_SHARE", 0.9)   # three documents: each removal is a third
    store = _store(tiny_encoder)
    path = store.save(tmp_path / "idx")
    first = _segment_files(path)
    assert len(first) == 2, "one segment: a SQLite file and a vector file"
    store.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    store.save(path)
    second = _segment_files(path)
    assert len(second) == 4 and all(second[f] == t for f, t in first.items()), "the first segment is untouched"
    manifest = json.loads((path / MANIFEST).read_text())
    assert [s["documents"] for s in manifest["segments"]] == [3, 1] and manifest["removed"] == {}
    # removing and replacing list documents as removed from their segment; nothing is rewritten
    store.remove_documents(["d1"])
    store.add_documents([Document("d2", "减碳", "阿里巴巴减碳达2300万吨。", "mem")], tiny_encoder)
    store.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["removed"] == {manifest["segments"][0]["name"]: ["d1", "d2"]}
    assert all(_segment_files(path)[f] == t for f, t in second.items())
    loaded = IndexStore.load(path)
    assert sorted(loaded.documents) == ["d2", "d3", "d4"]
    assert [c.text for c in loaded.chunks if c.doc_id == "d2"] == ["阿里巴巴减碳达2300万吨。"]
    np.testing.assert_array_equal(loaded.vectors, store.vectors)
    assert [c.chunk_id for c in loaded.chunks] == [c.chunk_id for c in store.chunks]
    q = tiny_encoder.encode_queries(["驿站多少"])[0]
    assert loaded.dense_search(q, 2) == store.dense_search(q, 2)
    assert loaded.bm25_search("驿站", 1) == store.bm25_search("驿站", 1)
    # a loaded store goes on appending; a segment left without live documents is dropped
    loaded.remove_documents(["d4"])
    loaded.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert [s["documents"] for s in manifest["segments"]] == [3, 1]
    assert sorted(IndexStore.load(path).documents) == ["d2", "d3"]


def test_many_segments_or_removals_are_compacted(tiny_encoder, tmp_path, monkeypatch):
    import index.store.local as local

    monkeypatch.setattr(local, "MAX_SEGMENTS", 3)
    store = _store(tiny_encoder)
    path = store.save(tmp_path / "idx")
    for i in range(3):
        store.add_documents([Document(f"n{i}", "新", f"第{i}条新闻：菜鸟驿站超过{i + 1}0万个。", "mem")], tiny_encoder)
        store.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert len(manifest["segments"]) == 1 and manifest["segments"][0]["documents"] == 6, "rewritten as one"
    assert sorted(IndexStore.load(path).documents) == ["d1", "d2", "d3", "n0", "n1", "n2"]
    store = IndexStore.load(path)
    store.remove_documents(["d1", "d2", "d3"])   # half the stored chunks
    store.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["removed"] == {} and manifest["segments"][0]["documents"] == 3


def test_an_index_of_format_1_still_loads_and_is_rewritten_on_save(tiny_encoder, tmp_path):
    """Indexes saved before segments existed: one SQLite file with vectors, one FAISS file."""
    import sqlite3

    import faiss

    store = _store(tiny_encoder)
    old = tmp_path / "old"
    old.mkdir()
    con = sqlite3.connect(old / "chunks.sqlite")
    con.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, source TEXT, text TEXT,"
                " norm_text TEXT, offsets BLOB, checksum TEXT)")
    con.execute("CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, title TEXT,"
                " text TEXT, norm_start INT, norm_end INT, start INT, end INT, tokens TEXT, vector BLOB)")
    con.executemany("INSERT INTO documents VALUES (?,?,?,?,?,?,?)", [
        (sd.document.id, sd.document.title, sd.document.source, sd.document.text, sd.norm.text,
         np.asarray(sd.norm.offsets, dtype="<i4").tobytes(), sd.checksum) for sd in store.documents.values()])
    con.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
        (i, c.chunk_id, c.doc_id, c.title, c.text, c.norm_start, c.norm_end, c.start, c.end,
         json.dumps(store.tokens[i], ensure_ascii=False), store.vectors[i].astype("<f4").tobytes())
        for i, c in enumerate(store.chunks)])
    con.commit()
    con.close()
    flat = faiss.IndexFlatIP(store.dimension)   # format 1 kept a FAISS copy of the vectors
    flat.add(store.vectors)
    faiss.write_index(flat, str(old / "dense.faiss"))
    manifest = {**store.manifest(), "format_version": 1, "generation": 4,
                "documents": {d: sd.checksum for d, sd in store.documents.items()},
                "files": {name: hashlib.sha256((old / name).read_bytes()).hexdigest()   # as format 1 wrote them
                          for name in ("chunks.sqlite", "dense.faiss")}}
    (old / MANIFEST).write_text(json.dumps(manifest))
    loaded = IndexStore.load(old)
    assert sorted(loaded.documents) == ["d1", "d2", "d3"] and loaded.generation == 4
    np.testing.assert_array_equal(loaded.vectors, store.vectors)
    loaded.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    loaded.save(old)
    manifest = json.loads((old / MANIFEST).read_text())
    assert manifest["format_version"] == 2 and manifest["generation"] == 5 and len(manifest["segments"]) == 1
    assert not (old / "chunks.sqlite").exists()
    assert sorted(IndexStore.load(old).documents) == ["d1", "d2", "d3", "d4"]


def test_retriever_modes_and_fusion(tiny_encoder):
    store = _store(tiny_encoder)
    for mode in ["hybrid", "dense", "bm25"]:
        hits = Retriever(store, tiny_encoder, mode=mode).retrieve("钉钉用户超过多少", top_k=2)
        assert 1 <= len(hits) <= 2
        assert hits == sorted(hits, key=lambda h: -h.score)
    hits = Retriever(store, tiny_encoder, mode="bm25").retrieve("钉钉用户超过多少", top_k=1)
    assert hits[0].chunk.doc_id == "d3" and hits[0].bm25_rank == 1
    hybrid = Retriever(store, tiny_encoder, fusion="weighted").retrieve("钉钉用户超过多少", top_k=3)
    assert all(0.0 <= h.score <= 1.0 for h in hybrid)
    # with dense weight 0 the z-score fusion (the default) follows BM25; RRF also puts d3 first here
    for fusion in ("zscore", "rrf"):
        fused = Retriever(store, tiny_encoder, fusion=fusion, dense_weight=0.0).retrieve("钉钉用户超过多少", top_k=3)
        assert fused[0].chunk.doc_id == "d3", fusion
        assert fused == sorted(fused, key=lambda h: -h.score)
    with pytest.raises(ValueError):
        Retriever(store, tiny_encoder, mode="magic")


def test_traditional_and_simplified_share_bm25_tokens(tiny_encoder):
    from index.bm25 import tokenize

    assert tokenize("臺北101樓高多少公尺") == tokenize("台北101楼高多少公尺")
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    store.add_documents([Document("t", "臺灣", "臺北101大樓於2004年落成，樓高508公尺。", "mem"), *DOCS], tiny_encoder)
    top = store.bm25_search("台北101楼高多少公尺？", 2)
    assert store.chunks[top[0][0]].doc_id == "t"


def test_tokens_of_an_older_bm25_tokenizer_are_redone_at_load(tiny_encoder, tmp_path):
    from index.bm25 import tokenize
    from index.store import passage_text

    path = _store(tiny_encoder).save(tmp_path / "idx")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["bm25_tokenizer_version"] = 1
    (path / MANIFEST).write_text(json.dumps(manifest))
    loaded = IndexStore.load(path)
    assert list(loaded.tokens) == [tokenize(passage_text(c)) for c in loaded.chunks]
    assert loaded.chunks[loaded.bm25_search("钉钉用户有多少", 1)[0][0]].doc_id == "d3"


def test_bm25_weight_follows_what_it_can_see_of_the_question(tiny_encoder):
    from qa.retrieve import FULL_COVERAGE, _normalized

    store = _store(tiny_encoder)
    assert store.bm25_coverage("钉钉用户超过多少") >= FULL_COVERAGE
    assert store.bm25_coverage("What is the name of the CEO") == 0.0
    english = "How many users does DingTalk have 钉钉"
    coverage = store.bm25_coverage(english)
    assert 0.0 < coverage < FULL_COVERAGE, "only 钉钉 of the question's tokens is in the store"
    dense = store.dense_search(tiny_encoder.encode_queries([english])[0], 100)
    bm25 = store.bm25_search(english, 100)
    assert bm25, "BM25 finds the chance match on 钉钉"
    d, b = _normalized(dense, "zscore"), _normalized(bm25, "zscore")
    share = coverage / FULL_COVERAGE
    # (query translation off: it would add Chinese words; see test_query_translation.py)
    hits = Retriever(store, tiny_encoder, dense_weight=0.45, translate="off").retrieve(english, top_k=len(store.chunks))
    for h in hits:
        row = store.chunks.index(h.chunk)
        expected = 0.45 * d.get(row, 0.0) + 0.55 * share * b.get(row, 0.0)
        assert h.score == pytest.approx(expected)
    # a Chinese question keeps BM25's full weight: the same scores as before this scaling existed
    hits = Retriever(store, tiny_encoder, dense_weight=0.45).retrieve("钉钉用户超过多少", top_k=len(store.chunks))
    dense = store.dense_search(tiny_encoder.encode_queries(["钉钉用户超过多少"])[0], 100)
    d, b = _normalized(dense, "zscore"), _normalized(store.bm25_search("钉钉用户超过多少", 100), "zscore")
    for h in hits:
        row = store.chunks.index(h.chunk)
        assert h.score == pytest.approx(0.45 * d.get(row, 0.0) + 0.55 * b.get(row, 0.0))


def test_a_flat_store_holds_its_vectors_once_and_searches_them_exactly(tiny_encoder):
    import faiss

    store = _store(tiny_encoder)
    assert store.faiss_index is None, "no FAISS copy of the vectors"
    view = store.vectors
    store.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个，覆盖全国城乡。", "mem")], tiny_encoder)
    assert len(view) < len(store.vectors) == len(store.chunks), "an earlier view keeps its rows"
    np.testing.assert_array_equal(store.vectors[:len(view)], view)
    exact = faiss.IndexFlatIP(store.dimension)
    exact.add(store.vectors)
    for question in ("菜鸟驿站超过10万个", "钉钉用户超过多少", "公益幸福团"):
        q = tiny_encoder.encode_queries([question])[0]
        scores, rows = exact.search(q.reshape(1, -1), 4)
        hits = store.dense_search(q, 4)
        assert [r for r, _ in hits] == rows[0].tolist()
        assert [s for _, s in hits] == pytest.approx(scores[0].tolist(), abs=1e-5)
    assert store.dense_search(q, 100) and len(store.dense_search(q, 100)) == len(store.chunks)
    store.remove_documents(["d1"])
    assert len(store.vectors) == len(store.chunks) and all(c.doc_id != "d1" for c in store.chunks)


def test_vector_rows_grow_in_place_and_keep_earlier_views():
    from index.store.vectors import VectorRows, top_inner_product

    rows = VectorRows(2)
    rows.append(np.array([[1.0, 0.0]]))
    first = rows.array
    for i in range(100):
        rows.append(np.array([[0.0, float(i)]]))
    assert len(rows) == 101 and first.tolist() == [[1.0, 0.0]] and rows.array[-1].tolist() == [0.0, 99.0]
    assert top_inner_product(rows.array, np.array([0.0, 1.0]), 2) == [(100, 99.0), (99, 98.0)]
    assert top_inner_product(rows.array[:0], np.array([0.0, 1.0]), 2) == []


@pytest.mark.parametrize("kind", ["hnsw"])
def test_an_added_document_joins_the_built_faiss_index(tiny_encoder, kind):
    store = _store(tiny_encoder, kind)
    built = store.faiss_index
    store.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个，覆盖全国城乡。", "mem")], tiny_encoder)
    assert store.faiss_index is built and built.ntotal == len(store.chunks), "appended, not rebuilt"
    q = tiny_encoder.encode_queries(["菜鸟驿站超过10万个"])[0]
    fresh = _store(tiny_encoder, kind)
    fresh.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个，覆盖全国城乡。", "mem")], tiny_encoder)
    fresh._faiss = None
    assert store.dense_search(q, 4) == fresh.dense_search(q, 4)
    store.remove_documents(["d1"])
    assert store.faiss_index is not built and store.faiss_index.ntotal == len(store.chunks)


def test_a_relative_index_path_still_appends(tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _store(tiny_encoder).save("idx")
    loaded = IndexStore.load("idx")
    loaded.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    loaded.save("idx")
    assert len(json.loads((tmp_path / "idx" / MANIFEST).read_text())["segments"]) == 2


def test_tokens_of_an_older_tokenizer_are_rewritten_not_appended_to(tiny_encoder, tmp_path):
    path = _store(tiny_encoder).save(tmp_path / "idx")
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["bm25_tokenizer_version"] = 1
    (path / MANIFEST).write_text(json.dumps(manifest))
    loaded = IndexStore.load(path)
    loaded.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    loaded.save(path)
    from index.bm25 import BM25_TOKENIZER_VERSION

    manifest = json.loads((path / MANIFEST).read_text())
    assert len(manifest["segments"]) == 1 and manifest["bm25_tokenizer_version"] == BM25_TOKENIZER_VERSION


def test_a_dropped_segment_outlives_its_manifest_for_a_grace_period(tiny_encoder, tmp_path, monkeypatch):
    import index.store.local as local

    monkeypatch.setattr(local, "MAX_REMOVED_SHARE", 0.9)
    store = _store(tiny_encoder)
    path = store.save(tmp_path / "idx")
    store.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    store.save(path)
    second = json.loads((path / MANIFEST).read_text())["segments"][1]
    store.remove_documents(["d4"])
    store.save(path)
    manifest = json.loads((path / MANIFEST).read_text())
    assert [s["name"] for s in manifest["segments"]] != [] and second["name"] not in [s["name"] for s in manifest["segments"]]
    assert [r["name"] for r in manifest["retired"]] == [second["name"]]
    assert all((path / f).exists() for f in second["files"]), "a load that read the previous manifest can finish"
    manifest["retired"][0]["at"] -= 3600   # the grace period is over
    (path / MANIFEST).write_text(json.dumps(manifest))
    store = IndexStore.load(path)
    store.add_documents([Document("d5", "新", "杭州西湖。", "mem")], tiny_encoder)
    store.save(path)
    assert not any((path / f).exists() for f in second["files"])
    assert json.loads((path / MANIFEST).read_text())["retired"] == []


def test_an_ivf_index_is_retrained_after_an_add(tiny_encoder):
    store = _store(tiny_encoder, "ivf")
    built = store.faiss_index
    store.add_documents([Document("d4", "驿站", "菜鸟驿站超过10万个。", "mem")], tiny_encoder)
    assert store.faiss_index is not built and store.faiss_index.ntotal == len(store.chunks)


def test_token_table_holds_rows_as_ids_and_a_selection_forgets_unused_words():
    from index.bm25 import BM25Index, TokenTable

    rows = [["阿里", "钉钉", "用户"], [], ["钉钉", "6亿"], ["腾讯"]]
    table = TokenTable(rows)
    assert len(table) == 4 and list(table) == rows and table[2] == ["钉钉", "6亿"]
    assert sorted(table.vocab) == sorted({t for r in rows for t in r})
    picked = table.select([3, 1, 2])
    assert list(picked) == [["腾讯"], [], ["钉钉", "6亿"]]
    assert sorted(picked.vocab) == ["6亿", "腾讯", "钉钉"], "words of dropped rows are gone"
    assert list(table) == rows, "the table selected from is unchanged"
    # BM25 over the table scores exactly as over the lists, and knows only the selected words
    query = ["钉钉", "6亿", "阿里"]
    from_table, from_lists = BM25Index(picked), BM25Index([["腾讯"], [], ["钉钉", "6亿"]])
    assert from_table.search(query, 3) == from_lists.search(query, 3) and from_table.search(query, 3)[0][0] == 2
    assert from_table.known(["阿里", "钉钉"]) == [False, True]
    picked.append(["阿里"])
    assert from_table.known(["阿里"]) == [False], "an index does not see words added to its table later"


def test_bm25_scores_counted_with_numpy_equal_bm25s_own_index():
    """The score matrix is built by index/bm25.py's numpy count; bm25s' own index() is the reference."""
    import bm25s

    from index.bm25 import BM25Index, TokenTable, _IdLists

    rng = np.random.default_rng(3)
    for _ in range(20):
        vocab_size = int(rng.integers(1, 30))
        rows = [[f"w{int(x) % vocab_size}" for x in rng.zipf(1.3, int(rng.integers(0, 10)))]
                for _ in range(int(rng.integers(1, 40)))]
        table = TokenTable(rows)
        ours = BM25Index(table)
        vocab = dict(table.vocab)
        empty = vocab.setdefault("", len(vocab))
        ref = bm25s.BM25()
        ref.index(bm25s.tokenization.Tokenized(ids=_IdLists(table, empty), vocab=vocab), show_progress=False)
        for word in table.vocab:
            np.testing.assert_allclose(ours._retriever.get_scores([word]), ref.get_scores([word]), rtol=1e-6)


def test_text_that_opencc_would_leave_alone_skips_the_conversion(monkeypatch):
    from index import simplified

    converter, _ = simplified.loaded()
    cases = ["阿里巴巴2023财年的碳排放是多少？", "什么时候", "臺北101是位於臺灣的摩天大樓", "情有獨鍾", "么麼",
             "乾隆", "有著名的", "後來", "It's 42.", ""]
    expected = {text: converter.convert(text) for text in cases}
    calls = []
    monkeypatch.setattr(converter, "convert", lambda text: calls.append(text) or expected[text])
    assert [simplified.to_simplified(t) for t in cases] == [expected[t] for t in cases]
    assert "阿里巴巴2023财年的碳排放是多少？" not in calls and "什么时候" not in calls and "It's 42." not in calls
    assert {"臺北101是位於臺灣的摩天大樓", "情有獨鍾", "後來"} <= set(calls)


def test_every_dictionary_entry_opencc_changes_holds_a_character_of_the_class():
    from index import simplified

    converter, changes = simplified.loaded()
    entries = [node[2] for group in converter._dict_chain_data for node in group]
    changed = [key for mapping in entries for key, value in mapping.items() if value.split(" ")[0] != key]
    assert len(changed) > 2000
    assert all(changes.search(key) for key in changed)


@pytest.mark.e2e
def test_the_characters_opencc_changes_cover_every_text_it_changes():
    """On passages and questions of five sets, skipping the conversion never changes a token."""
    from index import simplified
    from index.readers.squad import load_squad

    converter, _ = simplified.loaded()
    texts = []
    for name in ("cmrc2018/cmrc2018_dev.json", "drcd/DRCD_dev.json", "news_mrc/news_mrc_dev.json",
                 "dureader/dureader_robust_dev_a.json", "cail2019/cail2019_dev.json"):
        path = SHARED / "data" / name
        if not path.exists():
            pytest.fail(f"{path} is missing (../shared beside the repository)")
        data = load_squad(path)
        texts += [p.context for p in data.paragraphs[:300]] + [q.question for q in data.questions[:300]]
    assert sum(simplified.to_simplified(t) != t for t in texts) > 500, "traditional texts were among them"
    assert [simplified.to_simplified(t) for t in texts] == [converter.convert(t) for t in texts]


def test_a_copy_of_a_passage_is_read_once(tiny_encoder):
    """The same report saved twice (「报告(1).md」) gave two of the three passages read; a copy of a
    better-ranked passage is left out, and the next passage takes its place."""
    from index.documents import Document

    copy = Document("d3-copy", "副本", DOCS[2].text, "/docs/报告(1).md")
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=60, chunk_overlap=10)
    store.add_documents(DOCS + [copy], tiny_encoder)
    for mode in ("hybrid", "dense", "bm25"):
        hits = Retriever(store, tiny_encoder, mode=mode).retrieve("钉钉用户超过多少", top_k=3)
        texts = ["".join(h.chunk.text.split()) for h in hits]
        assert len(texts) == len(set(texts)), mode
        if mode != "bm25":   # BM25 finds only 钉钉's passage (and its copy): one left
            assert {h.chunk.doc_id for h in hits} >= {"d1", "d2"}, mode   # the copy's place went to the others


def test_an_index_an_older_normalizer_wrote_is_read_again_at_the_next_add(tiny_encoder, tmp_path, monkeypatch):
    """Unchanged files keep their stored text otherwise: a normalizer fix would never reach them."""
    import index.store.local as local

    path = _store(tiny_encoder).save(tmp_path / "idx")
    assert IndexStore.load(path, tiny_encoder.name, tiny_encoder.info.dimension).add_documents(
        DOCS, tiny_encoder).unchanged == [d.id for d in DOCS]
    monkeypatch.setattr(local, "NORMALIZER_VERSION", local.NORMALIZER_VERSION + 1)   # the code was upgraded
    loaded = IndexStore.load(path, tiny_encoder.name, tiny_encoder.info.dimension)
    report = loaded.add_documents(DOCS[:1], tiny_encoder)   # one file given: all are read again
    assert sorted(report.replaced) == sorted(d.id for d in DOCS) and not report.unchanged and not report.added
    assert len(loaded.documents) == len(DOCS) and loaded.normalized_by == local.NORMALIZER_VERSION
    assert len(loaded.chunks) == len(_store(tiny_encoder).chunks)   # no document twice
    again = loaded.save(tmp_path / "idx")
    reloaded = IndexStore.load(again, tiny_encoder.name, tiny_encoder.info.dimension)
    assert reloaded.normalized_by == local.NORMALIZER_VERSION
    assert reloaded.add_documents(DOCS, tiny_encoder).unchanged == [d.id for d in DOCS]
