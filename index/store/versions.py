"""Earlier versions: indexed documents that a file read again supersedes.

Why: a document's id holds a hash of its text, so an edited file indexed again gets a new id, and without
this its old version (or a SQuAD file's old paragraphs) would stay beside the new one and keep answering.
``qa index`` and the UI's upload both replace by source; the UI names an upload by its file name. A file
deleted from an indexed folder is dropped only when asked (``--prune``): the index may be all that is left.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from index.documents import Document
from index.store.prepare import DocumentInfo


def same_source(source: str) -> str:
    """The default identity of a source: the source itself (a path as it was given)."""
    return source


def earlier_versions(indexed: Iterable[DocumentInfo], incoming: Iterable[Document],
                     identity: Callable[[str], str] = same_source) -> list[DocumentInfo]:
    """Indexed documents from the same source as an incoming one, whose id none of the incoming ones has."""
    incoming = list(incoming)
    ids = {d.id for d in incoming}
    sources = {identity(d.source) for d in incoming if d.source}
    return [info for info in indexed
            if info.source and info.id not in ids and identity(info.source) in sources]


def vanished(indexed: Iterable[DocumentInfo], folders: Iterable[str | Path]) -> list[DocumentInfo]:
    """Indexed documents read from a file inside one of ``folders`` (spelled as the folder was given when they
    were indexed) that is no longer there: what ``qa index FOLDER --prune`` removes."""
    roots = [Path(f).expanduser() for f in folders]
    gone = []
    for info in indexed:
        if not info.source or info.source.startswith("upload:"):
            continue
        path = Path(info.source)
        if any(path.is_relative_to(root) and path != root for root in roots) and not os.path.lexists(path):
            gone.append(info)
    return gone
