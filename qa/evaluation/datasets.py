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
    from index.readers.squad import SquadFormatError, is_squad_json, parse_squad

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
