"""One store test suite run against both backends: the local directory store and Milvus (milvus-lite).

Each test gets a fresh store of the backend under test; ``reopen`` saves and loads it again (local) or
closes and reconnects (Milvus), so persistence is checked the same way for both.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from index.documents import Document, Region
from index.store import IndexStore, StoreError
from qa.retrieve import Retriever

if os.environ.get("ZHQA_REQUIRE_SYSTEM_TESTS") == "1":
    import pymilvus  # noqa: F401  (CI: the test extra brings it; missing is a failure)
else:
    pytest.importorskip("pymilvus", reason="the Milvus backend's tests need pip install 'zhqa[milvus]'")

DOCS = [
    Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。公益幸福团共发起了1000多场活动。", "mem"),
    Document("d2", "减碳", "阿里巴巴带动平台生态减碳达2290.7万吨。自身运营净排放为468.1万吨。", "mem"),
    Document("d3", "钉钉", "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。", "mem"),
]
SCAN = Document("scan", "扫描", "第一行文字。\n第二行：菜鸟驿站超过10万个。", "scan.png",
                (Region(0, 6, 1, (10.0, 20.0, 300.0, 44.0)), Region(7, 23, 1, (10.0, 50.0, 420.0, 74.0))))
QUESTIONS = ["钉钉用户有多少", "减碳多少万吨", "公益幸福团发起了多少场活动", "How many users does DingTalk have"]


class Backend:
    """Makes and reopens stores of one backend in a test's temporary directory."""

    def __init__(self, name: str, tmp_path, encoder):
        self.name, self.tmp, self.encoder = name, tmp_path, encoder
        self.opened = []

    def make(self):
        if self.name == "local":
            return IndexStore(self.encoder.name, self.encoder.info.dimension, chunk_size=60, chunk_overlap=10)
        from index.store.milvus import MilvusStore

        return self._keep(MilvusStore.open(str(self.tmp / "x.db"), "t", self.encoder.name,
                                           self.encoder.info.dimension, create=True, chunk_size=60, chunk_overlap=10))

    def reopen(self, store):
        if self.name == "local":
            return IndexStore.load(store.save(self.tmp / "idx"), self.encoder.name, self.encoder.info.dimension)
        from index.store.milvus import MilvusStore

        store.close()
        return self._keep(MilvusStore.open(str(self.tmp / "x.db"), "t", self.encoder.name,
                                           self.encoder.info.dimension))

    def _keep(self, store):
        self.opened.append(store)
        return store

    def close(self):
        for store in self.opened:
            store.close()


@pytest.fixture(params=["local", "milvus"])
def backend(request, tmp_path, tiny_encoder):
    b = Backend(request.param, tmp_path, tiny_encoder)
    yield b
    b.close()


def _doc_ids(store, hits):
    return [store.chunks[row].doc_id for row, _ in hits]


def test_add_search_reopen(backend, tiny_encoder):
    store = backend.make()
    report = store.add_documents(DOCS, tiny_encoder)
    assert report.added == ["d1", "d2", "d3"] and report.chunks == len(store.chunks) >= 3
    assert _doc_ids(store, store.bm25_search("钉钉用户有多少", 3))[0] == "d3"
    assert store.bm25_search("腾讯", 3) == [] and store.bm25_coverage("腾讯") == 0.0
    assert store.bm25_coverage("钉钉用户") == 1.0
    # a term is known when all its BM25 tokens are: 首席执行官 is not, though nothing else is asked
    assert store.bm25_known(["钉钉", "用户", "腾讯", "首席执行官", "减碳"]) == [True, True, False, False, True]
    assert store.bm25_known([]) == []
    q = tiny_encoder.encode_queries(["钉钉用户"])[0]
    dense = store.dense_search(q, 3)
    assert len(dense) == 3 and dense[0][1] >= dense[1][1] >= dense[2][1]
    store = backend.reopen(store)
    assert sorted(store.documents) == ["d1", "d2", "d3"]
    assert _doc_ids(store, store.dense_search(q, 3)) == [store.chunks[r].doc_id for r, _ in dense]
    assert {i.id: i.chunks for i in store.document_infos()} == {d.id: 1 for d in DOCS}
    # each chunk's offsets point into its document's original text
    for chunk in store.chunks:
        original = store.documents[chunk.doc_id].document.text
        assert original[chunk.start:chunk.end].replace(" ", "") == chunk.text.replace(" ", "")


