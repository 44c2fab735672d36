"""Split normalized documents into sentence-aligned, overlapping chunks.

Why: the encoder reads at most 512 tokens and the reader works best on a few hundred
characters; cutting at sentence ends keeps answers whole, overlap keeps a fact that spans a
boundary retrievable from at least one chunk.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.documents import Document
from index.field_rows import is_field_row
from index.normalize import NormalizedText

CHUNKER_VERSION = 3   # 2: over-long sentences cut in overlapping pieces (a cached --corpus index is rebuilt);
                      # 3: a table row of fields is one sentence
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”」』）)]?|\n|$)")



@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``text`` is normalized; ``start``/``end`` index the original text."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    norm_start: int
    norm_end: int
    start: int
    end: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Half-open spans of sentences (trailing punctuation included, newlines excluded). A line that is a
    table row of fields (「指标：营业收入；2022年：1,136.7；2023年：1,234.5」) is one sentence: cut at its
    「；」, a chunk began mid-row, its figures without the metric they measure."""
    spans = []
    line_start = 0
    for line in text.split("\n"):
        if is_field_row(line):
            spans.extend(_trimmed(text, line_start, line_start + len(line)))
        else:
            for m in _SENTENCE_RE.finditer(line):
                spans.extend(_trimmed(text, line_start + m.start(), line_start + m.end()))
        line_start += len(line) + 1
    return spans


def _trimmed(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """[(s, e)] without spaces at either end, or [] when nothing is left."""
    while e > s and text[e - 1] in "\n ":
        e -= 1
    while s < e and text[s] in "\n ":
        s += 1
    return [(s, e)] if e > s else []


_SOFT_BREAKS = "；;，,、：:.．· \t"   # where an over-long sentence (or table row) is better cut than mid-word


def _soft_cut(text: str, start: int, limit: int) -> int:
    """Where a piece of ``text`` from ``start`` ends, at most ``limit``: just after the last comma, colon,
    full stop or space in its second half, else at ``limit``."""
    for i in range(limit - 1, start + (limit - start) // 2 - 1, -1):
        if _soft_break(text, i):
            return i + 1
    return limit


def _soft_break(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a comma, colon, space or full stop (not a decimal point)."""
    return text[i] in _SOFT_BREAKS and not (text[i] in ".．" and text[i + 1:i + 2].isdigit())


def _pieces(text: str, spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Sentences, those longer than ``size`` broken into pieces of at most ``size`` characters, cut after
    a comma or space where there is one (:func:`_soft_cut`) and overlapping as :func:`_next_start` says.

    Why: legal and government text runs on with commas for hundreds of characters, and text with
    half-width full stops or none at all has no sentence end; pieces cut back to back without overlap
    cut such an answer in two («欧阳» of 欧阳明华)."""
    out = []
    for s, e in spans:
        while e - s > size:
            cut = _soft_cut(text, s, s + size)
            out.append((s, cut))
            s = _next_start(text, s, cut, overlap)
        out.append((s, e))
    return out


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """Where the piece after ``[start, cut)`` begins: about ``overlap`` characters back, never before the
    middle of the piece (each piece moves on by half a piece at least).

    After a cut at a comma no name crosses the cut, so the next piece begins at a clause: after the last
    soft break that keeps ``overlap`` characters, or at the cut itself. After a hard cut (no soft break
    near the limit) it begins ``overlap`` back, or after a soft break in the first half of that overlap,
    so a name on the cut is whole in it."""
    floor = start + (cut - start + 1) // 2
    back = max(cut - overlap, floor)
    if back >= cut:
        return cut
    if _soft_break(text, cut - 1):
        for i in range(back - 1, floor - 1, -1):
            if _soft_break(text, i):
                return i + 1
        return cut
    for i in range(back, cut - (cut - back) // 2):
        if _soft_break(text, i):
            return i + 1
    return back


def chunking_problem(size: int, overlap: int) -> str | None:
    """Why chunks cannot be ``size`` characters overlapping by ``overlap``, or None."""
    if size < 20 or overlap < 0 or overlap >= size:
        return f"chunk size must be >= 20 and overlap in [0, size), not {size} and {overlap}"
    return None


def chunk_document(doc: Document, norm: NormalizedText, size: int = 250, overlap: int = 60) -> list[Chunk]:
    """Greedy packing of sentences up to ``size`` chars; each chunk repeats up to ``overlap`` chars."""
    problem = chunking_problem(size, overlap)
    if problem:
        raise ValueError(problem)
    text = norm.text
    pieces = _pieces(text, split_sentences(text), size, overlap)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j = i
        start = pieces[i][0]
        while j + 1 < len(pieces) and pieces[j + 1][1] - start <= size:
            j += 1
        end = pieces[j][1]
        o_start, o_end = norm.to_original(start, end)
        chunks.append(Chunk(f"{doc.id}#{len(chunks)}", doc.id, doc.title, text[start:end],
                            start, end, o_start, o_end))
        if j + 1 >= len(pieces):
            break
        # next chunk starts at the earliest sentence that still fits into the overlap
        # (and from which the next piece still fits: a chunk never lies wholly inside the one before)
        k = j + 1
        while k - 1 > i and end - pieces[k - 1][0] <= overlap and pieces[j + 1][1] - pieces[k - 1][0] <= size:
            k -= 1
        i = k
    return chunks
