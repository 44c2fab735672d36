"""Choose the reader's no-answer threshold on held-out questions, the way the bot is used.

Why: the bot must say "no answer" when the documents lack one. For each question the reader
sees five passages, as after retrieval: once with the gold paragraph among four BM25 neighbours
(it should answer, correctly) and once with five neighbours that lack the answer (it should
abstain). The threshold on the best span's confidence (span score × the verifier's P(answerable), or the
span score alone for a reader without a verifier) that gets most of both right is written to
``calibration.json`` beside the reader's weights, with the span-score-only threshold as well.

    python -m qa.training.calibrate --dev ../shared/data/cmrc2018/cmrc2018_dev.json --start 2900 --n 300

``sweep`` instead picks the threshold from rows already scored by ``benchmarks/eval_sets.py
--details DIR --no-abstain`` (reader-only, any number of sets, answerable and unanswerable
questions). The objective is SQuAD-2.0-style F1 with abstention (abstaining on an unanswerable
question scores 1, on an answerable one 0), averaged over the sets of each group, then over the
two groups: sets with unanswerable questions and sets without. Each set counts the same within its
group, so a large Wikipedia set cannot outvote the news or web ones, and the one job only the
first group measures (abstaining) weighs as much as answering. Sets of English questions are left
out of that sweep; when one pairs with a Chinese set (same ids but a ``-en`` suffix, as the XQuAD
halves), ``threshold_english`` is the threshold times the ratio of the paired median scores.

    python -m qa.training.calibrate sweep runs/details/*.reader-only.jsonl --out qa/reader/weights/calibration.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from index.bm25 import BM25Index, tokenize
from index.readers.squad import load_squad
from qa.language import is_english_question
from qa.reader.loading import CALIBRATION_KEPT_KEYS, EMBEDDED_READER_NAME



KEPT_KEYS = CALIBRATION_KEPT_KEYS   # chosen apart from the thresholds: a new threshold keeps them


def write_calibration(path: Path, result: dict) -> None:
    """Write ``calibration.json``, keeping what an earlier one chose apart from the thresholds (the span-length prior)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        old = {}
    kept = {k: old[k] for k in KEPT_KEYS if isinstance(old, dict) and k in old and k not in result}
    path.write_text(json.dumps({**result, **kept}, indent=2, ensure_ascii=False), encoding="utf-8")

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


def f1_with_abstention(rows: list[dict], threshold: float) -> float:
    """Mean SQuAD-2.0-style F1 (0..1) of scored rows when spans scoring below ``threshold`` are withheld."""
    total = 0.0
    for r in rows:
        answered = r["score"] >= threshold and bool(r["best_span"])
        if r["answers"]:
            total += float(r["best_f1"]) if answered else 0.0
        else:
            total += 0.0 if answered else 1.0
    return total / len(rows) if rows else 0.0


def sweep_threshold(rows_by_set: dict[str, list[dict]]) -> dict:
    """The threshold maximizing the mean over the two groups (sets with / without unanswerable
    questions) of the mean over their sets of :func:`f1_with_abstention`, with each set's figure."""
    scores = sorted({round(float(r["score"]), 4) for rows in rows_by_set.values() for r in rows} | {0.0})
    groups = [[n for n, rows in rows_by_set.items() if any(not r["answers"] for r in rows)],
              [n for n, rows in rows_by_set.items() if all(r["answers"] for r in rows)]]
    groups = [g for g in groups if g]
    best = None
    for t in scores:
        per_set = {name: f1_with_abstention(rows, t) for name, rows in rows_by_set.items()}
        mean = sum(sum(per_set[n] for n in g) / len(g) for g in groups) / len(groups)
        if best is None or mean > best["objective"] + 1e-9:
            best = {"threshold": t, "objective": mean, "per_set_f1": per_set}
    best["per_set_f1_no_threshold"] = {name: f1_with_abstention(rows, 0.0) for name, rows in rows_by_set.items()}
    best["n"] = {name: len(rows) for name, rows in rows_by_set.items()}
    return best


def english_score_ratio(english_rows: list[dict], chinese_rows: list[dict]) -> float | None:
    """Median best-span score of English questions over that of the same questions in Chinese
    (paired by id, the English id ending in ``-en``); None without at least 20 pairs."""
    zh = {r["id"]: float(r["score"]) for r in chinese_rows}
    pairs = [(float(r["score"]), zh[r["id"][:-3]]) for r in english_rows
             if str(r["id"]).endswith("-en") and r["id"][:-3] in zh]
    if len(pairs) < 20:
        return None
    en_median, zh_median = float(np.median([e for e, _ in pairs])), float(np.median([z for _, z in pairs]))
    return en_median / zh_median if zh_median > 0 else None


def span_score_rows(rows: list[dict]) -> list[dict]:
    """Rows scored with the verifier, re-scored by the span score alone (confidence / P(answerable))."""
    return [{**r, "score": float(r["score"]) / float(r["answerable"])} if r.get("answerable") else r for r in rows]