def test_replace_keep_unchanged_and_remove(backend, tiny_encoder):
    store = backend.make()
    store.add_documents(DOCS, tiny_encoder)
    rep = store.add_documents(DOCS, tiny_encoder)
    assert rep.unchanged == ["d1", "d2", "d3"] and rep.chunks == 0
    rep = store.add_documents([Document("d3", "钉钉", "钉钉用户超7亿。", "mem")], tiny_encoder)
    assert rep.replaced == ["d3"]
    assert [c.text for c in store.chunks if c.doc_id == "d3"] == ["钉钉用户超7亿。"]
    assert store.documents["d3"].document.text == "钉钉用户超7亿。"
    hits = store.bm25_search("钉钉用户超6亿", 5)   # the replaced version is not found any more
    assert all("6亿" not in store.chunks[r].text for r, _ in hits)
    assert store.remove_documents(["d1", "missing"]) == 1
    assert "d1" not in store.documents and all(c.doc_id != "d1" for c in store.chunks)
    store = backend.reopen(store)
    assert sorted(store.documents) == ["d2", "d3"] and len(store.chunks) == 2


def test_regions_and_offset_maps_survive(backend, tiny_encoder):
    store = backend.make()
    store.add_documents([SCAN], tiny_encoder)
    store = backend.reopen(store)
    sd = store.documents["scan"]
    assert sd.document.locations == SCAN.locations and sd.document.source == "scan.png"
    i = sd.norm.text.index("10万个")
    start, end = sd.norm.to_original(i, i + len("10万个"))
    assert SCAN.text[start:end] == "10万个"
    assert [r.box for r in sd.document.regions_for(start, end)] == [(10.0, 50.0, 420.0, 74.0)]


def test_encoder_mismatch_is_refused(backend, tiny_encoder):
    store = backend.make()
    store.add_documents(DOCS, tiny_encoder)
    if backend.name == "local":
        path = store.save(backend.tmp / "idx")
        with pytest.raises(StoreError, match="encoder"):
            IndexStore.load(path, "other-encoder", tiny_encoder.info.dimension)
    else:
        from index.store.milvus import MilvusStore

        store.close()
        with pytest.raises(StoreError, match="encoder"):
            MilvusStore.open(str(backend.tmp / "x.db"), "t", "other-encoder")


def test_hybrid_retrieval_ranks_alike_on_both_backends(tmp_path, tiny_encoder):
    """Both backends fuse through the same Retriever: the same passages come first for each question."""
    ranked = {}
    for name in ("local", "milvus"):
        backend = Backend(name, tmp_path, tiny_encoder)
        store = backend.make()
        store.add_documents(DOCS + [SCAN], tiny_encoder)
        retriever = Retriever(store, tiny_encoder)
        ranked[name] = [[h.chunk.chunk_id for h in retriever.retrieve(q, 3)] for q in QUESTIONS]
        for mode in ("dense", "bm25"):
            ranked[f"{name}-{mode}"] = [[h.chunk.chunk_id for h in retriever.retrieve(q, 3, mode)] for q in QUESTIONS]
        backend.close()
    assert ranked["local-dense"] == ranked["milvus-dense"]
    assert [r[:1] for r in ranked["local-bm25"]] == [r[:1] for r in ranked["milvus-bm25"]]
    assert [r[:1] for r in ranked["local"]] == [r[:1] for r in ranked["milvus"]]


def test_a_bot_answers_from_a_milvus_index_with_offsets_into_the_original(tmp_path, tiny_encoder_path,
                                                                           tiny_qa_model, monkeypatch):
    from qa.bot import QABot
    from qa.config import Config

    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model), threshold=0.0, backend="milvus",
                    milvus_uri=str(tmp_path / "bot.db"), milvus_collection="b", chunk_size=60, chunk_overlap=10)
    from index.embed import get_encoder
    from index.store.milvus import MilvusStore

    encoder = get_encoder(config.encoder)
    store = MilvusStore.open(config.milvus_uri, "b", config.encoder, encoder.info.dimension, create=True,
                             chunk_size=60, chunk_overlap=10)
    store.add_documents(DOCS + [SCAN], encoder)
    store.close()
    bot = QABot.from_milvus(config)
    answer = bot.ask("菜鸟驿站有多少个？")
    assert not answer.abstained and answer.text
    assert bot.store.documents[answer.doc_id].document.text[answer.start:answer.end] == answer.text
    bot.add_documents([Document("d4", "星河", "星河公司的创始人是李明远。", "mem")])
    assert "d4" in bot.store.documents
    assert bot.remove_documents(["d4"]) == 1 and "d4" not in bot.store.documents
    bot.store.close()


