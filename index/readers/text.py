"""Plain text and Markdown files: one document per file, titled by its first substantial line.

Why: most of what users point the bot at is plain text (OCR output, notes, articles); the id
is stable across runs (file stem + content hash) so re-indexing replaces rather than duplicates.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from index.documents import Document

SUFFIXES = {".txt", ".md", ".markdown", ".text"}


def document_id(path: Path, text: str) -> str:
    """Stable id: file stem plus a short content hash, so two files named alike don't clash."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    stem = re.sub(r"[^\w\-.]+", "_", path.stem)[:60] or "doc"
    return f"{stem}-{digest}"


_BYLINE_RE = re.compile(r"(本报记者|记者|通讯员|编辑)")


def _title_from(path: Path, text: str) -> str:
    """First substantial line (Markdown heading marks, bullets and bylines skipped), else the file name."""
    for line in text.splitlines()[:20]:
        line = re.sub(r"^[#\s■●◆▲□◇*\-]+", "", line).strip()
        if len(line) >= 4 and not _BYLINE_RE.search(line[:8]):
            return line[:60]
    return path.stem


def read_text_document(path: Path, text: str) -> Document:
    """The file's decoded text as one document."""
    return Document(document_id(path, text), _title_from(path, text), text, str(path))
