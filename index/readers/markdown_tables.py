"""Markdown pipe tables read as the other formats' tables are: a header line, then a line a row with each
value after its column's header (「项目：营业收入（亿元）；2023年：186.42；2022年：162.57」).

Why: a pipe table stayed raw 「|营业收入（亿元）| 186.42 | 162.57 | 14.67% |」. A chunk cut below its header row
said nowhere which column was 2023, answers ran across cells (「9.87 | 8.14 | 21.25%」), and the table-cell
lookup (qa/reader/table_cells.py) never saw a row. Reports converted to Markdown are full of such tables.
Only a table with GitHub's separator row (「|---|:---:|」) under its header is rewritten; the rest of the
text is kept as it is.
"""
from __future__ import annotations

import re

from index.readers.sheets import row_text

_SEPARATOR_CELL = re.compile(r"\s*:?-{3,}:?\s*")


def _cells(line: str) -> list[str]:
    """A pipe row's cells, without the outer pipes (「| a | b |」 and 「a | b」 alike); escaped pipes kept."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [" ".join(c.replace("\\|", "|").split()) for c in re.split(r"(?<!\\)\|", body)]


def _is_separator(line: str) -> bool:
    cells = _cells(line)
    return "|" in line and len(cells) >= 2 and all(_SEPARATOR_CELL.fullmatch(c) for c in cells)


def _is_pipe_row(line: str) -> bool:
    return "|" in line and bool(line.strip()) and not _is_separator(line)


def with_tables_as_rows(text: str) -> str:
    """``text`` with each pipe table (a header row, a separator row, then rows) as its header line and a
    row of fields a row (index/readers/sheets.py's ``row_text``); ``text`` itself when it holds none."""
    if "|" not in text or "-" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and _is_pipe_row(lines[i]) and _is_separator(lines[i + 1]) \
                and len(_cells(lines[i])) == len(_cells(lines[i + 1])):
            rows = [_cells(lines[i])]
            j = i + 2
            while j < len(lines) and _is_pipe_row(lines[j]):
                rows.append(_cells(lines[j]))
                j += 1
            header = [rows[0][0] or "项目"] + rows[0][1:]   # an empty corner names the row labels
            out.append(" | ".join(header))   # the separator row says the first row is the header, whatever the width
            out.extend(row_text(header, row) for row in rows[1:] if any(row))
            i = j
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)
