"""Would a span-length prior pick better spans? An offline sweep over recorded reader candidates.

    python benchmarks/eval_sets.py SETS --limit 400 --no-abstain --candidates 20 --details DIR
    python benchmarks/span_length_prior.py DIR [DIR ...]

Why: about a quarter of the reader's wrong spans on XQuAD, CMRC2018 and DuReader hold the right
answer plus a median of 5–16 more characters (a clause, an apposition, the neighbouring list
items). Among its candidates there is often the shorter span. This rescores each question's
recorded candidates by ``confidence × exp(-beta × max(0, characters - free))`` and prints the
best-span F1 (CMRC2018 metric) per set for each (beta, free), next to beta = 0 (today's choice).
Choose on the visible evaluation sets only, and report every set.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BETAS = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08)
FREES = (0, 4, 8)


def rescored_best(candidates: list[list], beta: float, free: int) -> str:
    """The candidate text with the highest length-discounted confidence ('' when there is none)."""
    best, best_score = "", -1.0
    for text, conf, *_ in candidates:
        score = float(conf) * math.exp(-beta * max(0, len(text) - free))
        if score > best_score:
            best, best_score = text, score
    return best


def main() -> int:
    from qa.evaluation.metrics import f1_score

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", help="--details folders written with --candidates")
    args = ap.parse_args()
    sets: dict[str, list[dict]] = {}
    for d in args.dirs:
        for f in sorted(Path(d).glob("*.reader-only.jsonl")):
            rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
            rows = [r for r in rows if r.get("answers") and "candidates" in r]
            if rows:
                sets[f"{Path(d).name}/{f.name.split('.')[0]}"] = rows
    if not sets:
        print("error: no reader-only details rows with candidates (run eval_sets.py with --candidates)",
              file=sys.stderr)
        return 2
    names = list(sets)
    print(f"{'beta':>6} {'free':>4} " + " ".join(f"{n.split('/')[-1][:14]:>14}" for n in names) + f" {'mean':>7}")
    for beta in BETAS:
        for free in (FREES if beta else (0,)):
            f1s = []
            for n in names:
                rows = sets[n]
                f1s.append(100 * sum(f1_score(rescored_best(r["candidates"], beta, free), r["answers"])
                                     for r in rows) / len(rows))
            print(f"{beta:>6} {free:>4} " + " ".join(f"{v:>14.2f}" for v in f1s) + f" {sum(f1s) / len(f1s):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
