"""What an HNSW graph loses against exact search on real embeddings: CMRC2018 dev + DRCD dev.

    python benchmarks/hnsw_recall.py --limit 1000

One index over every paragraph of both sets, embedded with the configured encoder; each question's
dense top 5 from exact search (the flat store's) and from an HNSW graph as ``--faiss auto`` builds it
(M 32, efSearch 128): the share of the exact top 5 the graph returns, and the gold paragraph's R@5 each
way. Synthetic random vectors (``benchmarks/scale.py``) are a graph index's worst case; this is the
real-text counterpart, at 5,040 passages.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=1000, help="questions per set")
    ap.add_argument("--m", type=int, default=32, help="HNSW neighbours per node")
    ap.add_argument("--ef-search", type=int, default=128)
    args = ap.parse_args()

    import faiss

    from index.embed import get_encoder
    from index.ingest import read_paths
    from index.readers.squad import load_squad
    from index.store import IndexStore
    from index.store.vectors import top_inner_product
    from qa.config import Config

    config = Config()
    encoder = get_encoder(config.encoder)
    paths = [SHARED / "data/cmrc2018/cmrc2018_dev.json", SHARED / "data/drcd/DRCD_dev.json"]
    store = IndexStore(config.encoder, encoder.info.dimension, config.chunk_size, config.chunk_overlap)
    t0 = time.perf_counter()
    store.add_documents(read_paths(paths).documents, encoder, progress=True)
    print(f"{len(store.chunks):,} passages embedded in {time.perf_counter() - t0:.0f} s")
    vectors = np.ascontiguousarray(store.vectors)
    graph = faiss.IndexHNSWFlat(vectors.shape[1], args.m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efSearch = args.ef_search
    graph.add(vectors)
    print(f"\n{'set':<5} {'n':>5} {'HNSW top 5 ∩ exact':>19} {'gold R@5 exact':>15} {'gold R@5 HNSW':>14}")
    for label, path in (("cmrc", paths[0]), ("drcd", paths[1])):
        questions = load_squad(path).questions[:args.limit]
        query_vectors = encoder.encode_queries([q.question for q in questions])
        shared = gold_exact = gold_graph = 0
        for q, v in zip(questions, query_vectors):
            exact = [r for r, _ in top_inner_product(vectors, v, 5)]
            _, found = graph.search(np.asarray(v, dtype=np.float32).reshape(1, -1), 5)
            approx = [int(r) for r in found[0] if r >= 0]
            shared += len(set(exact) & set(approx))
            gold_exact += any(store.chunks[r].doc_id == q.paragraph_id for r in exact)
            gold_graph += any(store.chunks[r].doc_id == q.paragraph_id for r in approx)
        n = len(questions)
        print(f"{label:<5} {n:>5} {100 * shared / (5 * n):>18.1f}% {100 * gold_exact / n:>15.1f} "
              f"{100 * gold_graph / n:>14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
