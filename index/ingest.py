"""Read documents from files and folders: each file goes to the reader of its format (``index/readers``).

Why: users point the bot at whatever Chinese text they have; encodings vary (UTF-8 with or
without BOM, UTF-16, GB18030) and folders hold stray binaries. Every file either becomes
documents or a :class:`Skipped` entry with a reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document, Skipped
from index.readers.encoding import DecodeError, decode_bytes  # noqa: F401 (decode_bytes is re-exported)
from index.readers.squad import SUFFIXES as JSON_SUFFIXES
from index.readers.squad import SquadFormatError, squad_documents
from index.readers.text import SUFFIXES as TEXT_SUFFIXES
from index.readers.text import read_text_document

MAX_FILE_BYTES = 50 * 1024 * 1024
INGEST_VERSION = 2  # bump when ids/titles change, so cached indexes are rebuilt


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_file(path: str | Path) -> IngestResult:
    """Read one file into documents, or a Skipped entry naming the problem."""
    p = Path(path)
    res = IngestResult()
    suffix = p.suffix.lower()
    if suffix not in TEXT_SUFFIXES | JSON_SUFFIXES:
        res.skipped.append(Skipped(str(p), f"unsupported file type '{suffix or p.name}' (use .txt, .md or .json)"))
        return res
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            res.skipped.append(Skipped(str(p), f"file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 10**6} MB limit"))
            return res
        text = decode_bytes(p.read_bytes())
    except DecodeError as exc:
        res.skipped.append(Skipped(str(p), str(exc)))
        return res
    except OSError as exc:
        res.skipped.append(Skipped(str(p), f"cannot read: {exc.strerror or exc}"))
        return res
    if suffix in JSON_SUFFIXES:
        try:
            res.documents.extend(squad_documents(text, str(p)))
        except (json.JSONDecodeError, SquadFormatError) as exc:
            res.skipped.append(Skipped(str(p), f"not SQuAD-style JSON: {exc}"))
            return res
        if not res.documents:
            res.skipped.append(Skipped(str(p), "the JSON holds no paragraphs"))
        return res
    if not text.strip():
        res.skipped.append(Skipped(str(p), "file is empty"))
        return res
    res.documents.append(read_text_document(p, text))
    return res


def read_paths(paths: list[str | Path]) -> IngestResult:
    """Read files and (recursively) folders; missing paths are reported as skipped."""
    res = IngestResult()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.exists():
            files = [p]
        else:
            res.skipped.append(Skipped(str(p), "no such file or directory"))
            continue
        for f in files:
            if p.is_dir() and f.suffix.lower() not in TEXT_SUFFIXES | JSON_SUFFIXES:
                res.skipped.append(Skipped(str(f), f"unsupported file type '{f.suffix or f.name}'"))
                continue
            one = read_file(f)
            res.documents.extend(one.documents)
            res.skipped.extend(one.skipped)
    return res
