"""Batch evaluation (``qa eval``): run question sets through the bot and score them.

Why: one number per configuration (EM/F1 with the official CMRC2018 metric, no-answer accuracy,
retrieval recall, latency) is what tells whether a reader, encoder or setting is better, and a
details file plus an HTML report tell *why*.

Question sets:

* SQuAD-style JSON (CMRC2018, DRCD): ``data[].paragraphs[].qas[]``. Unless ``--corpus`` or
  ``--index`` is given, the corpus is the set's own paragraphs (open-domain over the set), so the
  gold document of a question is its paragraph and retrieval recall can be measured.
  ``--reader-only`` hands each question its gold paragraph and skips retrieval.
* JSON lines ``{"id", "question", "answers": [...]}``; ``"answers": []`` marks a question the
  corpus does not answer. Optional ``"doc_id"`` (gold document id) and ``"context"`` (gold
  passage, enables ``--reader-only``). Unless ``--corpus``/``--index`` is given, the corpus is the
  bundled sample article.

Summary keys (``--json`` prints them as the last line): ``n``; ``em``, ``f1``, ``em_nospace``,
``f1_nospace``, ``em_best_span``, ``f1_best_span`` (abstention disabled), ``no_answer_accuracy``
and ``has_answer_em``/``has_answer_f1`` (when the set has unanswerable questions), ``recall@1``,
``recall@5``, ``recall@10`` (all in percent) and ``mrr@10`` (0..1) of the gold document (when known
and retrieval ran); ``latency_ms_p50``, ``latency_ms_p95``, ``questions_per_s``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from qa.evaluation.datasets import (DatasetError, EvalQuestion, EvalSet, describe_skipped,  # noqa: F401
                                    load_eval_set, question_type)
from qa.evaluation.metrics import gold_rank, score_answer
from qa.evaluation.summary import RECALL_KS, RETRIEVAL_DEPTH, EvalResult, mean_of, summarize
from qa.messages import one_line, os_error_line


class EvalOptionError(ValueError):
    """Conflicting or invalid evaluation options."""


def _score_row(row: dict, answers: tuple[str, ...]) -> None:
    s = score_answer(row["prediction"], answers)
    row.update(em=s.em, f1=s.f1, em_nospace=s.em_nospace, f1_nospace=s.f1_nospace)
    if answers:
        b = score_answer(row["best_span"], answers)
        row.update(best_em=b.em, best_f1=b.f1)
    else:  # never abstaining means answering everything, which is wrong here
        row.update(best_em=1.0 if not row["best_span"] else 0.0, best_f1=1.0 if not row["best_span"] else 0.0)


def _base_row(q: EvalQuestion) -> dict:
    return {"id": q.id, "question": q.question, "qtype": question_type(q.question), "answers": list(q.answers),
            "gold_doc_id": q.gold_doc_id}


def _answer_with_bot(bot, q: EvalQuestion, config, threshold: float | None, depth: int) -> dict:
    from qa.bot import QuestionError

    row = _base_row(q)
    try:
        ans = bot.ask(q.question, top_k=config.top_k, threshold=threshold, depth=max(depth, config.top_k))
    except QuestionError as exc:
        row.update(prediction="", score=0.0, abstained=True, best_span="", answer_doc_id=None, passage=None,
                   retrieved_doc_ids=[], gold_rank=None, gold_in_index=False, latency_ms=0.0, error=str(exc))
        return row
    best = ans.alternatives[0] if ans.abstained and ans.alternatives else None
    best_span = ans.text if not ans.abstained else (best.text if best else "")
    chunk_id = ans.chunk_id if not ans.abstained else (best.chunk_id if best else None)
    passage = ans.passage
    if passage is None and chunk_id is not None:
        passage = next((p.text for p in ans.passages if p.chunk_id == chunk_id), None)
    # the ranking for recall@k comes from the same (timed) retrieval call, just deeper than top_k
    retrieved = list(ans.ranked_doc_ids)
    known = bool(q.gold_doc_id) and q.answerable and q.gold_doc_id in bot.store.documents
    row.update(prediction=ans.text if not ans.abstained else "", score=float(ans.score), abstained=ans.abstained,
               threshold=float(ans.threshold),
               best_span=best_span, answer_doc_id=ans.doc_id if not ans.abstained else (best.doc_id if best else None),
               passage=passage, retrieved_doc_ids=retrieved,
               gold_rank=gold_rank(retrieved, q.gold_doc_id) if known else None, gold_in_index=known,
               latency_ms=round(float(ans.latency_ms), 3))
    return row


def _answer_with_reader(reader, q: EvalQuestion, config, thresholds, candidates: int = 0) -> dict:
    from qa.bot import QuestionError, validate_question

    row = _base_row(q)
    try:
        question = validate_question(q.question, config.max_question_chars)
    except QuestionError as exc:
        row.update(prediction="", score=0.0, abstained=True, best_span="", passage=q.context,
                   latency_ms=0.0, error=str(exc))
        return row
    t0 = time.perf_counter()
    asked = question
    if config.query_translation != "off":   # as the bot asks its reader (qa/query_translation.py)
        from qa.query_translation import question_for_passages

        asked = question_for_passages(question, [q.context or ""])
    spans = reader.read(asked, [q.context or ""], top_n=max(1, candidates), asked=question)
    ms = (time.perf_counter() - t0) * 1000
    best = spans[0] if spans else None
    score = float(best.confidence) if best else 0.0
    threshold = thresholds.for_question(question)
    abstained = best is None or score < threshold
    row.update(prediction="" if abstained else best.text, score=score, abstained=abstained, threshold=threshold,
               best_span=best.text if best else "", passage=q.context, latency_ms=round(ms, 3),
               null_score=float(best.null_score) if best else None)   # the window's p(no answer), for study
    if best is not None and getattr(reader, "verifier", None) is not None:
        row["answerable"] = float(best.answerable)   # the verifier's P; score / answerable is the span score
    if candidates:   # for decoding studies: the reader's first spans, best first
        row["candidates"] = [[sp.text, round(float(sp.confidence), 6), sp.start, sp.end] for sp in spans]
    return row


DETAIL_KEYS = ("id", "question", "prediction", "score", "null_score", "answerable", "threshold", "abstained", "best_span", "answers",
               "gold_doc_id",
               "retrieved_doc_ids", "gold_in_index", "gold_rank", "answer_doc_id", "latency_ms", "qtype", "em", "f1",
               "em_nospace", "f1_nospace", "best_em", "best_f1", "passage", "candidates", "error")


def detail_record(row: dict) -> dict:
    """The JSON-lines record of one row (fixed key order; absent fields omitted)."""
    return {k: row[k] for k in DETAIL_KEYS if k in row and not (k == "error" and row[k] is None)}


def evaluate(eval_set: EvalSet, config, *, bot=None, reader=None, reader_only: bool = False,
             no_abstain: bool = False, limit: int | None = None, details=None, progress: bool = True,
             depth: int = RETRIEVAL_DEPTH, on_row: Callable[[dict], None] | None = None,
             candidates: int = 0) -> EvalResult:
    """Answer and score the set's questions.

    ``bot`` (a :class:`qa.bot.QABot`) is used unless ``reader_only``, in which case ``reader`` (an
    :class:`qa.reader.ExtractiveReader`) reads each question's gold passage. ``details`` is an open
    text file that gets one JSON line per question as soon as it is answered (reader-only rows with the
    reader's first ``candidates`` spans when that is above 0). Ctrl-C stops early:
    the result holds the rows done so far and ``interrupted`` is set.
    """
    from tqdm import tqdm

    from qa.bot import Thresholds, reader_thresholds

    questions = eval_set.questions[:limit] if limit else list(eval_set.questions)
    if reader_only:
        if reader is None:
            raise EvalOptionError("reader-only evaluation needs a reader")
        missing = [q.id for q in questions if q.context is None]
        if missing:
            raise EvalOptionError(f"--reader-only needs each question's gold passage; {len(missing)} have none "
                                  f"(e.g. {missing[0]!r}): use a SQuAD-style set or add \"context\" to the lines")
        thresholds = (Thresholds(0.0) if no_abstain else
                      reader_thresholds(config, verified=getattr(reader, "verifier", None) is not None))
    else:
        if bot is None:
            raise EvalOptionError("evaluation with retrieval needs a bot")
        thresholds = Thresholds(bot.threshold, getattr(bot, "english_threshold", None))  # the bot applies them
    if no_abstain:
        thresholds = Thresholds(0.0)  # span scores are probabilities: nothing falls below 0
    rows: list[dict] = []
    interrupted = False
    details_error = None
    bar = tqdm(total=len(questions), desc="evaluating", unit="q", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for q in questions:
            if reader_only:
                row = _answer_with_reader(reader, q, config, thresholds, candidates)
            else:
                row = _answer_with_bot(bot, q, config, 0.0 if no_abstain else None, depth)
            _score_row(row, q.answers)
            rows.append(row)
            if details is not None and details_error is None:
                details_error = _write_detail(details, row)
            if on_row is not None:
                on_row(row)
            bar.update(1)
            bar.set_postfix(em=f"{100 * mean_of(r['em'] for r in rows):.1f}",
                            f1=f"{100 * mean_of(r['f1'] for r in rows):.1f}", refresh=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    summary = summarize(rows, wall, retrieval=not reader_only)
    summary["threshold"] = None if no_abstain else round(float(thresholds.default), 6)
    if not no_abstain and thresholds.english is not None:
        summary["threshold_english"] = round(float(thresholds.english), 8)
    return EvalResult(rows, summary, interrupted, len(questions), details_error)


def _write_detail(details, row: dict) -> str | None:
    """Write one row's JSON line; when that fails (a full disk), why, naming the file, so the run goes on
    without it and ends with the figures and that reason, not with a bare OSError naming no file."""
    try:
        details.write(json.dumps(detail_record(row), ensure_ascii=False) + "\n")
        details.flush()
    except OSError as exc:
        return _details_failure(details, exc)
    return None


def close_details(fh) -> str | None:
    """Close an output file; why that failed (its last write), naming it, or None."""
    if fh is None:
        return None
    try:
        fh.close()
    except OSError as exc:
        return _details_failure(fh, exc)
    return None


def _details_failure(fh, exc: OSError) -> str:
    return f"cannot write the details file {getattr(fh, 'name', 'given')}: {exc.strerror or exc}"


# ---------------------------------------------------------------- building the bot
def make_reader(config):
    from qa.reader.extractive import ExtractiveReader

    return ExtractiveReader(config.reader, max_answer_chars=config.max_answer_chars, dtype=config.reader_dtype,
                            device=config.reader_device, verifier=config.verifier,
                            answer_types=config.answer_types)


def make_bot(eval_set: EvalSet, config, corpus: list[str] | None = None, index: str | None = None,
             reader=None, progress: bool = True):
    """A QABot over ``--index``, ``--corpus``, the set's own paragraphs (SQuAD) or the bundled article."""
    from index.embed import get_encoder
    from index.store import IndexStore, StoreError
    from qa.bot import QABot, cached_index
    from qa.config import SAMPLE_ARTICLE

    if index:
        store = IndexStore.load(index, config.encoder, get_encoder(config.encoder).info.dimension)
    elif config.backend == "milvus":
        return QABot.from_milvus(config, reader)
    else:
        if corpus:
            paths = [Path(c).expanduser() for c in corpus]
        elif eval_set.kind == "squad":
            paths = [eval_set.path]
        else:
            paths = [SAMPLE_ARTICLE]
        store, ingest = cached_index(paths, config, progress)
        from qa.messages import skipped_lines

        for line in skipped_lines(ingest.skipped):   # named as `qa index` names them
            print(f"qa eval: {line}", file=sys.stderr)
        if not store.chunks:
            raise StoreError("none of the corpus files could be indexed")
    return QABot(store, config, reader=reader)


def describe_corpus(eval_set: EvalSet, corpus, index, reader_only: bool, config=None) -> str:
    if reader_only:
        return "gold passages (reader only, no retrieval)"
    if index:
        return f"index {index}"
    if config is not None and config.backend == "milvus":
        return f"Milvus index {config.milvus_collection} at {config.milvus_uri}"
    if corpus:
        return "corpus " + " ".join(map(str, corpus))
    if eval_set.kind == "squad":
        return f"the set's own {eval_set.paragraphs} paragraphs"
    return "the bundled sample article"


def config_from_args(args):
    """The CLI's configuration (options, then ZHQA_* variables, then defaults; with ``--index``, that
    index's own encoder by default), checked more strictly because a bad value would waste a long run."""
    from qa.options import config_from_args as cli_config

    cfg = cli_config(args)   # Config itself checks the number of passages and the threshold
    if cfg.chunk_size < 20 or cfg.chunk_overlap >= cfg.chunk_size:
        raise EvalOptionError(f"--chunk-size must be at least 20 and larger than the chunk overlap "
                              f"({cfg.chunk_overlap})")
    return cfg


def _fmt(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def format_summary(result: EvalResult, title: str) -> str:
    """The terminal table."""
    s = result.summary
    lines = [title]
    if result.interrupted:
        lines.append(f"  INTERRUPTED: {len(result.rows)} of {result.total} questions done; figures cover those")
    skipped = s.get("skipped") or {}
    rows: list[tuple[str, str]] = [
        ("questions", str(s["n"]) + (f"  ({sum(skipped.values())} bad rows skipped: "
                                     + ", ".join(f"{k} {v}" for k, v in skipped.items()) + ")" if skipped else "")),
        ("EM", _fmt(s["em"])),
        ("F1", _fmt(s["f1"])),
        ("EM / F1 ignoring spaces", f"{_fmt(s['em_nospace'])} / {_fmt(s['f1_nospace'])}"),
        ("EM / F1 never abstaining", f"{_fmt(s['em_best_span'])} / {_fmt(s['f1_best_span'])}"),
        ("answered / abstained", f"{s['answered']} / {s['abstained']}"
                                 + (f"  (threshold {s['threshold']:.3g})" if s.get("threshold") is not None
                                    else "  (abstention off)")),
    ]
    if "no_answer_accuracy" in s:
        rows.append(("no-answer accuracy", f"{_fmt(s['no_answer_accuracy'])}  ({s['n_unanswerable']} unanswerable)"))
        rows.append(("EM / F1 answerable only", f"{_fmt(s['has_answer_em'])} / {_fmt(s['has_answer_f1'])}"))
    if "recall@1" in s:
        rows.append(("recall@1 / @5 / @10", " / ".join(_fmt(s[f"recall@{k}"]) for k in RECALL_KS)
                     + f"  (gold paragraph, {s['n_retrieval']} questions)"))
        rows.append(("MRR@10", _fmt(s["mrr@10"], 3)))
    rows.append(("latency p50 / p95 ms", f"{_fmt(s['latency_ms_p50'], 1)} / {_fmt(s['latency_ms_p95'], 1)}"))
    rows.append(("questions / s", _fmt(s["questions_per_s"])))
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def _err(msg: str) -> None:
    print(f"qa eval: error: {msg}", file=sys.stderr)


def _check_writable(path: str, what: str) -> None:
    """Whether the output file can be written, found before the run without emptying what it holds
    (a later check may still stop the run): opened to append, and removed again when it was new."""
    p = Path(path).expanduser()
    existed = os.path.lexists(p)   # a link to a file not there yet counts: the run writes through it
    _open_output(path, what, "a").close()
    if not existed:
        p.unlink(missing_ok=True)


def _open_output(path: str, what: str, mode: str = "w"):
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        return open(p, mode, encoding="utf-8")
    except OSError as exc:
        raise EvalOptionError(f"cannot write the {what} file {p}: {exc.strerror or exc}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs_spare_inputs(args: argparse.Namespace) -> None:
    """Refuse (EvalOptionError) an output file that is the question set, a corpus file, inside the index
    or a corpus folder read from, or another output: writing it would overwrite what the run reads or
    writes, or add to it."""
    inputs = [("the question set", Path(args.dataset).expanduser())]
    inputs += [("a corpus file", Path(c).expanduser()) for c in getattr(args, "corpus", None) or []]
    folders = [("the index", Path(args.index).expanduser())] if getattr(args, "index", None) else []
    # an output inside a corpus folder would be read as a document by the next run (answers included)
    folders += [("the corpus folder", path) for what, path in inputs[1:] if path.is_dir()]
    outputs = [(f"--{what}", Path(value).expanduser()) for what in ("predictions", "details")
               if (value := getattr(args, what, None))]
    if getattr(args, "report", None):
        outputs.append(("--report", Path(args.report).expanduser() / "index.html"))
    for i, (flag, out) in enumerate(outputs):
        for what, path in inputs:
            if _same_file(out, path):
                raise EvalOptionError(f"{flag} {out} is {what}: it would be overwritten; write elsewhere")
        for what, folder in folders:
            if out.resolve().is_relative_to(folder.resolve()):
                raise EvalOptionError(f"{flag} {out} is inside {what} {folder}; write elsewhere")
        for other_flag, other in outputs[:i]:
            if _same_file(out, other):
                raise EvalOptionError(f"{flag} and {other_flag} name the same file {out}")


def run_eval(args: argparse.Namespace) -> int:
    """Run ``qa eval`` with parsed ``args``; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    from index.store import StoreError

    try:
        config = config_from_args(args)
    except ValueError as exc:   # EvalOptionError, or a value Config refuses
        _err(str(exc))
        return 2
    try:
        eval_set = load_eval_set(args.dataset, strict=bool(getattr(args, "strict", False)),
                                 max_question_chars=config.max_question_chars)
    except DatasetError as exc:
        _err(str(exc))
        return 2
    if eval_set.skipped:
        print(f"qa eval: warning: {eval_set.name}: {describe_skipped(eval_set)} "
              "(--strict stops at the first bad row instead)", file=sys.stderr)
    corpus, index = getattr(args, "corpus", None), getattr(args, "index", None)
    reader_only = bool(getattr(args, "reader_only", False))
    limit = getattr(args, "limit", None)
    details_fh = None
    try:
        if corpus and index:
            raise EvalOptionError("give --corpus or --index, not both")
        if reader_only and (corpus or index):
            raise EvalOptionError("--reader-only reads each question's gold paragraph; drop --corpus/--index")
        if reader_only and any(q.context is None for q in eval_set.questions[:limit]):
            raise EvalOptionError("--reader-only needs gold paragraphs: use a SQuAD-style set "
                                  "(or JSON lines with a \"context\" field)")
        if limit is not None and limit < 1:
            raise EvalOptionError("--limit must be at least 1")
        for c in corpus or []:
            if not Path(c).expanduser().exists():
                raise EvalOptionError(f"corpus path {c}: no such file or directory")
        if index and not Path(index).expanduser().is_dir():
            raise EvalOptionError(f"--index {index}: no such directory")
        check_outputs_spare_inputs(args)   # before any output file is opened (and emptied)
        if getattr(args, "predictions", None):
            _check_writable(args.predictions, "predictions")
        if getattr(args, "report", None):
            try:
                Path(args.report).expanduser().mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise EvalOptionError(f"cannot create the report folder {args.report}: {exc.strerror or exc}") from None
        if getattr(args, "details", None):
            _check_writable(args.details, "details")   # emptied only once the models have loaded
    except EvalOptionError as exc:
        _err(str(exc))
        return 2

    progress = not getattr(args, "no_progress", False)
    try:
        try:
            if reader_only:
                reader, bot = make_reader(config), None
                if not getattr(args, "no_abstain", False):   # a damaged calibration.json: refused before --details is emptied
                    from qa.bot import reader_thresholds

                    reader_thresholds(config, verified=getattr(reader, "verifier", None) is not None)
            else:
                reader, bot = None, make_bot(eval_set, config, corpus, index, progress=progress)
        except KeyboardInterrupt:
            _err("interrupted while loading models")
            return 130
        except (StoreError, OSError, ValueError, RuntimeError) as exc:   # an OSError as FILE: reason, as qa says it
            _err(f"cannot set up the bot: {os_error_line(exc) if isinstance(exc, OSError) else one_line(exc)}")
            return 2
        if getattr(args, "details", None):
            try:
                details_fh = _open_output(args.details, "details")
            except EvalOptionError as exc:
                _err(str(exc))
                return 2
        try:
            result = evaluate(eval_set, config, bot=bot, reader=reader, reader_only=reader_only,
                              no_abstain=getattr(args, "no_abstain", False), limit=limit, details=details_fh,
                              progress=progress)
        except EvalOptionError as exc:
            _err(str(exc))
            return 2
    finally:
        close_error = close_details(details_fh)   # after a failed write it fails too: said once, below

    kind = "SQuAD-style JSON" if eval_set.kind == "squad" else "JSON lines"
    corpus_desc = describe_corpus(eval_set, corpus, index, reader_only, config)
    meta = {"dataset": str(eval_set.path), "set": eval_set.name, "format": kind, "corpus": corpus_desc,
            "mode": "reader-only" if reader_only else config.mode, "top_k": None if reader_only else config.top_k,
            "rank_decay": None if reader_only else config.rank_decay,
            "encoder": None if reader_only else config.encoder, "reader": config.reader,
            "chunk_size": None if reader_only else config.chunk_size,
            "abstention": not getattr(args, "no_abstain", False)}
    result.summary.update(interrupted=result.interrupted, total=result.total, skipped=dict(eval_set.skipped),
                          skipped_examples=dict(eval_set.skipped_examples))
    # the figures first: an output that cannot be written (a full disk) must not take them with it
    mode = "" if reader_only else f" · {config.mode} retrieval, top-k {config.top_k}, rank decay {config.rank_decay:g}"
    title = f"qa eval: {eval_set.name} ({kind}) · {corpus_desc}{mode} · reader {config.reader}"
    stdout_gone = not _print_out(format_summary(result, title))
    failed = False
    if result.details_error or close_error:
        _err(result.details_error or close_error)
        failed = True
    if getattr(args, "predictions", None):
        predictions = json.dumps({r["id"]: r["prediction"] for r in result.rows}, ensure_ascii=False, indent=1)
        failed |= not _write_whole(Path(args.predictions).expanduser(), predictions + "\n", "predictions")
    if getattr(args, "report", None):
        from qa.evaluation.report import write_report

        try:
            report_path = write_report(args.report, result, meta)
        except OSError as exc:
            _err(f"cannot write the report {exc.filename or args.report}: {exc.strerror or exc}")
            failed = True
        else:
            stdout_gone = stdout_gone or not _print_out(f"  report: {report_path}")
    if getattr(args, "json", False) and not stdout_gone:   # last, as a script reading the output expects
        stdout_gone = not _print_out(json.dumps({**result.summary, **meta}, ensure_ascii=False))
    if stdout_gone:   # `qa eval ... | head`: the files above are written all the same; qa.cli says the rest
        raise BrokenPipeError(32, "Broken pipe")
    return 130 if result.interrupted else 2 if failed else 0


def _print_out(text: str) -> bool:
    """Print to standard output; False when its reader has gone (a closed pipe), so that the output files
    are still written."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        return False
    return True


def _write_whole(path: Path, text: str, what: str) -> bool:
    """Write ``text`` to a temporary file beside ``path``, then replace ``path``: a failed write leaves the
    old file whole. False (and one error line) when it cannot be written."""
    # a link, a device or a FIFO is written through, as named: replacing it would replace the link or node
    whole = not path.is_symlink() and (path.is_file() or not path.exists())
    tmp = path.with_name(path.name + ".tmp") if whole else path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        if whole:
            os.replace(tmp, path)
    except OSError as exc:
        if whole:
            tmp.unlink(missing_ok=True)
        _err(f"cannot write the {what} file {path}: {exc.strerror or exc}")
        return False
    return True


def build_parser() -> argparse.ArgumentParser:
    from qa.options import add_eval_arguments

    return add_eval_arguments(argparse.ArgumentParser(prog="qa eval", description=__doc__.split("\n\n")[0]))


def main(argv: list[str] | None = None) -> int:
    return run_eval(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