def test_a_write_interrupted_before_its_switch_leaves_the_previous_version_and_no_rows(tmp_path, tiny_encoder,
                                                                                     monkeypatch):
    store = Backend("milvus", tmp_path, tiny_encoder).make()
    store.add_documents(DOCS, tiny_encoder)
    real_upsert = store._client.upsert

    def die_on_switch(collection, rows, **kw):
        if any(r.get("kind") == "live" for r in rows):
            raise KeyboardInterrupt("interrupted")
        return real_upsert(collection, rows, **kw)

    monkeypatch.setattr(store._client, "upsert", die_on_switch)
    with pytest.raises(KeyboardInterrupt):
        store.add_documents([Document("d3", "钉钉", "钉钉用户超9亿。", "mem")], tiny_encoder)
    monkeypatch.setattr(store._client, "upsert", real_upsert)
    rows = store._client.query(store.chunks_name, filter='doc_id == "d3"', output_fields=["text"])
    assert [r["text"] for r in rows] == [DOCS[2].text]   # what it had written was deleted on the way out
    assert store.documents["d3"].document.text == DOCS[2].text
    store.close()


def test_debris_of_a_killed_write_is_skipped_then_deleted_once_old(tmp_path, tiny_encoder, monkeypatch):
    """A SIGKILLed writer leaves chunks of a version that never went live: readers skip them; the next
    write of that document deletes them once they are an hour old (a younger one may be another
    writer's, still in flight)."""
    from index.store import milvus

    store = Backend("milvus", tmp_path, tiny_encoder).make()
    store.add_documents(DOCS, tiny_encoder)
    monkeypatch.setattr(store, "_forget_version", lambda doc_ids, version: None)   # as if killed
    monkeypatch.setattr(store, "_call", lambda method, *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt())
                        if method == "upsert" and any(r.get("kind") == "live" for r in a[1]) else
                        getattr(store._client, method)(*a, **kw))
    with pytest.raises(KeyboardInterrupt):
        store.add_documents([Document("d3", "钉钉", "钉钉用户超9亿。", "mem")], tiny_encoder)
    monkeypatch.undo()
    store = Backend("milvus", tmp_path, tiny_encoder).reopen(store)
    assert [c.text for c in store.chunks if c.doc_id == "d3"] == [DOCS[2].text]
    assert all("9亿" not in store.chunks[r].text for r, _ in store.bm25_search("钉钉用户超9亿", 10))
    assert store.bm25_known(["9亿", "6亿"]) == [False, True], "the debris's words are not the documents'"
    assert store.bm25_coverage("9亿") < 1.0 == store.bm25_coverage("6亿"), "only 亿 of 9亿 is in a live chunk"
    store.add_documents([Document("d3", "钉钉", "钉钉用户超8亿。", "mem")], tiny_encoder)
    texts = sorted(r["text"] for r in store._client.query(store.chunks_name, filter='doc_id == "d3"',
                                                           output_fields=["text"]))
    assert texts == ["钉钉用户超8亿。", "钉钉用户超9亿。"]   # young debris kept (could be in flight)
    monkeypatch.setattr(milvus, "ORPHAN_AGE_S", -1.0)   # now it is an hour old
    store.add_documents([Document("d3", "钉钉", "钉钉用户超7亿。", "mem")], tiny_encoder)
    texts = [r["text"] for r in store._client.query(store.chunks_name, filter='doc_id == "d3"', output_fields=["text"])]
    assert texts == ["钉钉用户超7亿。"]
    store.close()


def test_decimals_and_percentages_are_single_bm25_tokens_on_both_backends(backend, tiny_encoder):
    store = backend.make()
    store.add_documents(DOCS + [Document("d5", "比例", "女性管理人员占比41.9%，高级管理人员占比25%。", "mem")],
                        tiny_encoder)
    assert _doc_ids(store, store.bm25_search("2290.7万吨", 1)) == ["d2"]
    assert _doc_ids(store, store.bm25_search("41.9%", 1)) == ["d5"]
    assert store.bm25_coverage("2290.7") == 1.0 and store.bm25_coverage("2290.8") == 0.0


