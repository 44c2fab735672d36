"""Store scale: build, add-one-document, search latency, memory and disk, local vs Milvus (milvus-lite).

    python benchmarks/scale.py --sizes 10000 100000            # synthetic passages, both backends
    python benchmarks/scale.py --sizes 10000 --backends local  # one backend
    python benchmarks/scale.py --parity --limit 1000           # R@1/R@5 on the real CMRC2018 + DRCD dev index

Synthetic (labelled so in the output): each passage is one document of 60 words drawn from a
50,000-word vocabulary with Zipf frequencies (a = 1.1), and its vector is a random unit vector
seeded by its text; embedding a million real passages is out of reach on 2 cores. Queries: 200
random unit vectors and 200 four-word Zipf queries. Each (size, backend) runs in its own process,
so resident memory is that backend's alone. For the local store, "served" is a fresh process that
opens the saved index and answers 20 hybrid searches, as a bot serving it does: its resident memory,
its peak, the share above the same process's imports (the store's own), the time to its first answer
and its hybrid search latency. An approximate FAISS index (HNSW, which ``--faiss auto`` picks from
200,000 passages) is also scored against exact search: the share of the exact top 5 it returns.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"
DIM = 384
VOCAB = 50_000
WORDS = 60


class SyntheticEncoder:
    """Unit vectors seeded by the text: the store's work without a model's."""

    name = "synthetic-384"

    class info:   # noqa: N801 (the Encoder's info attribute)
        dimension = DIM

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts, progress: bool = False):
        return np.stack([self._vec(t) for t in texts])

    def encode_queries(self, texts):
        return self.encode_passages(texts)


def _vocabulary(rng) -> list[str]:
    codes = rng.integers(0x4E00, 0x9FA5, size=(VOCAB, 2))
    return [chr(a) + chr(b) for a, b in codes]


def _zipf_words(rng, vocab: list[str], n: int) -> list[str]:
    ranks = np.minimum(rng.zipf(1.1, n), VOCAB) - 1
    return [vocab[r] for r in ranks]


def _documents(n: int, seed: int = 0):
    from index.documents import Document

    rng = np.random.default_rng(seed)
    vocab = _vocabulary(np.random.default_rng(1))
    for i in range(n):
        yield Document(f"s{i}", "", " ".join(_zipf_words(rng, vocab, WORDS)), "synthetic")


def _status_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from /proc (VmRSS: resident now; VmHWM: its peak), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def serve_memory(path: Path) -> dict:
    """Resident memory of a process that opens the saved local index and searches it (hybrid)."""
    import importlib

    for module in ("bm25s", "faiss"):   # imported by any search: counted in the baseline, not the store
        importlib.import_module(module)

    from index.bm25 import tokenize
    from index.store import IndexStore
    from qa.retrieve import Retriever

    tokenize("预热")   # jieba's dictionary and OpenCC: part of any process that searches
    base = _rss_mb()
    t0 = time.perf_counter()
    store = IndexStore.load(path)
    retriever = Retriever(store, SyntheticEncoder())
    rng = np.random.default_rng(11)
    vocab = _vocabulary(np.random.default_rng(1))
    retriever.retrieve(" ".join(_zipf_words(rng, vocab, 4)), 5, "hybrid")   # BM25 is indexed here
    ready_s = time.perf_counter() - t0
    took = []
    for _ in range(100):
        t = time.perf_counter()
        retriever.retrieve(" ".join(_zipf_words(rng, vocab, 4)), 5, "hybrid")
        took.append((time.perf_counter() - t) * 1000)
    out = {"imports_rss_mb": base, "served_rss_mb": _rss_mb(), "served_peak_mb": _status_mb("VmHWM"),
           "served_ready_s": ready_s, "served_hybrid_p50_ms": statistics.median(took),
           "served_hybrid_p95_ms": _pct(took, 0.95), "faiss": store.faiss_kind}
    if store.faiss_kind != "flat":   # measured last: the exact search reads every vector
        from index.store.vectors import top_inner_product

        found = 0
        for v in SyntheticEncoder().encode_queries([f"recall {i}" for i in range(50)]):
            exact = {r for r, _ in top_inner_product(store.vectors, v, 5)}
            found += len(exact & {r for r, _ in store.dense_search(v, 5)})
        out["recall_vs_exact"] = found / (5 * 50)
    return out


def bulk_build(size: int, path: Path, faiss_kind: str = "auto", batch: int = 50_000) -> dict:
    """Build a synthetic index of ``size`` passages quickly, for the served figures at sizes the
    pipeline takes hours to build on 2 cores: each passage's document is stored as written (no
    normalization pass; the text is already normal) and its BM25 tokens are jieba's tokens of each of
    its words, tokenized once per distinct word (the words are space-separated, so this equals
    tokenizing the passage). The store's own code adds, indexes and saves it."""
    from tqdm import tqdm

    import index.store.local as local
    from index.bm25 import tokenize
    from index.chunk import Chunk
    from index.normalize import NormalizedText
    from index.store import IndexStore
    from index.store.prepare import AddReport, PreparedBatch, StoredDocument, document_checksum

    encoder = SyntheticEncoder()
    memo: dict[str, list[str]] = {}

    def word_tokens(text: str) -> list[str]:
        out = []
        for w in text.split(" "):
            if w not in memo:
                memo[w] = tokenize(w)
            out.extend(memo[w])
        return out

    store = IndexStore(encoder.name, DIM, chunk_size=1000, chunk_overlap=0, faiss_kind=faiss_kind)
    real_tokenize, local.tokenize = local.tokenize, word_tokens
    t0 = time.perf_counter()
    try:
        bar = tqdm(total=size, desc=f"bulk {size:,}", unit="passage", file=sys.stderr, mininterval=10)
        docs = _documents(size)
        for start in range(0, size, batch):
            part = [next(docs) for _ in range(min(batch, size - start))]
            stored = [StoredDocument(d, NormalizedText(d.text, array("i", range(len(d.text) + 1))),
                                     document_checksum(d)) for d in part]
            chunks = [Chunk(f"{d.id}#0", d.id, d.title, d.text, 0, len(d.text), 0, len(d.text)) for d in part]
            texts = [c.text for c in chunks]
            store.add_prepared(PreparedBatch(AddReport([d.id for d in part], [], [], len(chunks)), stored, chunks,
                                             texts, encoder.encode_passages(texts)))
            bar.update(len(part))
        bar.close()
        built_s = time.perf_counter() - t0
        store.faiss_index   # HNSW from 200k passages under 'auto': built here, once
        graph_s = time.perf_counter() - t0 - built_s
        store.save(path)
    finally:
        local.tokenize = real_tokenize
    out = {"size": size, "faiss": store.faiss_kind, "bulk_add_s": built_s, "graph_s": graph_s,
           "total_s": time.perf_counter() - t0, "disk_mb": _du_mb(path)}
    _note(json.dumps(out))
    return out


