"""Plain data types shared by the indexing stages."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One source document: ``text`` is the original, as read from disk."""

    id: str
    title: str
    text: str
    source: str


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (shown to the user, never a traceback)."""

    source: str
    reason: str
