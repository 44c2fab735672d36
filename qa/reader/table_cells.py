"""Table cells found by the names of their row and their column: 「2022年归母净利润是多少？」 over the row
「指标：归母净利润（亿元）；2021年：71.2；2022年：85.4；2023年：96.8」 is 85.4.

Why: the readers write a table's rows as fields after their column headers (index/readers/sheets.py), and
the reader reads such a row as a sentence. Asked for one year's value it gives the row's first figure,
another year's (71.2 for 2022), or the figure of the report's own year from the text: in a probe's KPI
table, 5 of 7 questions naming a year got another year's value, and the right one was among none of the
candidates. A question that names a row (its label, units in brackets aside, or another of its values)
and one of the row's columns, and nothing else the passage does not hold, has one answer: the cell where
they cross, a lookup as spreadsheet users do by eye. It is no lookup when the question asks about a change,
a comparison, a sum or a negation, names two rows, says anything no passage read does (another company:
「比亚迪2022年营业收入」 over another's report; 全球, 两倍), a few words about the report itself aside (公司,
报告期), or asks in another unit than the row's.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.bm25 import fold
from index.field_rows import row_fields
from qa.reader.answer_type import CHANGE, UNITS, agrees, expected_measure
from qa.reader.bounds import answer_bounds
from qa.reader.extractive import Span
from qa.reading_context import question_terms

TABLE_CELL_CONFIDENCE = 0.9   # both names matched exactly: the cell is answered with this confidence
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
# a change, a comparison, a sum, a share of something or a negation: not one cell's value
_NOT_A_LOOKUP = re.compile(CHANGE.pattern + r"|相比|比上一?年|比去年|较上年|较去年|相差|差额|差距|高出|低于|多出|少于|超过"
                           r"|之和|合计|总和|总计|平均|人均|扣除|分别|是否|不是|不在|没有|除了|以外|之外|目标|预计|计划|占"
                           r"|海外|境外|境内|国内|季度|上半年|下半年")
# words a question about a cell may say that its passage need not: the report's own subject and period
FILLER_WORDS = frozenset("公司 本公司 该公司 贵公司 报告 报告期 报告期内 年度 全年 当年 本年 期末 年末 年底 截至 截止 数值 "
                         "数据 金额 数量 一共 总共 请问".split())
_SAME_UNIT = {"名": "人", "位": "人"}   # people counted: 「是多少名？」 of a row in 人
_PLACEHOLDERS = {"n/a", "na", "无", "空", "不适用", "暂无", "未披露"}
_UNIT_AFTER_ASK = re.compile(r"(?:多少|几)(?P<unit>[十百千万亿]*(?:" + "|".join(
    sorted({re.escape(u) for us in UNITS.values() for u in us}, key=len, reverse=True)) + r"))")


@dataclass(frozen=True)
class Cell:
    """A table cell's value: ``start``/``end`` index passage ``passage``."""

    passage: int
    start: int
    end: int
    text: str
    row: str
    column: str


@dataclass(frozen=True)
class _Match:
    strength: int                  # characters of the question the row's and the column's names cover
    spans: tuple[tuple[int, int], ...]   # where in the folded question they are
    cell: Cell
    row_values: frozenset[str]     # the row's values, folded (a second row named by one of them is none)


def find_cell(question: str, passages: Sequence[str], answer_from: Sequence[int] | None = None) -> Cell | None:
    """The one cell whose row and column ``question`` names, in the passages' rows of fields; None when
    none does, or the question is no lookup (see the module's doc). ``answer_from``: where each passage's
    own text starts (a title read before it holds no cell, but counts as what the passage mentions)."""
    asked = "".join(fold(question).split())
    expected = expected_measure(question)
    matches: list[_Match] = []
    named_rows: list[tuple[tuple[int, int], frozenset[str]]] = []   # every row named, and where
    for p, text in enumerate(passages):
        offset = answer_from[p] if answer_from else 0
        line_start = 0
        for line in text.split("\n"):
            if line_start >= offset:
                fields = row_fields(line)
                if len(fields) >= 2:
                    values = frozenset(fold("".join(v.split())) for _, v, _ in fields)
                    named_rows.extend((span, values) for span in _row_spans(fields, asked))
                    matches.extend(_cells_in_row(asked, text, line, fields, values, p, line_start))
            line_start += len(line) + 1
    matches = [m for m in matches if agrees(expected, m.cell.text + _unit(m.cell.row))
               and _asked_unit_fits(asked, m.cell)]
    if not matches:
        return None
    best = max(m.strength for m in matches)
    top = [m for m in matches if m.strength == best]
    if len({m.cell.text for m in top}) != 1:
        return None
    match = top[0]
    if _other_row_named(match, named_rows):
        return None
    rest = _leftover(asked, match.spans)
    if _NOT_A_LOOKUP.search(rest):
        return None
    read = fold("\n".join(passages))
    if any(word not in read for word in _words(rest) if word not in FILLER_WORDS):
        return None   # the question says what no passage read does: another company (比亚迪, BYD), 全球, 两倍 …
    return match.cell


