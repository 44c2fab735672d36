"""Plain data types shared by the indexing stages."""
from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

UPLOAD_PREFIX = "upload:"   # the source of a UI upload that is not kept on disk: upload:NAME


def source_file_name(source: str | None) -> str:
    """The file name a document's source names (a path's last part, an upload's NAME), or ''."""
    return Path(source.removeprefix(UPLOAD_PREFIX)).name if source else ""


@dataclass(frozen=True)
class Region:
    """Where the characters ``[start, end)`` of a document's text came from: a ``page`` (1-based: the
    PDF page, the slide, the spreadsheet's sheet) and, for text read by OCR, the line's ``box``
    (x0, y0, x1, y1 in pixels of the page image)."""

    start: int
    end: int
    page: int | None = None
    box: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "page": self.page,
                "box": list(self.box) if self.box is not None else None}


@dataclass(frozen=True)
class Document:
    """One source document: ``text`` is the original, as read from disk. ``locations`` map its
    characters back to pages and scan regions (sorted, non-overlapping; empty for plain text)."""

    id: str
    title: str
    text: str
    source: str
    locations: tuple[Region, ...] = ()

    def regions_for(self, start: int, end: int) -> list[Region]:
        """The regions that hold any of the characters ``[start, end)``, in text order."""
        if not self.locations or end <= start:
            return []
        i = max(0, bisect_right([r.start for r in self.locations], start) - 1)
        out = []
        for r in self.locations[i:]:
            if r.start >= end:
                break
            if r.end > start:
                out.append(r)
        return out


def merge_boxes(regions: list[Region]) -> tuple[float, float, float, float] | None:
    """The smallest box around the regions' boxes (those on the first region's page)."""
    boxes = [r.box for r in regions if r.box is not None and r.page == regions[0].page]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


_BIDI_CONTROLS = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown_char(ch: str) -> str:
    if 0xDC80 <= ord(ch) <= 0xDCFF:   # a byte of a file name that is not UTF-8 (Python's surrogateescape)
        return f"\\x{ord(ch) - 0xDC00:02x}"
    if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI_CONTROLS:
        return ascii(ch)[1:-1]
    return ch


def shown_name(text: str) -> str:
    """``text`` (a file name, or a message holding one) safe to print on one line and to write as UTF-8:
    bytes of a name that is not UTF-8 as ``\\xff``, control characters, lone surrogates, line separators
    and bidirectional controls as ``\\n``, ``\\x1b``, ``\\ud800``, ``\\u2028``, ``\\u202e``. Spaces of
    every width, CJK, emoji (joined or not) and combining marks are kept."""
    return "".join(_shown_char(ch) for ch in text)


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (shown to the user, never a traceback). Both are kept as
    :func:`shown_name` gives them, so an odd file name cannot split or colour the line it is shown on."""

    source: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", shown_name(self.source))
        object.__setattr__(self, "reason", shown_name(self.reason))
