"""Question sets for evaluation: SQuAD-style JSON or JSON lines, and coarse question types.

Why: every evaluation (``qa eval``, the benchmarks, the report) reads sets the same way, with
the same checks and ids, so figures from different tools are comparable.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.readers.squad import ParagraphIds, paragraph_id
from qa.question_text import SURROGATES, without_blank_ends

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


SKIP_EXAMPLES = 5                         # ids kept per skip reason, to show where to look


@dataclass
class EvalSet:
    path: Path
    kind: str                             # "squad" | "jsonl"
    questions: list[EvalQuestion] = field(default_factory=list)
    paragraphs: int = 0
    skipped: dict[str, int] = field(default_factory=dict)             # reason -> rows skipped
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> first ids/locations

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, ref: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        examples = self.skipped_examples.setdefault(reason, [])
        if len(examples) < SKIP_EXAMPLES:
            examples.append(ref)


class RowError(DatasetError):
    """One row of a question set is unusable: ``reason`` is its short kind (the key of ``EvalSet.skipped``)."""

    def __init__(self, reason: str, message: str, ref: str):
        super().__init__(message)
        self.reason, self.ref = reason, ref


# ---------------------------------------------------------------- loading question sets
MAX_CONTEXT_CHARS = 200_000   # a gold paragraph longer than this is not read (hundreds of reader windows)


def _check_text(where: str, ref: str, *texts: Any) -> None:
    """RowError for text no UTF-8 can carry (lone surrogates, from JSON ``\ud800`` escapes): the bot
    refuses such questions, and the predictions, details and report could not be written."""
    if any(isinstance(t, str) and SURROGATES.search(t) for t in texts):
        raise RowError("invalid text", f"{where}: holds unpaired UTF-16 surrogate characters", ref)


def _check_context(context: Any, where: str, ref: str) -> None:
    if isinstance(context, str) and len(context) > MAX_CONTEXT_CHARS:
        raise RowError("context too long", f"{where}: the paragraph is {len(context):,} characters long; "
                       f"the limit is {MAX_CONTEXT_CHARS:,}", ref)


def _check_question(question: Any, where: str, ref: str, max_chars: int | None) -> str:
    if question is None:
        raise RowError("question missing", f"{where}: \"question\" is missing", ref)
    if not isinstance(question, str):
        raise RowError("question not text", f"{where}: \"question\" must be a string, not "
                       f"{type(question).__name__}", ref)
    question = without_blank_ends(question)   # as the bot reads it (qa/question_text.py)
    if not question:
        raise RowError("empty question", f"{where}: \"question\" is empty", ref)
    if max_chars is not None and len(question) > max_chars:
        raise RowError("question too long", f"{where}: the question is {len(question)} characters long; "
                       f"the limit is {max_chars}", ref)
    return question


def _question_from_obj(obj: Any, where: str, default_id: str, max_chars: int | None) -> EvalQuestion:
    if not isinstance(obj, dict):
        raise RowError("not a JSON object", f"{where}: expected a JSON object like "
                       '{"id": ..., "question": ..., "answers": [...]}, got ' + type(obj).__name__, where)
    qid = obj.get("id")
    if qid is not None and not isinstance(qid, (str, int)):
        raise RowError("bad id", f"{where}: \"id\" must be a string or a number", where)
    if isinstance(qid, bool):
        raise RowError("bad id", f"{where}: \"id\" must be a string or a number, not {qid}", where)
    qid = default_id if qid is None or str(qid).strip() == "" else str(qid)
    _check_text(where, where, qid)
    question = _check_question(obj.get("question"), where, qid, max_chars)
    if "answers" not in obj:
        raise RowError("answers missing",
                       f"{where}: \"answers\" is missing (use [] for a question the documents do not answer)", qid)
    answers = obj["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise RowError("answers not strings", f"{where}: \"answers\" must be a list of strings", qid)
    if answers and not any(a.strip() for a in answers):
        raise RowError("empty answer", f"{where}: every answer is blank (use [] for a question the documents "
                       "do not answer)", qid)
    doc_id, context = obj.get("doc_id"), obj.get("context")
    if doc_id is not None and not isinstance(doc_id, str):
        raise RowError("bad doc_id", f"{where}: \"doc_id\" must be a string", qid)
    if context is not None and not isinstance(context, str):
        raise RowError("paragraph without context", f"{where}: \"context\" must be a string", qid)
    _check_text(where, qid, question, doc_id, context, *answers)
    _check_context(context, where, qid)
    return EvalQuestion(qid, question, tuple(a for a in answers if a.strip()), doc_id, context)


def _squad_rows(whole: dict, p: Path, out: EvalSet, max_chars: int | None, keep) -> None:
    """The questions of a SQuAD-style object, each row checked on its own (``keep`` takes or skips it)."""
    n = 0
    ids = ParagraphIds()   # as index.readers.squad makes repeated paragraph ids unique
    for ai, article in enumerate(whole["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            keep(RowError("article without paragraphs", f"{p}: data[{ai}] has no \"paragraphs\" list",
                          f"data[{ai}]"))
            continue
        title = str(article.get("title", "")).strip()   # as index.readers.squad numbers the corpus' paragraphs
        for pi, para in enumerate(article["paragraphs"]):
            where = f"{p}: data[{ai}].paragraphs[{pi}]"
            if not isinstance(para, dict):
                keep(RowError("paragraph not an object", f"{where} is not a JSON object", f"data[{ai}][{pi}]"))
                continue
            context = para.get("context")
            pid = paragraph_id(title, para, n)
            if isinstance(context, str):     # numbered as index.readers.squad numbers the corpus' paragraphs
                pid = ids.take(pid)
                n += 1
                out.paragraphs += 1
            qas = para.get("qas", [])
            if not isinstance(qas, list):
                keep(RowError("paragraph without questions list", f"{where}: \"qas\" is not a list", pid))
                continue
            for qi, qa in enumerate(qas):
                qwhere = f"{where}.qas[{qi}]"
                if not isinstance(qa, dict):
                    keep(RowError("not a JSON object", f"{qwhere} is not a JSON object", qwhere))
                    continue
                qid = qa.get("id")
                if qid is None or isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid).strip() == "":
                    keep(RowError("missing id", f"{qwhere}: \"id\" is missing or not a string", qwhere))
                    continue
                qid = str(qid)
                if not isinstance(context, str) or not context.strip():
                    keep(RowError("paragraph without context", f"{where}: \"context\" is missing or empty "
                                  f"(question {qid!r})", qid))
                    continue
                try:
                    _check_text(qwhere, qwhere, qid)
                    question = _check_question(qa.get("question"), qwhere, qid, max_chars)
                    if "answers" not in qa and qa.get("is_impossible") is not True:
                        raise RowError("answers missing", f"{qwhere}: \"answers\" is missing (use [] or "
                                       '"is_impossible": true for a question the paragraph does not answer)', qid)
                    answers = qa.get("answers") or []
                    if not isinstance(answers, list) or not all(
                            isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers):
                        raise RowError("answers not strings", f"{qwhere}: \"answers\" must be a list of "
                                       '{"text": "...", "answer_start": N} objects', qid)
                    _check_text(qwhere, qid, question, context, *(a["text"] for a in answers))
                    _check_context(context, where, qid)
                except RowError as exc:
                    keep(exc)
                    continue
                texts = tuple(a["text"] for a in answers if a.get("text", "").strip())
                impossible = qa.get("is_impossible") is True or not texts
                keep(EvalQuestion(qid, question, () if impossible else texts, pid, context))


def load_eval_set(path: str | Path, *, strict: bool = False, max_question_chars: int | None = None) -> EvalSet:
    """Read a SQuAD-style JSON file or a JSON-lines question file.

    A file that cannot be used at all (missing, not UTF-8, not JSON, no usable question) raises
    :class:`DatasetError`. A bad row (empty or over-long question, missing or duplicate id, answers
    that are not strings, a paragraph without context) is skipped and counted in ``skipped`` by
    reason; with ``strict`` the first bad row raises instead.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"{p}: no such file")
    if p.is_dir():
        raise DatasetError(f"{p} is a directory; give a SQuAD-style .json or a .jsonl question file")
    if not p.is_file():   # a FIFO would block, a device (/dev/zero) never ends
        raise DatasetError(f"{p} is not a regular file; give a SQuAD-style .json or a .jsonl question file")
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
    except (ValueError, RecursionError):   # JSONDecodeError, or e.g. an integer over 4,300 digits
        whole, parsed_whole = None, False
    out = EvalSet(p, "jsonl")
    seen: set[str] = set()

    def keep(item: EvalQuestion | RowError) -> None:
        if isinstance(item, EvalQuestion) and item.id in seen:
            item = RowError("duplicate id", f"{p}: question id {item.id!r} occurs more than once "
                            "(ids key the predictions file)", item.id)
        if isinstance(item, RowError):
            if strict:
                raise DatasetError(str(item))
            out.skip(item.reason, item.ref)
            return
        seen.add(item.id)
        out.questions.append(item)

    if parsed_whole and isinstance(whole, dict) and "data" in whole:
        if not isinstance(whole["data"], list) or not any(isinstance(d, dict) and "paragraphs" in d
                                                          for d in whole["data"][:5]) and whole["data"]:
            raise DatasetError(f"{p}: not SQuAD-style JSON (expected data[].paragraphs[].qas[])")
        out.kind = "squad"
        _squad_rows(whole, p, out, max_question_chars, keep)
    elif parsed_whole and isinstance(whole, list):
        for i, obj in enumerate(whole):
            try:
                keep(_question_from_obj(obj, f"{p}: item {i}", f"q-{i + 1}", max_question_chars))
            except RowError as exc:
                keep(exc)
    elif parsed_whole and not isinstance(whole, dict):   # a one-line JSON-lines file parses whole
        raise DatasetError(f"{p}: expected SQuAD-style JSON (an object with \"data\"), a JSON list of "
                           f"questions or JSON lines, got a single JSON {type(whole).__name__}")
    else:
        for lineno, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{p}:{lineno}"
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError) as exc:
                msg = (f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError)
                       else "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80])
                keep(RowError("invalid JSON line", f"{where}: not valid JSON ({msg}); "
                              "each line must be one JSON object", f"line {lineno}"))
                continue
            try:
                keep(_question_from_obj(obj, where, f"line-{lineno}", max_question_chars))
            except RowError as exc:
                keep(exc)
    if not out.questions:
        why = (" (" + describe_skipped(out) + ")") if out.skipped else ""
        raise DatasetError(f"{p}: the file holds no questions{' that can be used' if why else ''}{why}")
    return out


def describe_skipped(eval_set: EvalSet) -> str:
    """One line: ``2 skipped: empty question 2 (e.g. q7, q9)``."""
    parts = [f"{reason} {n} (e.g. {', '.join(eval_set.skipped_examples.get(reason, []))})"
             for reason, n in sorted(eval_set.skipped.items(), key=lambda kv: -kv[1])]
    return f"{eval_set.skipped_total} skipped: " + "; ".join(parts)
