"""Choose the reader's no-answer threshold on held-out questions, the way the bot is used.

Why: the bot must say "no answer" when the documents lack one. For each question the reader
sees five passages, as after retrieval: once with the gold paragraph among four BM25 neighbours
(it should answer, correctly) and once with five neighbours that lack the answer (it should
abstain). The threshold on the best span's confidence (span score × the verifier's P(answerable), or the
span score alone for a reader without a verifier) that gets most of both right is written to
``calibration.json`` beside the reader's weights, with the span-score-only threshold as well.

    python -m qa.training.calibrate --dev ../shared/data/cmrc2018/cmrc2018_dev.json --start 2900 --n 300
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from index.bm25 import BM25Index, tokenize
from index.readers.squad import load_squad
from qa.reader.loading import EMBEDDED_READER_NAME


def _clean(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def collect_scores(dev: str, start: int, n: int, reader, passages: int = 5) -> dict[str, list[dict]]:
    """Calibration rows per scoring: ``"confidence"`` (span score × the verifier's P, when the reader has
    a verifier) and ``"span"`` (the span score alone), both from the same forward passes."""
    from dataclasses import replace

    from tqdm import tqdm

    data = load_squad(dev)
    contexts = {p.id: p.context for p in data.paragraphs}
    ids = list(contexts)
    bm25 = BM25Index([tokenize(contexts[i]) for i in ids])
    rows: dict[str, list[dict]] = {"span": [], "confidence": []}
    for q in tqdm(data.questions[start:start + n], desc="calibrating", file=sys.stderr):
        if not q.answers:
            continue
        hits = [ids[r] for r, _ in bm25.search(tokenize(q.question), passages + 8)]
        others = [p for p in hits if p != q.paragraph_id and not any(a in contexts[p] for a in q.answers)]
        if len(others) < passages:
            continue
        pos = [contexts[q.paragraph_id]] + [contexts[p] for p in others[:passages - 1]]
        neg = [contexts[p] for p in others[:passages]]
        wp, wn = reader.forward_windows(q.question, pos), reader.forward_windows(q.question, neg)
        scorings = [("confidence", wp, wn)]
        if wp.answerable is not None:
            scorings.append(("span", replace(wp, answerable=None), replace(wn, answerable=None)))
        for name, a, b in scorings:
            sp, sn = reader.select(q.question, a, pos, 1), reader.select(q.question, b, neg, 1)
            right = bool(sp) and sp[0].passage == 0 and any(_clean(sp[0].text) == _clean(x) for x in q.answers)
            rows[name].append({"id": q.id, "pos_score": sp[0].confidence if sp else 0.0, "pos_right": right,
                               "neg_score": sn[0].confidence if sn else 0.0})
    if not rows["span"]:
        rows["span"] = rows["confidence"]
    return rows


def choose_threshold(rows: list[dict]) -> dict:
    """The threshold maximizing (right answers kept + unanswerable abstained) / all cases."""
    pos = np.array([r["pos_score"] for r in rows])
    right = np.array([r["pos_right"] for r in rows])
    neg = np.array([r["neg_score"] for r in rows])
    best = None
    for t in np.unique(np.round(np.concatenate([[0.0], pos, neg]), 4)):
        answered_right = float(np.mean(right & (pos >= t)))
        abstained = float(np.mean(neg < t))
        score = answered_right + abstained
        if best is None or score > best["objective"] + 1e-9:
            best = {"threshold": float(t), "objective": score, "answerable_right": answered_right,
                    "unanswerable_abstained": abstained}
    best["n"] = len(rows)
    best["answerable_right_no_threshold"] = float(np.mean(right))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Calibrate the reader's no-answer threshold.")
    ap.add_argument("--dev", required=True, help="SQuAD-style JSON with held-out questions")
    ap.add_argument("--reader", default=EMBEDDED_READER_NAME)
    ap.add_argument("--start", type=int, default=2900, help="first question used")
    ap.add_argument("--n", type=int, default=300, help="number of questions")
    ap.add_argument("--out", help="calibration.json path (default: beside the reader's weights)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                    help="reader precision (scores differ slightly; calibrate at the one you run)")
    ap.add_argument("--answer-types", action=argparse.BooleanOptionalAction, default=True,
                    help="drop spans of another measure than the question asks for, as the bot does (default: on)")
    args = ap.parse_args(argv)
    if not Path(args.dev).exists():
        print(f"error: {args.dev} not found", file=sys.stderr)
        return 2
    from qa.reader.extractive import ExtractiveReader

    from qa.reader.loading import ReaderLoadError, reader_folder
    from qa.reader.verifier import has_verifier

    folder = reader_folder(args.reader)
    try:
        reader = ExtractiveReader(args.reader, dtype=args.dtype,
                                  verifier=folder is not None and has_verifier(folder), answer_types=args.answer_types)
    except ReaderLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = collect_scores(args.dev, args.start, args.n, reader)
    if not rows["confidence"]:
        print("error: no usable calibration questions", file=sys.stderr)
        return 2
    result = choose_threshold(rows["confidence"])
    result["verifier"] = reader.verifier is not None
    if reader.verifier is not None:
        # the same cases on the span score alone: the threshold for --no-verifier
        span_only = choose_threshold(rows["span"])
        result["threshold_span_only"] = span_only["threshold"]
        result["span_only"] = span_only
    result.update({"dev": Path(args.dev).name, "questions": f"{args.start}:{args.start + args.n}",
                   "passages_per_question": 5})
    result["dtype"] = args.dtype
    result["answer_types"] = args.answer_types
    if not args.out and folder is None:
        print(f"error: {args.reader} is not a local reader folder: give --out", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else folder / "calibration.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