def _words(text: str) -> list[str]:
    """The question's words besides the row's and column's names: its Chinese words of two characters or
    more (question words aside) and its Latin words."""
    return question_terms(text) + [w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)]


def _cells_in_row(asked: str, text: str, line: str, fields: list[tuple[str, str, int]], values: frozenset[str],
                  passage: int, line_start: int) -> list[_Match]:
    """A match for each cell of ``line`` whose column ``asked`` names, in a row it names by another of its
    values (the first is the row's name in a table, 「归母净利润（亿元）」; in a spreadsheet any value may be:
    「张三」 of 「序号：1；姓名：张三；部门：市场部」), the two names at separate places of the question."""
    out = []
    for i, (label, value, at) in enumerate(fields):
        if i == 0 or not _is_value(value):
            continue
        for column in _spans(label, asked):
            keys = [(span, v) for j, (_, v, _) in enumerate(fields) if j != i for span in _spans(v, asked)
                    if span[1] <= column[0] or column[1] <= span[0]]
            if not keys:
                continue
            row_span, row = max(keys, key=lambda k: k[0][1] - k[0][0])
            start = line_start + at + (len(line[at:]) - len(line[at:].lstrip()))
            start, end = answer_bounds(text, start, start + len(value))   # 「12%¹」 → 12%
            cell = Cell(passage, start, end, text[start:end], row, label)
            strength = (row_span[1] - row_span[0]) + (column[1] - column[0])
            out.append(_Match(strength, (row_span, column), cell, values))
    return out


def _row_spans(fields: list[tuple[str, str, int]], asked: str) -> list[tuple[int, int]]:
    """Where ``asked`` names the row: its name (first value) or another of its values."""
    return [span for _, v, _ in fields for span in _spans(v, asked)]


def _other_row_named(match: _Match, named_rows: list[tuple[tuple[int, int], frozenset[str]]]) -> bool:
    """Whether the question names another row at a place of its own (「营业收入和净利润分别…」): not inside the
    matched row's name (「净利润」 in 「归母净利润」), not where the column is named, and not by a value the
    matched row holds too (张三's row and another of 市场部 are one row to 「市场部的张三…」)."""
    row_span, column_span = match.spans
    for span, values in named_rows:
        if values & match.row_values:
            continue
        inside = row_span[0] <= span[0] and span[1] <= row_span[1]
        on_column = not (span[1] <= column_span[0] or column_span[1] <= span[0])
        if not inside and not on_column:
            return True
    return False


def _leftover(asked: str, spans: Sequence[tuple[int, int]]) -> str:
    """The question without the row's and the column's names."""
    keep = [True] * len(asked)
    for s, e in spans:
        for k in range(s, e):
            keep[k] = False
    return "".join(ch if k else " " for ch, k in zip(asked, keep))


def _spans(name: str, asked: str) -> list[tuple[int, int]]:
    """Where ``asked`` holds ``name`` (whole, or without its bracketed units), longest form first; none for
    names of one character or of digits alone (a row number)."""
    out = []
    for candidate in dict.fromkeys((name, _BRACKETED.sub("", name))):
        folded = fold("".join(candidate.split()))
        if len(folded) < 2 or folded.replace(".", "").replace(",", "").isdigit():
            continue
        at = asked.find(folded)
        while at >= 0:
            out.append((at, at + len(folded)))
            at = asked.find(folded, at + 1)
        if out:
            break
    return out


def _is_value(value: str) -> bool:
    """A cell that holds something: not empty, not a dash or 「N/A」."""
    v = "".join(value.split()).lower()
    return bool(v) and v not in _PLACEHOLDERS and any(ch.isalnum() for ch in v)


def _asked_unit_fits(asked: str, cell: Cell) -> bool:
    """Where the question names a unit (「是多少美元」), the row's unit or the cell's own is it."""
    m = _UNIT_AFTER_ASK.search(asked)
    if m is None:
        return True
    unit = _SAME_UNIT.get(m.group("unit"), m.group("unit"))
    written = {_SAME_UNIT.get(u, u) for u in (fold(cell.text), fold(_unit(cell.row)))}
    return any(unit in w for w in written) or not (_unit(cell.row) or _has_unit(cell.text))


def _has_unit(text: str) -> bool:
    return bool(re.search(r"\d\s*[^\d\s.,%]", text)) or text.strip().endswith("%")


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
