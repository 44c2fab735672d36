"""One table over every visible evaluation set: best-span and abstaining EM/F1, abstentions, speed.

The SQuAD-style sets run ``reader-only`` (each question with its gold paragraph, the figure
comparable with published results); JSON-lines sets (the seed questions, and this repository's own
questions on the article in ``benchmarks/data``) run ``open`` over the bundled article. ``--modes open`` adds retrieval over each SQuAD set's own paragraphs. The reader is
loaded once and shared. Sets with unanswerable questions also get SQuAD-2.0-style HasAns F1 and
NoAns accuracy. None of these sets is ever trained on (see ../shared/data/README.md).

    python benchmarks/eval_sets.py                              # all visible sets, one table
    python benchmarks/eval_sets.py --limit 200 --reader runs/v2/final
    python benchmarks/eval_sets.py ../shared/eval/seed_dev.jsonl

Indexing a whole dev set's paragraphs for ``open`` takes minutes on CPU the first time; the index
is cached. Ctrl-C stops early and prints what is done.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_SETS = [SHARED / "data" / p for p in (
    "cmrc2018/cmrc2018_dev.json", "news_mrc/news_mrc_dev.json", "xquad/xquad_zh_a.json",
    "xquad/xquad_en_question_zh_context_a.json", "dureader/dureader_robust_dev_a.json",
    "dureader/dureader_checklist_dev_a.json")] + [SHARED / "eval/seed_dev.jsonl"] + [
    Path(__file__).resolve().parent / "data" / name for name in ("article_questions.jsonl", "seed_unanswerable.jsonl")]
MODES = ("open", "reader-only")


def _cell(v, digits=2) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def abstained_on_answerable(rows: list[dict]) -> float | None:
    """Share (%) of the answerable questions the run abstained on."""
    answerable = [r for r in rows if r["answers"]]
    return 100.0 * sum(r["abstained"] for r in answerable) / len(answerable) if answerable else None


def format_table(results: list[dict]) -> str:
    head = ["set", "mode", "n", "best EM", "best F1", "EM", "F1", "abst. ans %", "HasAns F1", "NoAns %",
            "R@5", "q/s"]
    rows = [[r["set"], r["mode"] + (" (interrupted)" if r.get("interrupted") else ""), str(r["n"]),
             _cell(r.get("em_best_span")), _cell(r.get("f1_best_span")), _cell(r.get("em")), _cell(r.get("f1")),
             _cell(r.get("abstained_answerable_pct"), 1), _cell(r.get("has_answer_f1")),
             _cell(r.get("no_answer_accuracy"), 1), _cell(r.get("recall@5"), 1), _cell(r.get("questions_per_s"), 1)]
            for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", default=[str(p) for p in DEFAULT_SETS],
                    help="question sets (default: the six visible evaluation sets and the seed questions under ../shared, "
                         "and benchmarks/data's questions on the article)")
    ap.add_argument("--limit", type=int, help="evaluate only the first N questions of each set")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=["reader-only"],
                    help="for SQuAD-style sets: reader-only (gold paragraph; default) and/or open (retrieval + "
                         "reader over the set's paragraphs); JSON-lines sets always run open")
    ap.add_argument("--reader", help="reader model (default: ZHQA_READER, else the shipped one)")
    ap.add_argument("--encoder", help="encoder (default: ZHQA_ENCODER, else the embedded e5)")
    ap.add_argument("--mode", choices=("bm25", "dense", "hybrid"), help="retrieval mode for 'open'")
    ap.add_argument("--top-k", type=int, help="passages given to the reader in 'open'")
    ap.add_argument("--threshold", type=float, help="abstention threshold (default: the reader's calibrated one)")
    ap.add_argument("--no-abstain", action="store_true",
                    help="always take the best span (CMRC2018/DRCD dev have no unanswerable questions; "
                         "published results never abstain)")
    ap.add_argument("--json", action="store_true", help="also print each run's full summary as a JSON line")
    ap.add_argument("--details", metavar="DIR",
                    help="write each run's rows as DIR/<set>.<mode>.jsonl (what qa.training.calibrate sweep reads)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--candidates", type=int, default=0, metavar="N",
                    help="reader-only --details rows also list the reader's first N spans (decoding studies)")
    args = ap.parse_args(argv)

    from qa.config import Config
    from index.embed import EncoderLoadError
    from index.store import StoreError
    from qa.evaluation.datasets import describe_skipped
    from qa.messages import one_line
    from qa.evaluation.runner import DatasetError, close_details, evaluate, load_eval_set, make_bot, make_reader

    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        sets = [load_eval_set(p) for p in args.sets]
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stems = [Path(s.name).stem for s in sets]
    twice = sorted({n for n in stems if stems.count(n) > 1})
    if twice:   # their rows would go to one --details file, and their rows in the table look alike
        print(f"error: two sets are named {twice[0]!r}; give each set a name of its own", file=sys.stderr)
        return 2
    if args.details and Path(args.details).exists() and not Path(args.details).is_dir():
        print(f"error: --details {args.details} is a file; give a folder", file=sys.stderr)
        return 2
    for s in sets:
        if s.skipped:
            print(f"note: {s.name}: {describe_skipped(s)}", file=sys.stderr)
    try:
        config = Config.from_env(reader=args.reader, encoder=args.encoder, mode=args.mode, top_k=args.top_k,
                                 threshold=args.threshold)
    except ValueError as exc:   # --top-k 0, a negative --threshold
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        reader = make_reader(config)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"error: cannot load the reader: {exc}", file=sys.stderr)
        return 2
    results: list[dict] = []
    interrupted = failed = False
    for s in sets:
        for mode in (args.modes if s.kind == "squad" else ["open"]):
            print(f"== {s.name}: {mode}", file=sys.stderr)
            try:
                bot = None if mode == "reader-only" else make_bot(s, config, reader=reader,
                                                                   progress=not args.no_progress)
            except KeyboardInterrupt:
                interrupted = True
                break
            except (StoreError, EncoderLoadError, OSError, ValueError, RuntimeError) as exc:
                print(f"error: cannot set up the bot: {one_line(exc)}", file=sys.stderr)
                return 2
            details = None
            if args.details:
                target = Path(args.details) / f"{Path(s.name).stem}.{mode}.jsonl"
                try:
                    Path(args.details).mkdir(parents=True, exist_ok=True)
                    details = open(target, "w", encoding="utf-8")
                except OSError as exc:
                    print(f"error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
                    return 2
            try:
                res = evaluate(s, config, bot=bot, reader=reader, reader_only=mode == "reader-only",
                               limit=args.limit, no_abstain=args.no_abstain, progress=not args.no_progress,
                               details=details, candidates=args.candidates)
            finally:
                close_error = close_details(details)
            if res.details_error or close_error:   # rows cut short would feed a calibration sweep
                print(f"error: {res.details_error or close_error}", file=sys.stderr)
                failed = True
            results.append({"set": s.name, "mode": mode if mode == "reader-only" else f"open/{config.mode}",
                            **res.summary, "abstained_answerable_pct": abstained_on_answerable(res.rows),
                            "interrupted": res.interrupted})
            if res.interrupted:
                interrupted = True
                break
        if interrupted:
            break
    abstain = "never abstaining" if args.no_abstain else "abstaining below the threshold (--no-abstain: never)"
    print(f"\nreader: {config.reader}; encoder: {config.encoder}; top-k {config.top_k}; {abstain}\n"
          f"EM/F1: official CMRC2018 metric (%); best = the best span, never abstaining; EM/F1 = with "
          f"abstention; abst. ans = abstained on answerable questions; HasAns F1 / NoAns: SQuAD 2.0 style, "
          f"sets with unanswerable questions only; R@5: gold paragraph in the first 5 passages (open only)")
    print(format_table(results))
    if args.json:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    return 130 if interrupted else 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
