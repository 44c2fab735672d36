"""Index build speed of one precision, for this checkout or another one: passages/s and R@5.

Why: issue 16 measures indexing against the fp32 path as it was, and the code has changed since. This
builds the combined CMRC2018 dev + DRCD dev index (5,040 passages) with the modules of ``--code`` (a
checkout of any revision, e.g. ``git worktree add /tmp/old 7afe03c``), as ``speed.py``'s encoder rows do,
so one command after the other compares two revisions on the same machine:

    python benchmarks/index_build.py --code /tmp/old --dtype float32
    python benchmarks/index_build.py --dtype bfloat16        # this checkout
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def encoder_row(docs: list, questions: list, dtype: str) -> tuple[str, int, float, float, float]:
    """(dtype, passages, passages/s building the index of ``docs``, dense R@5, hybrid R@5 of ``questions``'
    gold paragraphs), with whatever ``index`` and ``qa`` packages are first on ``sys.path``."""
    from tqdm import tqdm

    from index.embed import Encoder
    from index.store import IndexStore
    from qa.evaluation.metrics import gold_rank, recall_at_k
    from qa.retrieve import Retriever

    encoder = Encoder(dtype=dtype)
    store = IndexStore(encoder.name, encoder.info.dimension, 250, 60)
    start = time.perf_counter()
    store.add_documents(docs, encoder, progress=True)
    rate = len(store.chunks) / (time.perf_counter() - start)
    recalls = []
    for mode in ("dense", "hybrid"):
        retriever = Retriever(store, encoder, mode=mode)
        ranks = [gold_rank([h.chunk.doc_id for h in retriever.retrieve(q.question, top_k=10)], q.paragraph_id)
                 for q in tqdm(questions, desc=f"{dtype} {mode}", file=sys.stderr)]
        recalls.append(100 * recall_at_k(ranks, 5))
    return dtype, len(store.chunks), rate, recalls[0], recalls[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", default=str(ROOT), help="the checkout whose index/ and qa/ to run (default: this one)")
    ap.add_argument("--dtype", default="bfloat16", choices=("float32", "bfloat16", "auto"))
    ap.add_argument("--questions", type=int, default=500, help="questions a set for R@5")
    ap.add_argument("--cmrc", default=str(SHARED / "data/cmrc2018/cmrc2018_dev.json"))
    ap.add_argument("--drcd", default=str(SHARED / "data/drcd/DRCD_dev.json"))
    args = ap.parse_args()
    code = Path(args.code).resolve()
    if not (code / "index" / "store").is_dir() or not (code / "qa").is_dir():
        ap.error(f"--code {code}: not a zhqa checkout (no index/store or qa folder)")
    for path in (args.cmrc, args.drcd):
        if not Path(path).is_file():
            ap.error(f"{path} is missing (../shared beside the repository)")
    sys.path.insert(0, str(code))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from index.ingest import read_paths
    from index.readers.squad import load_squad

    docs = read_paths([args.cmrc, args.drcd]).documents
    questions = [q for path in (args.cmrc, args.drcd) for q in load_squad(path).questions[:args.questions]]
    _, passages, rate, *recalls = encoder_row(docs, questions, args.dtype)
    print(f"{code} {args.dtype}: {passages} passages at {rate:.2f} passages/s; "
          f"dense / hybrid R@5 {recalls[0]:.2f} / {recalls[1]:.2f} ({args.questions} questions a set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
