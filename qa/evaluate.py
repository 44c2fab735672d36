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
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qa.metrics import gold_rank, mrr_at_k, recall_at_k, score_answer

RETRIEVAL_DEPTH = 10          # passages ranked per question for recall@k / MRR
RECALL_KS = (1, 5, 10)

# Question types, checked in this order (the first whose pattern matches wins), with simplified and
# traditional spellings: (name, cue words shown in the report, pattern).
QUESTION_TYPES: list[tuple[str, str, re.Pattern]] = [(name, cues, re.compile(pat)) for name, cues, pat in (
    ("time", "何时 / 什么时候 / 哪一年 / 哪天",
     r"何[时時]|[什甚][么麼]时候|[什甚]麼時候|哪一?年|哪一?天|哪一?日|[几幾]月|[几幾][号號]|何年|哪个?(?:时期|朝代|世纪)|哪個?(?:時期|朝代|世紀)"),
    ("why/how", "为什么 / 如何 / 怎么", r"[为為][什甚][么麼]|[为為]何|如何|怎[么麼样樣]"),
    ("quantity", "多少 / 几", r"多少|[几幾](?!乎)|多[大长長高久远遠重]"),
    ("person", "谁", r"[谁誰]|(?<!任)何人"),
    ("place/which", "哪 / 哪里", r"哪|(?<!任)何[处處地]"),
    ("what", "什么", r"[什甚][么麼]|(?<!任)何[物种種]"),
)]
OTHER_TYPE = ("other", "其他")


def question_type(question: str) -> str:
    """Coarse type from Chinese question words: time, why/how, quantity, person, place/which, what, other."""
    for name, _, pattern in QUESTION_TYPES:
        if pattern.search(question):
            return name
    return OTHER_TYPE[0]


class DatasetError(ValueError):
    """The question set is missing, unreadable or malformed."""


