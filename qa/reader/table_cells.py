"""Table cells found by the names of their row and their column: 「2022年归母净利润是多少？」 over the row
「指标：归母净利润（亿元）；2021年：71.2；2022年：85.4；2023年：96.8」 is 85.4.

Why: the readers write a table's rows as fields after their column headers (index/readers/sheets.py), and
the reader reads such a row as a sentence. Asked for one year's value it gives the row's first figure,
another year's (71.2 for 2022), or the figure of the report's own year from the text: in a probe's KPI
table, 5 of 7 questions naming a year got another year's value, and the right one was among none of the
candidates. A question that names a row (its label, units in brackets aside, or another of its values)
and one of the row's columns has one answer, the cell where they cross: a lookup, as spreadsheet users do
by eye. Questions
about a change (「增长多少」) are not lookups, unless the row or column names the change itself.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.bm25 import fold
from index.field_rows import row_fields
from qa.reader.answer_type import CHANGE, agrees, expected_measure
from qa.reader.extractive import Span

TABLE_CELL_CONFIDENCE = 0.9   # both names matched exactly: the cell is answered with this confidence
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
_CHANGE = re.compile(CHANGE.pattern + r"|相比|比上年|较上年")


@dataclass(frozen=True)
class Cell:
    """A table cell's value: ``start``/``end`` index passage ``passage``."""

    passage: int
    start: int
    end: int
    text: str
    row: str
    column: str


def find_cell(question: str, passages: Sequence[str], answer_from: Sequence[int] | None = None) -> Cell | None:
    """The one cell whose row and column ``question`` names, in the passages' rows of fields; None when no
    cell, or cells of different values, match (or the question asks about a change). ``answer_from``: where
    each passage's own text starts (a title read before it holds no cell)."""
    asked = fold(question)
    if _CHANGE.search(asked):
        return None
    expected = expected_measure(question)
    found: list[tuple[int, Cell]] = []
    for p, text in enumerate(passages):
        offset = answer_from[p] if answer_from else 0
        line_start = 0
        for line in text.split("\n"):
            if line_start >= offset:
                found.extend(_cells_in_row(asked, line, p, line_start))
            line_start += len(line) + 1
    found = [(strength, c) for strength, c in found if agrees(expected, c.text + _unit(c.row))]
    if not found:
        return None
    best = max(strength for strength, _ in found)
    values = {c.text for strength, c in found if strength == best}
    if len(values) != 1:
        return None
    return next(c for strength, c in found if strength == best)


def _cells_in_row(asked: str, line: str, passage: int, line_start: int) -> list[tuple[int, Cell]]:
    """(strength, cell) for each cell of ``line``, a row of two fields or more, whose column ``asked``
    (folded) names, in a row it names by another of its values (the first is the row's name in a table,
    「归母净利润（亿元）」; in a spreadsheet any value may be: 「张三」 of 「序号：1；姓名：张三；部门：市场部」);
    strength is how many characters the two names matched."""
    fields = row_fields(line)
    out = []
    for i, (label, value, at) in enumerate(fields):
        column_match = _name_match(label, asked)
        if not column_match or not value or i == 0:
            continue
        keys = [(_name_match(v, asked), v) for j, (_, v, _) in enumerate(fields) if j != i]
        row_match, row = max(keys, default=(0, ""))
        if not row_match:
            continue
        start = line_start + at + (len(line[at:]) - len(line[at:].lstrip()))
        out.append((row_match + column_match, Cell(passage, start, start + len(value), value, row, label)))
    return out


def _name_match(name: str, asked: str) -> int:
    """How many characters of ``name`` (whole, or without its bracketed units) ``asked`` holds; 0 for none.
    Names of one character, or of digits alone (a row number), match nothing."""
    for candidate in (name, _BRACKETED.sub("", name)):
        folded = fold("".join(candidate.split()))
        if len(folded) >= 2 and not folded.isdigit() and folded in "".join(asked.split()):
            return len(folded)
    return 0


def _unit(row: str) -> str:
    """The unit a row's name gives its values: 「归母净利润（亿元）」 → 亿元, for the answer-type check."""
    m = _BRACKETED.search(row)
    return m.group(0)[1:-1] if m else ""


def with_table_cell(question: str, passages: Sequence[str], answer_from: Sequence[int] | None,
                    spans: list[Span]) -> list[Span]:
    """``spans`` (the reader's, best first) after the cell :func:`find_cell` finds, if it finds one, at
    TABLE_CELL_CONFIDENCE; the reader's own span over the same characters is not listed twice."""
    cell = find_cell(question, passages, answer_from)
    if cell is None:
        return spans
    first = Span(cell.passage, cell.start, cell.end, cell.text, TABLE_CELL_CONFIDENCE, 0.0)
    return [first] + [s for s in spans if (s.passage, s.start, s.end) != (cell.passage, cell.start, cell.end)]
