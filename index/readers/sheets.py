"""Spreadsheets (.xlsx via openpyxl, .csv): one line a row, each value after its column header.

Why this shape: a row read as 「地区：华东；营收：12亿元」 keeps each figure next to what it measures,
which is what a question asks about. Each sheet is a page. Rows past ``MAX_ROWS`` are cut, and the
reader says so.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from index.readers.located import LocatedText, UnreadableFile
from index.readers.package import check_package

SUFFIXES = {".xlsx", ".xlsm", ".csv"}
MAX_ROWS = 100_000         # per file; more is cut, with a note
MAX_COLUMNS = 1_000        # per row; cells further right are not read


def cell_text(v) -> str:
    """A cell's value as one line of text (a whole float without its 「.0」, runs of spaces as one)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return " ".join(str(v).split())


def row_text(header: list[str], row: list[str]) -> str:
    """A table row as 「header：value；header：value」 (a value equal to its header, or without one, alone)."""
    parts = []
    for i, value in enumerate(row):
        if not value:
            continue
        name = header[i] if i < len(header) and header[i] else ""
        parts.append(f"{name}：{value}" if name and name != value else value)
    return "；".join(parts)


def table_lines(rows: list[list[str]]) -> list[str]:
    """A Word, PowerPoint or PDF table's lines, by its shape:

    - a row with one value in a wider table (a merged caption, 「表1 主要财务指标」; a subtotal) is a line of
      its own, and is never taken for the header;
    - one column: each value a line;
    - two columns: each row 「label：value」 (a form: 「姓名：张三」, 「性别：男」);
    - more: the first row left is the header (「指标 | 2023年 | 2022年」), then each row as :func:`row_text`
      against it (「指标：营业收入；2023年：312亿元；2022年：288亿元」).
    Cells keep their columns: an empty cell stays in place."""
    rows = [r for r in rows if any(r)]
    width = max((len(r) for r in rows), default=0)
    lines: list[str] = []
    header: list[str] | None = None
    for row in rows:
        values = [c for c in row if c]
        if width == 1 or (len(values) == 1 and width > 1):
            lines.append(values[0])
        elif width == 2:
            label, value = values
            lines.append(f"{label}{'' if label.endswith(('：', ':')) else '：'}{value}")
        elif header is None:
            header = row
            lines.append(" | ".join(values))
        else:
            lines.append(row_text(header, row))
    return lines


def _add_table(rows, out: LocatedText, page: int | None, budget: list[int], sheet: str | None,
               wide: list[bool] | None = None) -> None:
    """Rows as lines after the first non-empty one, the header; ``budget[0]`` rows at most (a marker is
    appended to ``budget`` when rows are cut), ``MAX_COLUMNS`` cells a row (``wide[0]`` set when a cell
    further right held something)."""
    header: list[str] | None = None
    first = True
    for raw in rows:
        if len(raw) > MAX_COLUMNS:
            if wide is not None and any(v is not None and v != "" for v in raw[MAX_COLUMNS:]):
                wide[0] = True
            raw = raw[:MAX_COLUMNS]
        cells = [cell_text(v) for v in raw]
        if not any(cells):
            continue
        if header is None:
            header = cells
            heading = " | ".join(c for c in cells if c)
            out.add(f"{sheet}：{heading}" if sheet else heading, page=page, sep="\n\n" if first else "\n")
            first = False
            continue
        if budget[0] <= 0:
            budget.append(1)          # marks the cut
            return
        out.add(row_text(header, cells), page=page)
        budget[0] -= 1


def read_xlsx(path: Path) -> tuple[LocatedText, list[str]]:
    """(text, notes): one page a sheet."""
    import zipfile

    import openpyxl

    check_package(path, streamed=("xl/worksheets/",))
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(f"not an Excel .xlsx workbook ({type(exc).__name__})") from None
    except Exception as exc:
        raise UnreadableFile(f"damaged Excel workbook ({type(exc).__name__})") from None
    out, budget, wide = LocatedText(), [MAX_ROWS], [False]
    try:
        for number, sheet in enumerate(book.worksheets, 1):
            if hasattr(sheet, "reset_dimensions"):   # read-only: rows are as wide as their last cell, not
                sheet.reset_dimensions()             # as wide as the size the sheet declares (up to 16,384)
            _add_table(sheet.iter_rows(values_only=True), out, number, budget, sheet.title, wide)
            if len(budget) > 1:
                break
    finally:
        book.close()
    return out, _notes(budget, wide)


def _notes(budget: list[int], wide: list[bool]) -> list[str]:
    notes = [f"cut at {MAX_ROWS:,} rows (the rest is not indexed)"] if len(budget) > 1 else []
    return notes + ([f"cells past column {MAX_COLUMNS:,} are not indexed"] if wide[0] else [])


def read_csv_text(text: str) -> tuple[LocatedText, list[str]]:
    """(text, notes) of decoded CSV (the delimiter is sniffed: comma, tab, semicolon or bar)."""
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    out, budget, wide = LocatedText(), [MAX_ROWS], [False]
    try:
        _add_table(csv.reader(io.StringIO(text), dialect), out, None, budget, None, wide)
    except csv.Error as exc:
        raise UnreadableFile(f"malformed CSV ({exc})") from None
    return out, _notes(budget, wide)