def _du_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _pct(v: list[float], q: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def _settle(store, path: Path) -> None:
    """Make a write durable and searchable: the local store builds FAISS and BM25 (lazily otherwise,
    at the first search) and saves; Milvus flushes (its indexes are built as rows arrive)."""
    if hasattr(store, "_bm25_index"):
        store._bm25_index()
        store.faiss_index
        store.save(path)
    else:
        store.save()


def _note(text: str) -> None:
    """A phase's figure on stderr as it is measured (a long run shows what it has so far)."""
    print(f"[scale] {text}", file=sys.stderr, flush=True)


def run_one(size: int, backend: str, workdir: Path, batch: int = 2000, faiss_kind: str = "auto") -> dict:
    """Build a synthetic index of ``size`` passages on ``backend`` in this process and measure it."""
    from tqdm import tqdm

    from index.store import IndexStore
    from qa.retrieve import Retriever

    encoder = SyntheticEncoder()
    rss0 = _rss_mb()
    path = workdir / ("idx" if backend == "local" else "x.db")
    if backend == "local":
        store = IndexStore(encoder.name, DIM, chunk_size=1000, chunk_overlap=0, faiss_kind=faiss_kind)
    else:
        from index.store.milvus import MilvusStore

        store = MilvusStore.open(str(path), "scale", encoder.name, DIM, create=True, chunk_size=1000, chunk_overlap=0)
    docs = list(_documents(size))
    t0 = time.perf_counter()
    bar = tqdm(total=size, desc=f"{backend} {size:,}", unit="passage", file=sys.stderr, mininterval=10)
    for i in range(0, size, batch):
        store.add_documents(docs[i:i + batch], encoder)
        bar.update(len(docs[i:i + batch]))
    bar.close()
    _settle(store, path)
    build_s = time.perf_counter() - t0
    _note(f"built and saved in {build_s:.1f} s, RSS {_rss_mb():.0f} MB")
    extra = next(_documents(1, seed=99))
    update_s = None
    if backend == "local":   # what 'qa index FILE --index DIR' does: the document list only, one more segment
        from index.store.update import IndexUpdate

        t0 = time.perf_counter()
        update = IndexUpdate.open(path)
        update.add_documents([type(extra)("added-by-update", "", extra.text + " 更新", "synthetic")], encoder)
        update.save(path)
        update_s = time.perf_counter() - t0
        _note(f"'qa index' added one in {update_s:.2f} s")
        store = IndexStore.load(path)
        store.faiss_index
        store._bm25_index()
    t0 = time.perf_counter()
    store.add_documents([type(extra)("added-one", "", extra.text, "synthetic")], encoder)
    if backend == "local":
        store.save(path)     # durable: a new segment and manifest (index/store/segments.py)
    else:
        store.save()         # durable: flushed
    add_one_s = time.perf_counter() - t0
    _note(f"a loaded store added one in {add_one_s:.2f} s")
    rng = np.random.default_rng(7)
    vocab = _vocabulary(np.random.default_rng(1))
    queries = [" ".join(_zipf_words(rng, vocab, 4)) for _ in range(200)]
    t0 = time.perf_counter()
    Retriever(store, encoder).retrieve(queries[0], 5, "hybrid")   # local: BM25 is re-indexed here
    first_search_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if backend == "local":   # served as after 'qa index': loaded afresh from disk
        store = IndexStore.load(path)
    else:
        store.close()
        store = MilvusStore.open(str(path), "scale", encoder.name, DIM)
    open_s = time.perf_counter() - t0
    _note(f"opened in {open_s:.2f} s")
    retriever = Retriever(store, encoder)
    recall = None
    if backend == "local" and store.faiss_kind != "flat":   # what an approximate index loses: top 5 vs exact
        from index.store.vectors import top_inner_product

        found = 0
        for v in encoder.encode_queries(queries[:100]):
            exact = {r for r, _ in top_inner_product(store.vectors, v, 5)}
            found += len(exact & {r for r, _ in store.dense_search(v, 5)})
        recall = found / (5 * 100)
    lat: dict[str, list[float]] = {"dense": [], "bm25": [], "hybrid": []}
    for mode in lat:
        retriever.retrieve(queries[0], 5, mode)   # warm caches
        for q in queries:
            t = time.perf_counter()
            retriever.retrieve(q, 5, mode)
            lat[mode].append((time.perf_counter() - t) * 1000)
    served = {}
    if backend == "local":
        proc = subprocess.run([sys.executable, __file__, "--serve", str(path)], stdout=subprocess.PIPE, text=True,
                              check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        served = json.loads(proc.stdout.strip().splitlines()[-1])
    out = {**served, "size": size, "backend": backend, "build_s": build_s, "add_one_s": add_one_s,
           "faiss": getattr(store, "faiss_kind", "milvus hnsw"), "recall_vs_exact": recall,
           "first_search_s": first_search_s, "open_s": open_s, "update_s": update_s,
           "rss_mb": _rss_mb(), "rss_growth_mb": _rss_mb() - rss0, "disk_mb": _du_mb(path)}
    for mode, v in lat.items():
        out[f"{mode}_p50_ms"], out[f"{mode}_p95_ms"] = statistics.median(v), _pct(v, 0.95)
    if backend != "local":
        store.close()
    return out


def parity(limit: int) -> list[tuple]:
    """R@1/R@5 of both backends on one real index (CMRC2018 dev + DRCD dev), embedded once."""
    from tqdm import tqdm

    from index.embed import get_encoder
    from index.ingest import read_paths
    from index.readers.squad import load_squad
    from index.store import IndexStore
    from index.store.milvus import MilvusStore
    from qa.config import Config
    from qa.evaluation.metrics import gold_rank, recall_at_k
    from qa.retrieve import Retriever

    config = Config()
    real = get_encoder(config.encoder)

    class Cached:
        """The real encoder, each text embedded once for both backends."""
        name, info = real.name, real.info
        memo: dict[str, np.ndarray] = {}

        def encode_passages(self, texts, progress=False):
            todo = [t for t in texts if t not in self.memo]
            if todo:
                for t, v in zip(todo, real.encode_passages(todo)):
                    self.memo[t] = v
            return np.stack([self.memo[t] for t in texts])

        def encode_queries(self, texts):
            key = ["query\0" + t for t in texts]
            todo = [t for t, k in zip(texts, key) if k not in self.memo]
            if todo:
                for t, v in zip(todo, real.encode_queries(todo)):
                    self.memo["query\0" + t] = v
            return np.stack([self.memo[k] for k in key])

    enc = Cached()
    paths = [SHARED / "data/cmrc2018/cmrc2018_dev.json", SHARED / "data/drcd/DRCD_dev.json"]
    docs = read_paths(paths).documents
    tmp = Path(tempfile.mkdtemp(prefix="zhqa-parity-"))
    stores = {"local": IndexStore(config.encoder, real.info.dimension, config.chunk_size, config.chunk_overlap),
              "milvus": MilvusStore.open(str(tmp / "p.db"), "parity", config.encoder, real.info.dimension,
                                         create=True, chunk_size=config.chunk_size,
                                         chunk_overlap=config.chunk_overlap)}
    for name, store in stores.items():
        store.add_documents(docs, enc, progress=True)
    stores["milvus"].close()   # served as after 'qa index': a new connection to the written database
    stores["milvus"] = MilvusStore.open(str(tmp / "p.db"), "parity", config.encoder, real.info.dimension)
    rows = []
    for label, path in (("cmrc", paths[0]), ("drcd", paths[1])):
        questions = load_squad(path).questions[:limit]
        for mode in ("dense", "bm25", "hybrid"):
            for name, store in stores.items():
                retriever = Retriever(store, enc, mode=mode)
                ranks = [gold_rank([h.chunk.doc_id for h in retriever.retrieve(q.question, 5)], q.paragraph_id)
                         for q in tqdm(questions, desc=f"{label} {mode} {name}", file=sys.stderr, mininterval=10)]
                rows.append((label, mode, name, len(ranks), 100 * recall_at_k(ranks, 1), 100 * recall_at_k(ranks, 5)))
    stores["milvus"].close()
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000], help="synthetic passages per index")
    ap.add_argument("--backends", nargs="+", default=["local", "milvus"], choices=["local", "milvus"])
    ap.add_argument("--parity", action="store_true", help="also R@1/R@5 of both backends on the real dev index")
    ap.add_argument("--limit", type=int, default=1000, help="questions per set for --parity")
    ap.add_argument("--faiss", default="auto", choices=["auto", "flat", "hnsw", "ivf"],
                    help="the local store's FAISS kind (auto: flat, then HNSW from 200k passages)")
    ap.add_argument("--served", type=int, metavar="SIZE",
                    help="only the served figures of a local index of SIZE synthetic passages built in bulk "
                         "(see bulk_build): opened twice, BM25 indexed at the first and memory-mapped at the second")
    ap.add_argument("--one", nargs=2, metavar=("SIZE", "BACKEND"), help=argparse.SUPPRESS)
    ap.add_argument("--serve", metavar="INDEX", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        print(json.dumps(serve_memory(Path(args.serve))))
        return 0
    if args.served:
        with tempfile.TemporaryDirectory(prefix="zhqa-served-") as d:
            path = Path(d) / "idx"
            built = bulk_build(args.served, path, args.faiss)
            opens = []
            for label in ("first open (BM25 indexed and kept)", "second open (kept BM25 memory-mapped)"):
                proc = subprocess.run([sys.executable, __file__, "--serve", str(path)], stdout=subprocess.PIPE,
                                      text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
                opens.append((label, json.loads(proc.stdout.strip().splitlines()[-1])))
                _note(f"{label}: {opens[-1][1]}")
        print(f"\n== {args.served:,} synthetic passages built in bulk in {built['total_s']:.0f} s "
              f"(FAISS {built['faiss']}, graph {built['graph_s']:.0f} s, {built['disk_mb']:.0f} MB on disk) ==")
        print(f"{'served':<40} {'ready s':>8} {'hybrid p50/p95 ms':>18} {'RSS MB':>7} {'peak MB':>8} "
              f"{'store MB':>9} {'recall@5 vs exact':>17}")
        for label, r in opens:
            rec = "exact" if r.get("recall_vs_exact") is None else f"{100 * r['recall_vs_exact']:.1f}%"
            print(f"{label:<40} {r['served_ready_s']:>8.2f} {r['served_hybrid_p50_ms']:>8.1f}/"
                  f"{r['served_hybrid_p95_ms']:<9.1f} {r['served_rss_mb']:>7.0f} {r['served_peak_mb']:>8.0f} "
                  f"{r['served_rss_mb'] - r['imports_rss_mb']:>9.0f} {rec:>17}")
        return 0
    if args.one:
        with tempfile.TemporaryDirectory(prefix="zhqa-scale-") as d:
            print(json.dumps(run_one(int(args.one[0]), args.one[1], Path(d), faiss_kind=args.faiss)))
        return 0
    results = []
    for size in args.sizes:
        for backend in args.backends:
            proc = subprocess.run([sys.executable, __file__, "--one", str(size), backend, "--faiss", args.faiss],
                                  stdout=subprocess.PIPE,
                                  text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            if proc.returncode != 0:
                print(f"{backend} at {size:,} failed (exit {proc.returncode})", file=sys.stderr)
                continue
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if results:
        print("\n== synthetic passages (random unit vectors, Zipf words; not real text) ==")
        print("update = 'qa index' adding one document to the saved index (no passage loaded); add one = a "
              "loaded store adds one and makes it durable; 1st search = the first hybrid search after it "
              "(local: BM25 re-indexed); open = load the saved index afresh")
        print(f"{'passages':>9} {'backend':<7} {'build s':>8} {'update s':>8} {'add one s':>9} {'1st search s':>12} {'open s':>7} "
              f"{'dense p50/p95 ms':>17} {'bm25 p50/p95 ms':>16} {'hybrid p50/p95 ms':>18} {'RSS MB':>7} {'disk MB':>8}")
        for r in results:
            upd = "–" if r.get("update_s") is None else f"{r['update_s']:.2f}"
            print(f"{r['size']:>9,} {r['backend']:<7} {r['build_s']:>8.1f} {upd:>8} {r['add_one_s']:>9.2f} "
                  f"{r.get('first_search_s', float('nan')):>12.2f} {r.get('open_s', float('nan')):>7.2f} "
                  f"{r['dense_p50_ms']:>8.1f}/{r['dense_p95_ms']:<8.1f} {r['bm25_p50_ms']:>7.1f}/{r['bm25_p95_ms']:<8.1f} "
                  f"{r['hybrid_p50_ms']:>8.1f}/{r['hybrid_p95_ms']:<9.1f} {r['rss_mb']:>7.0f} {r['disk_mb']:>8.1f}")
        served = [r for r in results if "served_rss_mb" in r]
        if served:
            print("\nserved = a fresh process opens the saved index, searches once (ready s: BM25 indexed) and times "
                  "100 hybrid searches (local only)")
            print(f"{'passages':>9} {'faiss':<6} {'recall@5 vs exact':>17} {'served RSS MB':>13} {'peak MB':>8} "
                  f"{'imports MB':>10} {'store MB':>9} {'ready s':>8} {'hybrid p50/p95 ms':>18}")
            for r in served:
                rec = "exact" if r.get("recall_vs_exact") is None else f"{100 * r['recall_vs_exact']:.1f}%"
                print(f"{r['size']:>9,} {r['faiss']:<6} {rec:>17} {r['served_rss_mb']:>13.0f} "
                      f"{r['served_peak_mb']:>8.0f} {r['imports_rss_mb']:>10.0f} "
                      f"{r['served_rss_mb'] - r['imports_rss_mb']:>9.0f} {r['served_ready_s']:>8.2f} "
                      f"{r['served_hybrid_p50_ms']:>8.1f}/{r['served_hybrid_p95_ms']:<9.1f}")
    if args.parity:
        rows = parity(args.limit)
        print("\n== retrieval parity on CMRC2018 dev + DRCD dev (real passages, embedded once) ==")
        print(f"{'set':<5} {'mode':<7} {'backend':<7} {'n':>5} {'R@1':>6} {'R@5':>6}")
        for r in rows:
            print(f"{r[0]:<5} {r[1]:<7} {r[2]:<7} {r[3]:>5} {r[4]:>6.1f} {r[5]:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