class EvalOptionError(ValueError):
    """Conflicting or invalid evaluation options."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]              # empty: the corpus does not answer it
    gold_doc_id: str | None = None
    context: str | None = None            # the gold passage (SQuAD paragraph), for --reader-only

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class EvalSet:
    path: Path
    kind: str                             # "squad" | "jsonl"
    questions: list[EvalQuestion] = field(default_factory=list)
    paragraphs: int = 0

    @property
    def name(self) -> str:
        return self.path.name


# ---------------------------------------------------------------- loading question sets
def _question_from_obj(obj: Any, where: str, default_id: str) -> EvalQuestion:
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object like "
                           '{"id": ..., "question": ..., "answers": [...]}, got ' + type(obj).__name__)
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: \"question\" is missing or not a non-empty string")
    if "answers" not in obj:
        raise DatasetError(f"{where}: \"answers\" is missing (use [] for a question the documents do not answer)")
    answers = obj["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DatasetError(f"{where}: \"answers\" must be a list of strings")
    qid = obj.get("id")
    qid = default_id if qid is None or str(qid).strip() == "" else str(qid)
    doc_id, context = obj.get("doc_id"), obj.get("context")
    if doc_id is not None and not isinstance(doc_id, str):
        raise DatasetError(f"{where}: \"doc_id\" must be a string")
    if context is not None and not isinstance(context, str):
        raise DatasetError(f"{where}: \"context\" must be a string")
    return EvalQuestion(qid, question.strip(), tuple(a for a in answers if a.strip()), doc_id, context)


def load_eval_set(path: str | Path) -> EvalSet:
    """Read a SQuAD-style JSON file or a JSON-lines question file; raise :class:`DatasetError` when unusable."""
    from index.squad import SquadFormatError, is_squad_json, parse_squad

    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"{p}: no such file")
    if p.is_dir():
        raise DatasetError(f"{p} is a directory; give a SQuAD-style .json or a .jsonl question file")
    try:
        raw = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{p}: not UTF-8 text (expected SQuAD-style JSON or JSON lines)") from None
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise DatasetError(f"{p}: the file is empty")
    try:
        whole: Any = json.loads(raw)
        parsed_whole = True
    except json.JSONDecodeError:
        whole, parsed_whole = None, False
    out = EvalSet(p, "jsonl")
    if parsed_whole and isinstance(whole, dict) and "data" in whole:
        if not is_squad_json(whole):
            raise DatasetError(f"{p}: not SQuAD-style JSON (expected data[].paragraphs[].qas[])")
        try:
            squad = parse_squad(whole, str(p))
        except (SquadFormatError, ValueError, TypeError) as exc:
            raise DatasetError(f"{p}: malformed SQuAD-style JSON ({exc})") from None
        contexts = {para.id: para.context for para in squad.paragraphs}
        out.kind, out.paragraphs = "squad", len(squad.paragraphs)
        for q in squad.questions:
            answers = () if q.is_impossible else tuple(a for a in q.answers if a.strip())
            out.questions.append(EvalQuestion(q.id, q.question.strip(), answers, q.paragraph_id,
                                              contexts.get(q.paragraph_id)))
    elif parsed_whole and isinstance(whole, list):
        for i, obj in enumerate(whole):
            out.questions.append(_question_from_obj(obj, f"{p}: item {i}", f"q-{i + 1}"))
    else:
        for lineno, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{p}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                                   "each line must be one JSON object") from None
            out.questions.append(_question_from_obj(obj, f"{p}:{lineno}", f"line-{lineno}"))
    if not out.questions:
        raise DatasetError(f"{p}: the file holds no questions")
    seen: set[str] = set()
    for q in out.questions:
        if q.id in seen:
            raise DatasetError(f"{p}: question id {q.id!r} occurs more than once (ids key the predictions file)")
        seen.add(q.id)
    for q in out.questions:
        if q.question == "":
            raise DatasetError(f"{p}: question {q.id!r} is empty")
    return out


# ---------------------------------------------------------------- running
@dataclass
class EvalResult:
    rows: list[dict]
    summary: dict
    interrupted: bool = False
    total: int = 0                        # questions selected (rows < total when interrupted)


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def summarize(rows: list[dict], wall_s: float, retrieval: bool) -> dict:
    """The summary dict (see the module docstring for its keys)."""
    n = len(rows)
    pct = lambda xs: round(100.0 * _mean(xs), 3)  # noqa: E731
    s: dict[str, Any] = {"n": n}
    for key in ("em", "f1", "em_nospace", "f1_nospace"):
        s[key] = pct(r[key] for r in rows)
    s["em_best_span"] = pct(r["best_em"] for r in rows)
    s["f1_best_span"] = pct(r["best_f1"] for r in rows)
    s["answered"] = sum(1 for r in rows if not r["abstained"])
    s["abstained"] = n - s["answered"]
    unans = [r for r in rows if not r["answers"]]
    if unans:
        has = [r for r in rows if r["answers"]]
        s["n_unanswerable"] = len(unans)
        s["no_answer_accuracy"] = pct(1.0 if r["abstained"] else 0.0 for r in unans)
        s["has_answer_em"] = pct(r["em"] for r in has)
        s["has_answer_f1"] = pct(r["f1"] for r in has)
    ranks = [r["gold_rank"] for r in rows if r.get("gold_in_index")]
    if retrieval and ranks:
        s["n_retrieval"] = len(ranks)
        for k in RECALL_KS:
            s[f"recall@{k}"] = round(100.0 * recall_at_k(ranks, k), 3)
        s["mrr@10"] = round(mrr_at_k(ranks, 10), 4)
    lat = [r["latency_ms"] for r in rows]
    s["latency_ms_p50"] = round(_percentile(lat, 50), 2)
    s["latency_ms_p95"] = round(_percentile(lat, 95), 2)
    s["questions_per_s"] = round(n / wall_s, 3) if wall_s > 0 and n else 0.0
    return s


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


def _answer_with_bot(bot, q: EvalQuestion, config, threshold: float, depth: int) -> dict:
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
               best_span=best_span, answer_doc_id=ans.doc_id if not ans.abstained else (best.doc_id if best else None),
               passage=passage, retrieved_doc_ids=retrieved,
               gold_rank=gold_rank(retrieved, q.gold_doc_id) if known else None, gold_in_index=known,
               latency_ms=round(float(ans.latency_ms), 3))
    return row


def _answer_with_reader(reader, q: EvalQuestion, config, threshold: float) -> dict:
    from qa.bot import QuestionError, validate_question

    row = _base_row(q)
    try:
        question = validate_question(q.question, config.max_question_chars)
    except QuestionError as exc:
        row.update(prediction="", score=0.0, abstained=True, best_span="", passage=q.context,
                   latency_ms=0.0, error=str(exc))
        return row
    t0 = time.perf_counter()
    spans = reader.read(question, [q.context or ""], top_n=1)
    ms = (time.perf_counter() - t0) * 1000
    best = spans[0] if spans else None
    score = float(best.confidence) if best else 0.0
    abstained = best is None or score < threshold
    row.update(prediction="" if abstained else best.text, score=score, abstained=abstained,
               best_span=best.text if best else "", passage=q.context, latency_ms=round(ms, 3))
    return row


DETAIL_KEYS = ("id", "question", "prediction", "score", "abstained", "best_span", "answers", "gold_doc_id",
               "retrieved_doc_ids", "gold_in_index", "gold_rank", "answer_doc_id", "latency_ms", "qtype", "em", "f1",
               "em_nospace", "f1_nospace", "best_em", "best_f1", "passage", "error")


def detail_record(row: dict) -> dict:
    """The JSON-lines record of one row (fixed key order; absent fields omitted)."""
    return {k: row[k] for k in DETAIL_KEYS if k in row and not (k == "error" and row[k] is None)}


def evaluate(eval_set: EvalSet, config, *, bot=None, reader=None, reader_only: bool = False,
             no_abstain: bool = False, limit: int | None = None, details=None, progress: bool = True,
             depth: int = RETRIEVAL_DEPTH, on_row: Callable[[dict], None] | None = None) -> EvalResult:
    """Answer and score the set's questions.

    ``bot`` (a :class:`qa.bot.QABot`) is used unless ``reader_only``, in which case ``reader`` (an
    :class:`qa.reader.ExtractiveReader`) reads each question's gold passage. ``details`` is an open
    text file that gets one JSON line per question as soon as it is answered. Ctrl-C stops early:
    the result holds the rows done so far and ``interrupted`` is set.
    """
    from tqdm import tqdm

    from qa.bot import reader_threshold

    questions = eval_set.questions[:limit] if limit else list(eval_set.questions)
    if reader_only:
        if reader is None:
            raise EvalOptionError("reader-only evaluation needs a reader")
        missing = [q.id for q in questions if q.context is None]
        if missing:
            raise EvalOptionError(f"--reader-only needs each question's gold passage; {len(missing)} have none "
                                  f"(e.g. {missing[0]!r}): use a SQuAD-style set or add \"context\" to the lines")
        threshold = reader_threshold(config, verified=getattr(reader, "verifier", None) is not None)
    else:
        if bot is None:
            raise EvalOptionError("evaluation with retrieval needs a bot")
        threshold = bot.threshold
    if no_abstain:
        threshold = 0.0  # span scores are probabilities: nothing falls below 0
    rows: list[dict] = []
    interrupted = False
    bar = tqdm(total=len(questions), desc="evaluating", unit="q", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for q in questions:
            if reader_only:
                row = _answer_with_reader(reader, q, config, threshold)
            else:
                row = _answer_with_bot(bot, q, config, threshold, depth)
            _score_row(row, q.answers)
            rows.append(row)
            if details is not None:
                details.write(json.dumps(detail_record(row), ensure_ascii=False) + "\n")
                details.flush()
            if on_row is not None:
                on_row(row)
            bar.update(1)
            bar.set_postfix(em=f"{100 * _mean(r['em'] for r in rows):.1f}",
                            f1=f"{100 * _mean(r['f1'] for r in rows):.1f}", refresh=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    summary = summarize(rows, wall, retrieval=not reader_only)
    summary["threshold"] = None if no_abstain else round(float(threshold), 6)
    return EvalResult(rows, summary, interrupted, len(questions))


# ---------------------------------------------------------------- building the bot
def make_reader(config):
    from qa.reader import ExtractiveReader

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
    else:
        if corpus:
            paths = [Path(c).expanduser() for c in corpus]
        elif eval_set.kind == "squad":
            paths = [eval_set.path]
        else:
            paths = [SAMPLE_ARTICLE]
        store, _ = cached_index(paths, config, progress)
        if not store.chunks:
            raise StoreError("none of the corpus files could be indexed")
    return QABot(store, config, reader=reader)


def describe_corpus(eval_set: EvalSet, corpus, index, reader_only: bool) -> str:
    if reader_only:
        return "gold passages (reader only, no retrieval)"
    if index:
        return f"index {index}"
    if corpus:
        return "corpus " + " ".join(map(str, corpus))
    if eval_set.kind == "squad":
        return f"the set's own {eval_set.paragraphs} paragraphs"
    return "the bundled sample article"


# ---------------------------------------------------------------- CLI glue
def add_eval_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register the ``eval`` options (positional ``dataset``) on ``parser``."""
    parser.add_argument("dataset", help="question set: SQuAD-style JSON (CMRC2018, DRCD) or JSON lines "
                                        '{"id", "question", "answers": [...]} ([] = not answerable)')
    src = parser.add_argument_group("corpus")
    src.add_argument("--corpus", nargs="+", metavar="PATH",
                     help="files/folders to answer from, after the dataset (default: a SQuAD set's own paragraphs, "
                          "else the bundled sample article)")
    src.add_argument("--index", metavar="DIR", help="answer from a saved index instead")
    src.add_argument("--reader-only", action="store_true",
                     help="give each question its gold paragraph and skip retrieval (SQuAD-style sets)")
    run = parser.add_argument_group("run")
    run.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N questions")
    run.add_argument("--no-abstain", action="store_true",
                     help="always take the best span (the summary reports both figures anyway)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    out = parser.add_argument_group("output")
    out.add_argument("--predictions", metavar="FILE",
                     help="write {id: answer} JSON (official format; \"\" = abstained)")
    out.add_argument("--details", metavar="FILE", help="write one JSON line per question")
    out.add_argument("--report", metavar="DIR", help="write an HTML report with plots to DIR/index.html")
    out.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    cfg = parser.add_argument_group("configuration (defaults: ZHQA_* environment variables, then built-ins)")
    cfg.add_argument("--encoder", help="sentence-transformers id/path, or the embedded e5")
    cfg.add_argument("--reader", help="HF question-answering model id/path, or 'embedded'")
    cfg.add_argument("--top-k", type=int, metavar="K", help="passages handed to the reader")
    cfg.add_argument("--mode", choices=("bm25", "dense", "hybrid"), help="retrieval mode")
    cfg.add_argument("--chunk-size", type=int, metavar="CHARS", help="passage size when indexing")
    cfg.add_argument("--threshold", type=float, help="abstain below this span score")
    cfg.add_argument("--reader-device", help="where the reader runs: cpu (default), cuda, cuda:N or auto")
    cfg.add_argument("--verifier", action=argparse.BooleanOptionalAction, default=None,
                     help="weigh spans by the reader's answerability verifier, if it has one (default: off)")
    cfg.add_argument("--answer-types", action=argparse.BooleanOptionalAction, default=None,
                     help="drop answers whose figures are of another measure than the question asks for "
                          "(default: on)")
    return parser


def config_from_args(args):
    """The CLI's configuration (options, then ZHQA_* variables, then defaults; with ``--index``, that
    index's own encoder by default), checked more strictly because a bad value would waste a long run."""
    from qa.cli import config_from_args as cli_config

    cfg = cli_config(args)
    if cfg.top_k < 1:
        raise EvalOptionError("--top-k must be at least 1")
    if cfg.chunk_size < 20 or cfg.chunk_overlap >= cfg.chunk_size:
        raise EvalOptionError(f"--chunk-size must be at least 20 and larger than the chunk overlap "
                              f"({cfg.chunk_overlap})")
    if cfg.threshold is not None and not math.isfinite(cfg.threshold):
        raise EvalOptionError("--threshold must be a finite number")
    return cfg


def _fmt(v: Any, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def format_summary(result: EvalResult, title: str) -> str:
    """The terminal table."""
    s = result.summary
    lines = [title]
    if result.interrupted:
        lines.append(f"  INTERRUPTED: {len(result.rows)} of {result.total} questions done; figures cover those")
    rows: list[tuple[str, str]] = [
        ("questions", str(s["n"])),
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


def _open_output(path: str, what: str):
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        return open(p, "w", encoding="utf-8")
    except OSError as exc:
        raise EvalOptionError(f"cannot write the {what} file {p}: {exc.strerror or exc}") from None


def run_eval(args: argparse.Namespace) -> int:
    """Run ``qa eval`` with parsed ``args``; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    from index.store import StoreError

    try:
        eval_set = load_eval_set(args.dataset)
    except DatasetError as exc:
        _err(str(exc))
        return 2
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
        config = config_from_args(args)
        if getattr(args, "predictions", None):
            _open_output(args.predictions, "predictions").close()
        if getattr(args, "report", None):
            try:
                Path(args.report).expanduser().mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise EvalOptionError(f"cannot create the report folder {args.report}: {exc.strerror or exc}") from None
        if getattr(args, "details", None):
            details_fh = _open_output(args.details, "details")
    except EvalOptionError as exc:
        _err(str(exc))
        return 2

    progress = not getattr(args, "no_progress", False)
    try:
        try:
            if reader_only:
                reader, bot = make_reader(config), None
            else:
                reader, bot = None, make_bot(eval_set, config, corpus, index, progress=progress)
        except KeyboardInterrupt:
            _err("interrupted while loading models")
            return 130
        except (StoreError, OSError, ValueError, RuntimeError) as exc:
            _err(f"cannot set up the bot: {exc}")
            return 2
        try:
            result = evaluate(eval_set, config, bot=bot, reader=reader, reader_only=reader_only,
                              no_abstain=getattr(args, "no_abstain", False), limit=limit, details=details_fh,
                              progress=progress)
        except EvalOptionError as exc:
            _err(str(exc))
            return 2
    finally:
        if details_fh is not None:
            details_fh.close()

    kind = "SQuAD-style JSON" if eval_set.kind == "squad" else "JSON lines"
    corpus_desc = describe_corpus(eval_set, corpus, index, reader_only)
    meta = {"dataset": str(eval_set.path), "set": eval_set.name, "format": kind, "corpus": corpus_desc,
            "mode": "reader-only" if reader_only else config.mode, "top_k": None if reader_only else config.top_k,
            "encoder": None if reader_only else config.encoder, "reader": config.reader,
            "chunk_size": None if reader_only else config.chunk_size,
            "abstention": not getattr(args, "no_abstain", False)}
    result.summary.update(interrupted=result.interrupted, total=result.total)
    if getattr(args, "predictions", None):
        with _open_output(args.predictions, "predictions") as fh:
            json.dump({r["id"]: r["prediction"] for r in result.rows}, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    report_path = None
    if getattr(args, "report", None):
        from qa.report import write_report

        try:
            report_path = write_report(args.report, result, meta)
        except OSError as exc:
            _err(f"cannot write the report: {exc}")
    mode = "" if reader_only else f" · {config.mode} retrieval, top-k {config.top_k}"
    title = f"qa eval: {eval_set.name} ({kind}) · {corpus_desc}{mode} · reader {config.reader}"
    print(format_summary(result, title))
    if report_path is not None:
        print(f"  report: {report_path}")
    if getattr(args, "json", False):
        print(json.dumps({**result.summary, **meta}, ensure_ascii=False), flush=True)
    return 130 if result.interrupted else 0


def build_parser() -> argparse.ArgumentParser:
    return add_eval_arguments(argparse.ArgumentParser(prog="qa eval", description=__doc__.split("\n\n")[0]))


def main(argv: list[str] | None = None) -> int:
    return run_eval(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
