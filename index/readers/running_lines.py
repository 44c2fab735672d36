"""Running headers and footers: the short lines a multi-page document repeats at the top or bottom of
its pages (「华辰新能源科技股份有限公司 2023年年度报告」, 「第 3 页 共 8 页」, 「— 3 —」), found so they
can be left out of the text.

Why: pages are joined into one text, and the normalizer joins a page's last line to the next page's
first when no sentence ends between them. A figure split by a page break then read
「1,0第2页共4页↵京海港口集团股份有限公司2023年社会责任报告48.6万标准箱」; a footer came back as the answer
(「第2页共8页」) and a page number was glued to a figure (「1↵2,856.4亿元」, on the wrong page). Left out,
the two halves of the sentence meet as the author wrote them.

A line is running when, with its digits folded and its spaces removed, it stands among the EDGE_LINES
lines at the same end of at least RUNNING_SHARE of the pages, and of two pages at least, and either
- it is the same on every page: it goes, but from the first page's top (often the title); a line that says
  something (a sentence, a 「label：value」 field such as 「证券代码：600000」 or 「单位：万元」) stays once, where
  it first stands; or
- it holds a page number (「第 N 页 共 M 页」, 「— N —」, 「N / M」, a bare N, 「Page N」, also after a running
  title: 「华辰新能源2023年年度报告 第 N 页」) whose number follows the page's, at a fixed distance from it of
  at most MAX_PAGE_OFFSET (a report numbers its pages after the cover): it goes everywhere.
A year or a certificate number that rises one a page is no page number, so its line stays.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence

from index.normalize import FULL_WIDTH_DIGITS

EDGE_LINES = 2          # lines looked at at each end of a page
RUNNING_SHARE = 0.4     # of the pages: headers that alternate between odd and even pages still count
MAX_RUNNING_CHARS = 80  # a longer line is text, even if repeated

_DIGITS = re.compile(r"[0-9０-９]+")
_SPACE = re.compile(r"\s+")
# a page number, its digits folded, alone (「#」, 「—#—」, 「-#-」) or inside a running line (「…年度报告第#页」,
# 「公司名#/#」, 「共#页第#页」, 「Page#of#」)
_PAGE_MARKER = re.compile(r"(?i)^[-—–·•]*#[-—–·•]*$|第#页|共#页|#[/／]#|page#|#of#|^[-—–]#[-—–]|[-—–]#[-—–]$")
MAX_PAGE_OFFSET = 500
_SENTENCE_MARKS = re.compile(r"[，。；！？;!?]")   # not the ASCII comma and full stop of 「Co., Ltd.」
_FIELD = re.compile(r"[^：:]{1,20}[：:]\S")


def line_key(line: str) -> str:
    """What a running line keeps from page to page: its text without spaces, digit runs as '#'."""
    return _DIGITS.sub("#", _SPACE.sub("", line))


def edge_indices(count: int, order: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """The indices of the first and of the last EDGE_LINES of a page's ``count`` lines, in ``order``
    (top to bottom; the lines' own order without it)."""
    order = list(range(count)) if order is None else list(order)
    top = order[:EDGE_LINES]
    return top, [i for i in order[-EDGE_LINES:] if i not in top]


def running_lines(pages: Sequence[Sequence[str]],
                  edges: Sequence[tuple[Sequence[int], Sequence[int]] | None] | None = None) -> list[set[int]]:
    """For each page, the indices of its lines that are running headers or footers (none on a document
    of one page). ``edges`` gives each page's (top, bottom) lines where its list's ends are not its
    page's (a text layer in drawing order, OCR lines in reading order); :func:`edge_indices` otherwise."""
    result: list[set[int]] = [set() for _ in pages]
    if len(pages) < 2:
        return result
    edges = edges or [None] * len(pages)
    # (end, key) -> [(page, line index, text)]: one place a page, the first of equal keys
    seen: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for number, (lines, ends) in enumerate(zip(pages, edges)):
        top, bottom = ends if ends is not None else edge_indices(len(lines))
        for end, indices in (("top", top), ("bottom", bottom)):
            keys = set()
            for i in indices:
                key = line_key(lines[i])
                if _candidate(lines[i]) and key not in keys:
                    keys.add(key)
                    seen[end, key].append((number, i, lines[i]))
    need = max(2, math.ceil(RUNNING_SHARE * len(pages)))
    for (end, key), places in seen.items():
        if len(places) < need:
            continue
        if _same_text(places):
            # a line that says something (「证券代码：600000」, 「单位：万元」) is kept once, where it first stands;
            # a title line everywhere but the first page's top
            keep_first = any(_is_information(text) for _, _, text in places)
            for k, (number, i, _) in enumerate(places):
                if (k > 0) if keep_first else (end == "bottom" or number > 0):
                    result[number].add(i)
        elif _PAGE_MARKER.search(key) and not _is_information(_DIGITS.sub("", places[0][2])) \
                and _numbered_like_pages(places):
            for number, i, _ in places:
                result[number].add(i)
    return result


def _same_text(places: list[tuple[int, int, str]]) -> bool:
    return len({_SPACE.sub("", text) for _, _, text in places}) == 1


def _is_information(line: str) -> bool:
    """A line that says something, not a running title: a sentence, or a field (「单位：万元 币种：人民币」)."""
    return bool(_SENTENCE_MARKS.search(line)) or bool(_FIELD.match(line.strip()))


def _numbered_like_pages(places: list[tuple[int, int, str]]) -> bool:
    """Whether one of the figures of these lines stands at a fixed distance from its page's number, no
    more than MAX_PAGE_OFFSET (a report numbers its pages after the cover; a year is no page number)."""
    figures = [[int(d.translate(FULL_WIDTH_DIGITS)) for d in _DIGITS.findall(text)] for _, _, text in places]
    for k in range(min(len(f) for f in figures)):
        offsets = {row[k] - number for (number, _, _), row in zip(places, figures)}
        if len(offsets) == 1 and abs(next(iter(offsets))) <= MAX_PAGE_OFFSET:
            return True
    return False


def _candidate(line: str) -> bool:
    text = line.strip()
    return bool(text) and len(text) <= MAX_RUNNING_CHARS
