"""The row of fields the readers write a table's row as: 「指标：营业收入（亿元）；2022年：1,136.7；2023年：1,234.5」.

Why one place: the readers write it (index/readers/sheets.py), the normalizer keeps its line breaks, the
chunker keeps it whole and the table-cell lookup (qa/reader/table_cells.py) reads its cells; each must
recognise the same thing.
"""
from __future__ import annotations

import re

MAX_LABEL_CHARS = 40
_LABEL = rf"[^\s，。；：:,;！？!?|][^；;：:\n]{{0,{MAX_LABEL_CHARS - 1}}}"
_FIELD = re.compile(rf"({_LABEL})[：:]([^；;\n]*)")
# two fields or more, the whole line
_VALUE = r"[^；;\n。！？]*"   # a cell ends no sentence (a 「变动原因」 cell may hold a comma, OCR's 「1，234」 one)
_ROW = re.compile(rf"\s*{_LABEL}[：:]{_VALUE}(?:[；;]\s*{_LABEL}[：:]{_VALUE})+\s*")
# a line that begins as a row does (two fields at least), for the normalizer's look at a line's start
_ROW_START = re.compile(rf"\s*{_LABEL}[：:]{_VALUE}[；;]\s*{_LABEL}[：:]")


def is_field_row(line: str) -> bool:
    """Whether ``line`` is wholly two fields or more joined by 「；」, not a clause wrapped after a comma
    (「一、经营情况：…100亿元；其中：主营业务收入90亿元，」 runs on in the next line)."""
    return bool(_ROW.fullmatch(line)) and not line.rstrip().endswith(("，", "、", ","))


def starts_field_row(line: str) -> bool:
    """Whether ``line`` begins with two fields (the normalizer sees a line's first characters only)."""
    return bool(_ROW_START.match(line))


def row_fields(line: str) -> list[tuple[str, str, int]]:
    """The (label, value, where the value starts in ``line``) of a row of fields; [] for another line."""
    if not is_field_row(line):
        return []
    return [(m.group(1).strip(), m.group(2).strip(), m.start(2)) for m in _FIELD.finditer(line)]
