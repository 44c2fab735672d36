"""Earlier versions: indexed documents that a file read again supersedes, or whose file is gone.

Why: a document's id holds a hash of its text, so an edited file indexed again gets a new id, and without
this its old version (or a SQuAD file's old paragraphs) would stay beside the new one and keep answering.
``qa index`` and the UI's upload both replace by source (a path as the file it names; the UI names an
upload by its file name). A file deleted from an indexed folder is dropped only when asked (``--prune``),
only when recorded with an absolute path, and only when the file is certainly gone: the index may hold
its only copy.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from index.documents import Document
from index.store.prepare import DocumentInfo


def is_path_source(source: str) -> bool:
    """A source that names a file (not ``upload:NAME``, a URL or nothing)."""
    return bool(source) and "://" not in source and not source.startswith("upload:")


def path_identity(source: str) -> str:
    """A path source as the file it names: absolute, links resolved (a relative one, recorded by an older
    version, against the working folder); any other source as itself."""
    if not is_path_source(source):
        return source
    try:
        return os.path.realpath(os.path.expanduser(source))
    except (OSError, ValueError):
        return source


def earlier_versions(indexed: Iterable[DocumentInfo], incoming: Iterable[Document],
                     identity: Callable[[str], str] = path_identity) -> list[DocumentInfo]:
    """Indexed documents from the same source as an incoming one, whose id none of the incoming ones has."""
    identity = functools.lru_cache(maxsize=None)(identity)   # one resolution a path, not one a document
    incoming = list(incoming)
    ids = {d.id for d in incoming}
    sources = {identity(d.source) for d in incoming if d.source}
    return [info for info in indexed
            if info.source and info.id not in ids and identity(info.source) in sources]


def _certainly_gone(path: str) -> bool:
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except (OSError, ValueError):   # no permission, a name too long: cannot tell, so kept
        return False
    return False


def vanished(indexed: Iterable[DocumentInfo], folders: Iterable[str | Path]) -> list[DocumentInfo]:
    """Indexed documents recorded with an absolute path inside one of ``folders`` whose file is gone: what
    ``qa index FOLDER --prune`` removes. A relative path (recorded before sources were absolute) says
    nothing of the folder it was relative to, so such documents are never pruned."""
    roots = [Path(path_identity(os.fspath(f))) for f in folders]
    gone = []
    for info in indexed:
        if not is_path_source(info.source) or not os.path.isabs(info.source):
            continue
        real = Path(path_identity(info.source))
        if any(real != root and real.is_relative_to(root) for root in roots) and _certainly_gone(info.source):
            gone.append(info)
    return gone
