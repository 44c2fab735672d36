"""Read SQuAD-style JSON (CMRC2018, DRCD): ``data[].paragraphs[].qas[]``.

Why: the same files serve as a corpus (each paragraph a document), as an evaluation set and as
reader training data, so one parser keeps their ids and offsets consistent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document


@dataclass(frozen=True)
class SquadParagraph:
    id: str
    title: str
    context: str


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    paragraph_id: str
    is_impossible: bool = False


@dataclass
class SquadSet:
    paragraphs: list[SquadParagraph] = field(default_factory=list)
    questions: list[SquadQuestion] = field(default_factory=list)


class SquadFormatError(ValueError):
    """The JSON does not have the SQuAD layout."""


def _offset(value) -> int:
    """An answer's character offset, or -1 when it is missing or not a whole number (``"abc"``, 1e400,
    NaN): a file's paragraphs stay readable; only that answer cannot be located by its offset."""
    if isinstance(value, bool):
        return -1
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return -1
    return number if number >= 0 and (not isinstance(value, float) or value == number) else -1


def is_squad_json(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("data"), list) and all(
        isinstance(d, dict) and "paragraphs" in d for d in obj["data"][:5])


def paragraph_id(title: str, para: dict, n: int) -> str:
    """A paragraph's id: its own, else ``<title>#<n>`` (n counts the file's paragraphs with a context);
    the corpus reader and the evaluation loader must agree on it for recall@k."""
    return str(para.get("id") or f"{title or 'paragraph'}#{n}")


def _list_at(value, where: str, source: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SquadFormatError(f"{source or 'input'}: {where} is not a list")
    return value


class ParagraphIds:
    """Unique paragraph ids, in file order: a repeated id (two paragraphs both ``"id": "p"``) gets ``~2``,
    ``~3``, ... so that neither paragraph replaces the other in a corpus. The corpus reader and the
    evaluation loader both number through it, so their ids agree."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def take(self, pid: str) -> str:
        count = self._seen.get(pid, 0) + 1
        self._seen[pid] = count
        if count == 1:
            return pid
        unique = f"{pid}~{count}"
        while unique in self._seen:
            count += 1
            unique = f"{pid}~{count}"
        self._seen[unique] = 1
        return unique


def parse_squad(obj: dict, source: str = "") -> SquadSet:
    """Parse a loaded SQuAD object; paragraph ids default to ``<title>#<n>`` when absent. A question is
    unanswerable when it says so (``is_impossible: true``) or its ``answers`` list holds no answer text;
    one without an ``answers`` list is neither (training drops it)."""
    if not is_squad_json(obj):
        raise SquadFormatError(f"{source or 'input'}: not SQuAD-style JSON (expected data[].paragraphs[])")
    out = SquadSet()
    n = 0
    ids = ParagraphIds()
    for i, article in enumerate(obj["data"]):
        if not isinstance(article, dict):
            raise SquadFormatError(f"{source or 'input'}: data[{i}] is not an object")
        title = str(article.get("title", "")).strip()
        for j, para in enumerate(_list_at(article.get("paragraphs"), f"data[{i}].paragraphs", source)):
            if not isinstance(para, dict):
                raise SquadFormatError(f"{source or 'input'}: data[{i}].paragraphs[{j}] is not an object")
            context = para.get("context")
            if not isinstance(context, str):
                continue
            pid = ids.take(paragraph_id(title, para, n))
            n += 1
            out.paragraphs.append(SquadParagraph(pid, title, context))
            where = f"data[{i}].paragraphs[{j}].qas"
            for k, qa in enumerate(_list_at(para.get("qas"), where, source)):
                if not isinstance(qa, dict):
                    raise SquadFormatError(f"{source or 'input'}: {where}[{k}] is not an object")
                given = qa.get("answers")
                answers = [a for a in given if isinstance(a, dict) and a.get("text")] if isinstance(given, list) else []
                out.questions.append(SquadQuestion(
                    id=str(qa.get("id")),
                    question=str(qa.get("question", "")),
                    answers=tuple(str(a["text"]) for a in answers),
                    answer_starts=tuple(_offset(a.get("answer_start")) for a in answers),
                    paragraph_id=pid,
                    is_impossible=qa.get("is_impossible") is True or (isinstance(given, list) and not answers),
                ))
    return out


def load_squad(path: str | Path) -> SquadSet:
    with open(path, encoding="utf-8-sig") as fh:
        return parse_squad(json.load(fh), str(path))


def locate_answer(context: str, text: str, start: int) -> int:
    """The answer's start in ``context``: ``start`` if it points at ``text``, else the nearest match, else -1."""
    if 0 <= start and context[start:start + len(text)] == text:
        return start
    best, pos = -1, context.find(text)
    while pos >= 0:
        if best < 0 or abs(pos - start) < abs(best - start):
            best = pos
        pos = context.find(text, pos + 1)
    return best


SUFFIXES = {".json"}


def squad_documents(text: str, source: str) -> list[Document]:
    """Each non-empty paragraph of a SQuAD-style JSON text as a document (SquadFormatError, ValueError if not)."""
    squad = parse_squad(json.loads(text), source)
    return [Document(p.id, p.title, p.context, source) for p in squad.paragraphs if p.context.strip()]
