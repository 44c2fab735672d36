"""Index build speed, retrieval recall (BM25 / dense / hybrid) and ask() latency on this machine.

    python benchmarks/retrieval.py --limit 1000        # questions per set for recall
    python benchmarks/retrieval.py --skip-large        # bundled article only

Corpus for recall: every paragraph of CMRC2018 dev + DRCD dev (one index, so each question
competes against both sets); the gold passage is any chunk of the question's own paragraph.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _pct(v: list[float], q: float) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmrc", default=str(SHARED / "data/cmrc2018/cmrc2018_dev.json"))
    ap.add_argument("--drcd", default=str(SHARED / "data/drcd/DRCD_dev.json"))
    ap.add_argument("--limit", type=int, default=1000, help="questions per set for recall")
    ap.add_argument("--latency-questions", type=int, default=40)
    ap.add_argument("--skip-large", action="store_true", help="only the bundled article")
    ap.add_argument("--hybrid", default="zscore:0.45",
                    help="comma-separated hybrid fusions to compare, e.g. zscore:0.45,weighted:0.4,rrf "
                         "(FUSION:W = dense weight W; the first is the default's row)")
    ap.add_argument("--keep-index", metavar="DIR",
                    help="save the large index here, or load it if present (skips the rebuild)")
    args = ap.parse_args()

    import subprocess

    from tqdm import tqdm

    from index.embed import get_encoder
    from index.ingest import read_paths
    from index.readers.squad import load_squad
    from index.store import IndexStore
    from qa.bot import QABot
    from qa.cli import DEMO_QUESTIONS
    from qa.config import SAMPLE_ARTICLE, Config
    from qa.evaluation.metrics import gold_rank, mrr_at_k, recall_at_k
    from qa.retrieve import Retriever

    # cold start: a fresh process, models already converted in the cache
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "ask", DEMO_QUESTIONS[0]], check=True, capture_output=True)
    cold = time.perf_counter() - t

    config = Config()
    encoder = get_encoder(config.encoder)
    rows_build = []

    def build(paths, label):
        docs = read_paths(paths).documents
        store = IndexStore(config.encoder, encoder.info.dimension, config.chunk_size, config.chunk_overlap)
        t0 = time.perf_counter()
        store.add_documents(docs, encoder, progress=True)
        dt = time.perf_counter() - t0
        rows_build.append((label, len(docs), len(store.chunks), dt, len(store.chunks) / dt))
        return store

    article = build([SAMPLE_ARTICLE], "bundled article")
    bot = QABot(article, config)
    qs = [q for q in DEMO_QUESTIONS] * max(1, args.latency_questions // len(DEMO_QUESTIONS))
    bot.ask(qs[0])
    lat = []
    for q in qs:
        t0 = time.perf_counter()
        bot.ask(q)
        lat.append((time.perf_counter() - t0) * 1000)

    recall_rows = []
    if not args.skip_large:
        keep = Path(args.keep_index) if args.keep_index else None
        if keep is not None and (keep / "manifest.json").exists():
            store = IndexStore.load(keep, config.encoder, encoder.info.dimension)
        else:
            store = build([args.cmrc, args.drcd], "CMRC2018 dev + DRCD dev paragraphs")
            if keep is not None:
                store.save(keep)
        variants = []
        for i, spec in enumerate(v.strip() for v in args.hybrid.split(",") if v.strip()):
            fusion, _, weight = spec.partition(":")
            name = "hybrid" if i == 0 else ("rrf" if fusion == "rrf" else f"{fusion[0]}{weight}")
            variants.append((name, "hybrid", fusion, float(weight or 0.45)))
        for label, path in (("cmrc", args.cmrc), ("drcd", args.drcd)):
            questions = load_squad(path).questions[:args.limit]
            for mode, kind, fusion, weight in [("bm25", "bm25", "weighted", 0.4), ("dense", "dense", "weighted", 0.4),
                                               *variants]:
                retriever = Retriever(store, encoder, mode=kind, fusion=fusion, dense_weight=weight)
                ranks = []
                for q in tqdm(questions, desc=f"{label} {mode}", file=sys.stderr):
                    hits = retriever.retrieve(q.question, top_k=10)
                    ranks.append(gold_rank([h.chunk.doc_id for h in hits], q.paragraph_id))
                recall_rows.append((label, mode, len(ranks), 100 * recall_at_k(ranks, 1), 100 * recall_at_k(ranks, 5),
                                    100 * recall_at_k(ranks, 10), 100 * mrr_at_k(ranks, 10)))

    print("\n== index build ==")
    print(f"{'corpus':<38} {'docs':>6} {'chunks':>7} {'seconds':>8} {'passages/s':>11}")
    for r in rows_build:
        print(f"{r[0]:<38} {r[1]:>6} {r[2]:>7} {r[3]:>8.1f} {r[4]:>11.1f}")
    if recall_rows:
        print("\n== retrieval (gold paragraph among top k) ==")
        print(f"{'set':<5} {'mode':<7} {'n':>5} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7}")
        for r in recall_rows:
            print(f"{r[0]:<5} {r[1]:<7} {r[2]:>5} {r[3]:>6.1f} {r[4]:>6.1f} {r[5]:>6.1f} {r[6]:>7.1f}")
    print("\n== ask() on the bundled article ==")
    print(f"warm latency over {len(lat)} questions: p50 {statistics.median(lat):.0f} ms, p95 {_pct(lat, 0.95):.0f} ms")
    print(f"cold start (new process, `qa ask`, models cached): {cold:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