def test_milvus_errors_are_one_line(tmp_path, tiny_encoder):
    from index.store.milvus import MilvusStore

    with pytest.raises(StoreError, match="no zhqa index"):
        MilvusStore.open(str(tmp_path / "none.db"))
    assert not (tmp_path / "none.db").exists()   # asking never creates an index
    with pytest.raises(StoreError, match="ending in .db"):
        MilvusStore.open(str(tmp_path / "x.sqlite"))
    (tmp_path / "notes.db").mkdir()
    (tmp_path / "notes.db" / "notes.txt").write_text("mine")
    for create in (False, True):   # a folder of the user's files is neither read nor written into
        with pytest.raises(StoreError, match="a folder of other files, not a milvus-lite database"):
            MilvusStore.open(str(tmp_path / "notes.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=create)
    assert [p.name for p in (tmp_path / "notes.db").iterdir()] == ["notes.txt"]
    with pytest.raises(StoreError, match="collection name"):
        MilvusStore.open(str(tmp_path / "x.db"), "bad-name")
    with pytest.raises(StoreError, match="cannot reach Milvus"):
        MilvusStore.open(f"http://127.0.0.1:{_free_port()}")
    store = Backend("milvus", tmp_path, tiny_encoder).make()
    try:   # milvus-lite serves one process: a second one is told how to share the data
        out = subprocess.run([sys.executable, "-c", "import sys; from index.store.milvus import MilvusStore\n"
                              "from index.store import StoreError\n"
                              f"try: MilvusStore.open({str(tmp_path / 'x.db')!r}, 't')\n"
                              "except StoreError as e: print(e); sys.exit(2)"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and "milvus-lite server" in out.stdout, out.stdout + out.stderr
    finally:
        store.close()


def test_a_milvus_index_is_not_made_with_chunking_it_cannot_keep(tmp_path, tiny_encoder):
    from index.store.milvus import MilvusStore

    for size, overlap, message in ((5, 0, "chunk size must be >= 20"), (250, 500, "overlap in \\[0, size\\)"),
                                   (100_000, 60, "at most 16,000 characters")):
        with pytest.raises(StoreError, match=message):
            MilvusStore.open(str(tmp_path / "cs.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=True, chunk_size=size, chunk_overlap=overlap)
        with pytest.raises(StoreError, match="no zhqa index 't'"):   # no index was made
            MilvusStore.open(str(tmp_path / "cs.db"), "t")
    store = MilvusStore.open(str(tmp_path / "cs.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=True, chunk_size=60, chunk_overlap=10)
    store.close()
    # an existing index keeps its own chunking, whatever a later run asks for
    store = MilvusStore.open(str(tmp_path / "cs.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=True, chunk_size=5, chunk_overlap=0)
    try:
        store.add_documents(DOCS[:1], tiny_encoder)
        assert store.chunk_size == 60 and list(store.documents) == ["d1"]
    finally:
        store.close()
    with pytest.raises(StoreError, match="at most 201 characters"):
        MilvusStore.open(str(tmp_path / "x.db"), "a" * 202)


def test_a_milvus_index_whose_first_write_stopped_half_way_is_completed(tmp_path, tiny_encoder):
    """A first ``qa index`` killed between creating the two collections, or before the manifest: the
    next one finishes the index instead of failing with 'already exists' for ever."""
    from pymilvus import MilvusClient

    from index.store.milvus import MilvusStore

    real = MilvusClient.create_collection
    made = []

    def die_on_the_second(self, name, *a, **k):
        if made:
            raise KeyboardInterrupt
        made.append(name)
        return real(self, name, *a, **k)

    MilvusClient.create_collection = die_on_the_second
    try:
        with pytest.raises(KeyboardInterrupt):
            MilvusStore.open(str(tmp_path / "k.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension, create=True)
    finally:
        MilvusClient.create_collection = real
    with pytest.raises(StoreError, match="no zhqa index 't'"):   # asking: nothing half-made is taken as an index
        MilvusStore.open(str(tmp_path / "k.db"), "t")
    from index.store.milvus import _vector_dimension, connect

    # the next run may bring another encoder: the empty half-made collection is made again for its vectors
    MilvusStore.open(str(tmp_path / "k.db"), "t", "another-encoder", tiny_encoder.info.dimension + 2,
                     create=True).close()
    client = connect(str(tmp_path / "k.db"))
    assert _vector_dimension(client, "t_chunks") == tiny_encoder.info.dimension + 2
    client.drop_collection("t_docs")   # stopped half way again, this time after the chunks collection
    client.close()
    store = MilvusStore.open(str(tmp_path / "k.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=True, chunk_size=60, chunk_overlap=10)
    try:
        store.add_documents(DOCS[:1], tiny_encoder)
        assert list(store.documents) == ["d1"]
    finally:
        store.close()


def test_collections_made_by_something_else_are_named_not_used(tmp_path, tiny_encoder):
    from pymilvus import MilvusClient

    from index.store.milvus import MilvusStore

    client = MilvusClient(str(tmp_path / "f.db"))
    client.create_collection("t_docs", dimension=4)   # pymilvus' quick form: id and vector fields
    client.close()
    for create in (False, True):
        with pytest.raises(StoreError, match="'t_docs' exists and was not made by zhqa.*another --milvus-collection"):
            MilvusStore.open(str(tmp_path / "f.db"), "t", tiny_encoder.name, tiny_encoder.info.dimension,
                             create=create)


def test_milvus_configuration_mistakes_are_named(tmp_path, monkeypatch):
    from qa.bot import ask
    from qa.config import Config

    with pytest.raises(StoreError, match="a Milvus URI is set .* but the backend is 'local'"):
        ask("钉钉用户有多少？", config=Config(milvus_uri=str(tmp_path / "x.db")))
    from qa.cli import build_parser
    from qa.options import check_backend

    config = Config(milvus_uri=str(tmp_path / "x.db"))
    for argv, refused in ((["ask", "问题"], True), (["ask", "问题", "--index", str(tmp_path)], False),
                          (["eval", str(tmp_path / "set.json")], False)):
        assert bool(check_backend(config, build_parser().parse_args(argv))) is refused, argv
    with pytest.raises(StoreError, match="the Milvus backend needs a URI"):
        ask("钉钉用户有多少？", config=Config(backend="milvus"))
    monkeypatch.setenv("ZHQA_MILVUS_TIMEOUT", "abc")
    from index.store.milvus import connect

    with pytest.raises(StoreError, match="^ZHQA_MILVUS_TIMEOUT must be a number of seconds"):
        connect("http://127.0.0.1:9")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def milvus_server(tmp_path):
    """A milvus-lite server on loopback, as a Milvus server on another machine would be reached."""
    port = _free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "milvus-lite")
    proc = subprocess.Popen([exe, "server", "--data-dir", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None:
            pytest.fail(f"milvus-lite server did not start: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


_WRITER = """
import sys
from index.documents import Document
from index.embed import Encoder
from index.store.milvus import MilvusStore
uri, tag, n, enc_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
encoder = Encoder(enc_path)
store = MilvusStore.open(uri, "shared", encoder.name, encoder.info.dimension, create=True, chunk_size=60,
                         chunk_overlap=10)
for i in range(n):
    store.add_documents([Document(f"{tag}{i}", f"{tag}{i}", f"第{i}篇文档，来自写入者{tag}。", "mem")], encoder)
"""


def test_two_processes_write_one_server_and_a_reader_sees_both(milvus_server, tmp_path, tiny_encoder,
                                                               tiny_encoder_path):
    from index.store.milvus import MilvusStore

    reader = MilvusStore.open(milvus_server, "shared", tiny_encoder.name, tiny_encoder.info.dimension,
                              create=True, chunk_size=60, chunk_overlap=10)
    n = 10
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, milvus_server, tag, str(n), str(tiny_encoder_path)],
                              stderr=subprocess.PIPE) for tag in ("a", "b")]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read().decode()[-800:]
    assert reader.refresh() is True   # another process wrote: the document list is reloaded
    assert sorted(reader.documents) == sorted(f"{t}{i}" for t in "ab" for i in range(n))
    assert len(reader.chunks) == 2 * n
    top = reader.bm25_search("来自写入者b", 3)
    assert top and reader.chunks[top[0][0]].doc_id.startswith("b")
    reader.close()


def test_a_milvus_index_whose_encoder_cannot_be_loaded_says_it_is_the_index_s(tmp_path, capsys, monkeypatch):
    from index.store.milvus import MilvusStore
    from qa.cli import main

    uri = str(tmp_path / "e.db")
    MilvusStore.open(uri, "zhqa", "someone/a-model-nobody-has-cached", 8, create=True).close()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ZHQA_ENCODER", raising=False)
    assert main(["ask", "钉钉用户有多少？", "--backend", "milvus", "--milvus-uri", uri]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {uri} was built with the encoder 'someone/a-model-nobody-has-cached', "
                          "which cannot be loaded here; "), err
    assert err.count("\n") == 1 and "Traceback" not in err
