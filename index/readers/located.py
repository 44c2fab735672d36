"""Text assembled piece by piece with each piece's page and box: the location map a reader returns.

Why: every rich format (PDF pages, slides, sheets, OCR lines) builds its document text the same
way, and the regions must point at exactly the characters they cover.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from index.documents import Region


class UnreadableFile(ValueError):
    """The file is not what its suffix says, or is damaged, encrypted or too large: the reason is
    shown to the user as it is (one line)."""


@dataclass
class LocatedText:
    parts: list[str] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    length: int = 0
    notes: list[str] = field(default_factory=list)   # what was left out of a file that was read (pages cut)

    def add(self, text: str, page: int | None = None, box=None, sep: str = "\n") -> None:
        """Append ``text`` (after ``sep`` when something precedes it), located on ``page``/``box``."""
        if not text:
            return
        if self.length and sep:
            self.parts.append(sep)
            self.length += len(sep)
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if page is not None or box is not None:
            self.regions.append(Region(start, self.length, page,
                                       tuple(float(v) for v in box) if box is not None else None))

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def title(self, fallback: str) -> str:
        """The first substantial line, else ``fallback``."""
        for line in self.text.splitlines()[:30]:
            line = line.strip(" \t#■●◆▲□◇*-|")
            if len(line) >= 4:
                return line[:60]
        return fallback
