"""Columns of a PDF page whose text layer draws them row by row: read column by column instead.

Why: pdfium gives a page's text in the order it was drawn. Most files draw a column at a time, but
some converters draw a two-column page row by row, and the text then reads
「…股东大会3次、董事会会公司面临的主要风险包括…原材料议11次…」: the left column's line, then the right
column's, then the left's next. An answer ran across both (「公司的汇兑损失是多少？」 → 「其中独立董事3名」).
The page's text runs (pdfium's rectangles, each on one line) are cut into blocks at blank bands,
columns first (the XY-cut OCR'd pages use, index/readers/image.py), and where a cut between two columns
of wrapped prose finds the runs drawn back and forth across it, the page is read block by block in
reading order. Only such a cut splits columns; a table beside or below them is cut into bands of rows,
each read in the drawing order. Pages drawn column by column, or with one column, keep pdfium's text.
"""
from __future__ import annotations

import re
import statistics
from collections.abc import Callable

from index.readers.image import OcrLine, split_at_gap

MAX_RUNS = 2000      # a page drawing more text runs is a grid of figures, not columns of prose (the cut is quadratic)
MIN_CROSSINGS = 4     # a column cut drawn across this often (back and forth) is drawn row by row
MIN_COLUMN_RUNS = 3   # runs each side of a cut for it to be between columns, not a label and its value
MIN_COLUMN_LINES = 10  # line heights: a column of text is this wide at least; a table's column of cells is narrower
MIN_PROSE_SHARE = 0.5  # of a column's lines holding sentence punctuation, and filling its width: prose
PAGE_PROSE_SHARE = 0.25  # of a page's lines, as drawn: below it (a grid of figures) the cut is not tried
MIN_RUN_ON_SHARE = 0.3  # of a column's lines that stop mid-sentence: wrapped prose
MIN_FILL = 0.8         # of a column's width: a wrapped line of prose reaches this far
_SENTENCE_MARKS = set("，。；：、！？")
_ENDS = re.compile(r"[，。；：、！？,.;:!?）)」』”]$")


def column_ordered_text(textpage, page, drawn: str) -> str | None:
    """The page's text block by block in reading order when its text layer draws columns row by row;
    None when it does not (keep pdfium's own text, ``drawn``)."""
    if not _is_prose(drawn, PAGE_PROSE_SHARE):
        return None
    count = textpage.count_rects()   # pdfium works the rectangles out here, once
    if count > MAX_RUNS:
        return None
    runs = _runs(textpage, count, page.get_size()[1])
    if len(runs) < 2 * MIN_COLUMN_RUNS:
        return None
    height = statistics.median(r.box[3] - r.box[1] for r in runs) or 1.0
    page_height = page.get_size()[1]

    def text_of(group: list[OcrLine]) -> str:
        x0, y0 = min(r.box[0] for r in group), min(r.box[1] for r in group)
        x1, y1 = max(r.box[2] for r in group), max(r.box[3] for r in group)
        text = textpage.get_text_bounded(left=x0 - 0.5, bottom=page_height - y1 - 0.5, right=x1 + 0.5,
                                         top=page_height - y0 + 0.5)
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()

    def is_column_of_prose(part: list[OcrLine]) -> bool:
        text = text_of(part)
        return _is_prose(text) and _runs_on(text) and _wrapped(part, height)

    blocks, interleaved = _blocks(runs, height, is_column_of_prose)
    if not interleaved:
        return None
    return "\n".join(t for t in map(text_of, blocks) if t)


def _is_prose(text: str, share: float = MIN_PROSE_SHARE) -> bool:
    """Lines of sentences (``share`` of them hold a comma or full stop at least), not a table's cells
    (「营业收入（亿元）」, 「982.3」)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    return bool(lines) and sum(any(c in _SENTENCE_MARKS for c in ln) for ln in lines) >= share * len(lines)


def _runs_on(text: str) -> bool:
    """Whether many lines stop mid-sentence, as a column's wrapped lines do (「…董事会会」 / 「议11次…」); a table's
    cells end where their text does (「…锁定汇率，」)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return bool(lines) and sum(not _ENDS.search(ln) for ln in lines) >= MIN_RUN_ON_SHARE * len(lines)


def _wrapped(part: list[OcrLine], height: float) -> bool:
    """Whether the part's lines fill its width as wrapped text does (most reach MIN_FILL of it); a table's
    column of terms or definitions (释义: 「实际控制人」 / 「指」 / 「王建国先生，公司董事长」) does not."""
    left, right = min(r.box[0] for r in part), max(r.box[2] for r in part)
    rows: list[list[float]] = []   # [top, bottom, left, right] of each line
    for r in sorted(part, key=lambda r: (r.box[1] + r.box[3]) / 2):
        if rows and min(rows[-1][1], r.box[3]) - max(rows[-1][0], r.box[1]) >= 0.5 * height:
            rows[-1][2], rows[-1][3] = min(rows[-1][2], r.box[0]), max(rows[-1][3], r.box[2])
        else:
            rows.append([r.box[1], r.box[3], r.box[0], r.box[2]])
    full = sum(1 for _, _, x0, x1 in rows if x1 - x0 >= MIN_FILL * (right - left))
    return len(rows) >= MIN_COLUMN_RUNS and full >= MIN_PROSE_SHARE * len(rows)


def _runs(textpage, count: int, page_height: float) -> list[OcrLine]:
    """pdfium's text rectangles as boxes measured from the page's top (as OCR lines are), in drawing
    order (``score`` holds the rectangle's index)."""
    runs = []
    for k in range(count):
        left, bottom, right, top = textpage.get_rect(k)
        if right > left and top > bottom:
            runs.append(OcrLine("", (left, page_height - top, right, page_height - bottom), float(k)))
    return runs


def _blocks(runs: list[OcrLine], height: float,
            is_prose: Callable[[list[OcrLine]], bool]) -> tuple[list[list[OcrLine]], bool]:
    """The runs cut into blocks, in reading order, and whether a cut between columns of prose drawn back
    and forth across it was found. Only such a cut splits columns: elsewhere a group is cut into bands
    top to bottom, or kept whole, so a table beside or below the columns keeps its rows (each block is
    read in the drawing order). Cut with a stack, not recursion: a page of a thousand lines is a thousand
    cuts deep."""
    interleaved = False
    blocks: list[list[OcrLine]] = []
    stack = [list(runs)]
    while stack:
        group = stack.pop()
        parts = split_at_gap(group, 0, 1.0 * height) if len(group) > 1 else [group]
        if len(parts) > 1 and _text_columns(parts, height) and _crossings(parts) >= MIN_CROSSINGS \
                and all(map(is_prose, parts)):
            interleaved = True
        else:
            parts = split_at_gap(group, 1, 0.8 * height) if len(group) > 1 else [group]
        if len(parts) == 1:
            blocks.append(group)
        else:
            stack.extend(reversed(parts))   # the first part is cut (or kept) first: reading order
    return blocks, interleaved


def _text_columns(parts: list[list[OcrLine]], height: float) -> bool:
    """Whether the parts either side of a cut could be columns of text: runs enough, and wide enough
    each (a table's column of figures is narrower)."""
    return all(len(p) >= MIN_COLUMN_RUNS and max(r.box[2] for r in p) - min(r.box[0] for r in p) >= MIN_COLUMN_LINES * height
               for p in parts)


def _crossings(parts: list[list[OcrLine]]) -> int:
    """How often the drawing order goes from one side of a cut to the other."""
    side = sorted((run.score, i) for i, part in enumerate(parts) for run in part)
    return sum(1 for (_, a), (_, b) in zip(side, side[1:]) if a != b)
