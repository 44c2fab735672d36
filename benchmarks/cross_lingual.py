"""Retrieval of English questions over Chinese paragraphs, with and without dictionary query translation.

    python benchmarks/cross_lingual.py            # XQuAD a: 612 English + the same 612 Chinese questions

Corpus: the 120 XQuAD zh paragraphs of the visible half plus the first 600 CMRC2018 dev paragraphs
as distractors (one index). Each English question is the translation of a Chinese one over the same
paragraph, so the Chinese rows are the ceiling the English ones aim at. Rows: retrieval mode ×
query translation (off | bm25: BM25 gets the question's Chinese words | all: the encoder too).
R@k = the gold paragraph among the first k passages.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--english", default=str(SHARED / "data/xquad/xquad_en_question_zh_context_a.json"))
    ap.add_argument("--chinese", default=str(SHARED / "data/xquad/xquad_zh_a.json"))
    ap.add_argument("--distractors", default=str(SHARED / "data/cmrc2018/cmrc2018_dev.json"))
    ap.add_argument("--distractor-paragraphs", type=int, default=600,
                    help="how many of the distractor set's paragraphs go into the index (default 600)")
    ap.add_argument("--limit", type=int, help="questions per set")
    ap.add_argument("--translated-bm25-weights", type=float, nargs="*", default=[],
                    help="also run English hybrid/bm25 with BM25's share × each of these")
    args = ap.parse_args()

    from tqdm import tqdm

    from index.embed import get_encoder
    from index.ingest import read_paths
    from index.readers.squad import load_squad
    from index.store import IndexStore
    from qa.config import Config
    from qa.evaluation.metrics import gold_rank, mrr_at_k, recall_at_k
    from qa.retrieve import Retriever

    config = Config()
    encoder = get_encoder(config.encoder)
    gold = read_paths([args.chinese]).documents
    docs = gold + read_paths([args.distractors]).documents[:args.distractor_paragraphs]
    store = IndexStore(config.encoder, encoder.info.dimension, config.chunk_size, config.chunk_overlap)
    store.add_documents(docs, encoder, progress=True)

    rows = []
    for label, path, translations in (("zh", args.chinese, ("off",)), ("en", args.english, ("off", "bm25", "all"))):
        questions = load_squad(path).questions[:args.limit]
        for mode in ("bm25", "dense", "hybrid"):
            for translate in translations:
                if mode == "bm25" and translate == "all":
                    continue   # the same BM25 query as "bm25"
                retriever = Retriever(store, encoder, mode=mode, translate=translate)
                retriever.retrieve(questions[0].question)   # the dictionary loads once, outside the timing
                ranks, t0 = [], time.perf_counter()
                for q in tqdm(questions, desc=f"{label} {mode} {translate}", file=sys.stderr, mininterval=10):
                    hits = retriever.retrieve(q.question, top_k=10)
                    ranks.append(gold_rank([h.chunk.doc_id for h in hits], q.paragraph_id))
                ms = (time.perf_counter() - t0) * 1000 / len(questions)
                rows.append((label, mode, translate, len(ranks), 100 * recall_at_k(ranks, 1),
                             100 * recall_at_k(ranks, 5), 100 * mrr_at_k(ranks, 10), ms))

    questions = load_squad(args.english).questions[:args.limit]
    for weight in args.translated_bm25_weights:
        retriever = Retriever(store, encoder, mode="hybrid", translate="bm25", translated_bm25_weight=weight)
        ranks = [gold_rank([h.chunk.doc_id for h in retriever.retrieve(q.question, top_k=10)], q.paragraph_id)
                 for q in tqdm(questions, desc=f"en hybrid bm25 ×{weight}", file=sys.stderr, mininterval=10)]
        rows.append(("en", "hybrid", f"bm25×{weight:g}", len(ranks), 100 * recall_at_k(ranks, 1),
                     100 * recall_at_k(ranks, 5), 100 * mrr_at_k(ranks, 10), float("nan")))

    print(f"\ncorpus: {len(docs)} paragraphs ({len(store.chunks)} chunks): XQuAD zh a + distractors")
    print(f"{'q':<3} {'mode':<7} {'translate':<9} {'n':>4} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'ms/q':>6}")
    for r in rows:
        print(f"{r[0]:<3} {r[1]:<7} {r[2]:<9} {r[3]:>4} {r[4]:>6.1f} {r[5]:>6.1f} {r[6]:>7.1f} {r[7]:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