def _sweep_groups(chinese: dict[str, list[dict]], english: dict[str, list[dict]]) -> dict:
    """The threshold swept on the Chinese sets, and ``threshold_english`` from the first English set that
    pairs with them (see :func:`english_score_ratio`)."""
    result = sweep_threshold(chinese)
    for name, rows in english.items():
        ratio = english_score_ratio(rows, [r for rs in chinese.values() for r in rs])
        if ratio is not None:
            result["threshold_english"] = round(result["threshold"] * ratio, 8)
            result["english_calibration"] = {"set": name, "paired_median_score_ratio": ratio}
            break
    return result


def _sweep_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa.training.calibrate sweep",
                                 description="Pick the no-answer threshold from scored evaluation rows.")
    ap.add_argument("details", nargs="+", help="JSON-lines rows from benchmarks/eval_sets.py --details (one file a set)")
    ap.add_argument("--out", help="write calibration.json here")
    ap.add_argument("--dtype", default="float32", help="the precision the rows were scored at (recorded)")
    args = ap.parse_args(argv)
    rows_by_set: dict[str, list[dict]] = {}
    for path in args.details:
        try:
            rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {path}: {exc}", file=sys.stderr)
            return 2
        if not rows or not all(isinstance(r, dict) and {"id", "question", "score", "best_span", "best_f1", "answers"} <= set(r)
                               for r in rows):
            print(f"error: {path} holds no scored rows (write them with eval_sets.py --details)", file=sys.stderr)
            return 2
        bad = next((k for k, r in enumerate(rows, 1) if _row_problem(r)), None)
        if bad is not None:
            print(f"error: {path}: row {bad}: {_row_problem(rows[bad - 1])}", file=sys.stderr)
            return 2
        name = Path(path).name.split(".")[0]
        if name in rows_by_set:
            print(f"error: two files are named as the set {name!r} ({path} and one before it); "
                  "give each set once", file=sys.stderr)
            return 2
        rows_by_set[name] = rows
    english = {n: rows for n, rows in rows_by_set.items()
               if sum(is_english_question(r["question"]) for r in rows) > len(rows) / 2}
    chinese = {n: rows for n, rows in rows_by_set.items() if n not in english}
    if not chinese:
        print("error: the sweep needs at least one set of Chinese questions", file=sys.stderr)
        return 2
    spans = [r for rows in rows_by_set.values() for r in rows if r["best_span"]]
    verified = bool(spans) and all("answerable" in r for r in spans)
    result = _sweep_groups(chinese, english)
    if verified:   # the rows were scored with the verifier: also the thresholds for --no-verifier
        span_only = _sweep_groups(*({n: span_score_rows(rows) for n, rows in group.items()}
                                    for group in (chinese, english)))
        result["threshold_span_only"] = span_only["threshold"]
        if "threshold_english" in span_only:
            result["threshold_english_span_only"] = span_only["threshold_english"]
        result["span_only"] = {k: v for k, v in span_only.items() if k in ("objective", "per_set_f1")}
    result.update({"verifier": verified, "method": "sweep: mean over sets of F1 with abstention (reader-only)",
                   "sets": sorted(rows_by_set), "dtype": args.dtype, "answer_types": True})
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.out:
        return _write_or_say(Path(args.out), result)
    return 0


def _row_problem(row: dict) -> str | None:
    """What makes a scored row unusable for the sweep, or None."""
    for key in ("score", "best_f1") + (("answerable",) if row.get("answerable") is not None else ()):
        value = row[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{key} is {value!r}, not a number"
    if not isinstance(row["best_span"], str) or not isinstance(row["question"], str):
        return "best_span and question must be text"
    if not isinstance(row["answers"], list):
        return "answers is not a list"
    return None


def _write_or_say(out: Path, result: dict) -> int:
    """Write calibration.json; one error line (the result was printed) when it cannot be written."""
    try:
        write_calibration(out, result)
    except OSError as exc:
        print(f"error: {out}: {exc.strerror or exc} (the result above was not written)", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sweep"]:
        return _sweep_main(argv[1:])
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
    from index.readers.squad import SquadFormatError

    try:
        questions = len(load_squad(args.dev).questions)
    except FileNotFoundError:
        print(f"error: {args.dev} not found", file=sys.stderr)
        return 2
    except SquadFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {args.dev}: cannot be read as JSON ({getattr(exc, 'strerror', None) or exc})", file=sys.stderr)
        return 2
    if not 0 <= args.start < questions or args.n < 1:
        print(f"error: --start {args.start} --n {args.n} take no question of {args.dev}'s {questions}",
              file=sys.stderr)
        return 2
    from qa.reader.extractive import ExtractiveReader

    from qa.reader.loading import ReaderLoadError, reader_folder
    from qa.reader.verifier import has_verifier

    folder = reader_folder(args.reader)
    if not args.out and folder is None:
        print(f"error: {args.reader} is not a local reader folder: give --out", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else folder / "calibration.json"
    if out.is_dir() or not out.parent.is_dir():
        print(f"error: --out {out}: {'a folder' if out.is_dir() else 'its folder does not exist'}", file=sys.stderr)
        return 2
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
    print(json.dumps(result, indent=2))
    return _write_or_say(out, result)


if __name__ == "__main__":
    sys.exit(main())
