"""BM25 of a saved local index, kept beside it so that opening the index does not index it again.

Why: BM25's statistics cover the whole corpus and bm25s has no incremental add, so a store indexed
BM25 afresh at its first search after every open: about 8 s at 100k passages, over a minute at a
million, with the passages' tokens read into memory for it. The first process that indexes a saved
state writes it with bm25s' own save into ``bm25-<state>/`` beside the manifest (write beside, fsync,
rename); later opens of that state memory-map it and never read the tokens. It is a cache, not part
of the index: its folder is named by a digest of the manifest's segments and removals, its files are
checksummed, and any mismatch or damage means indexing again, never a wrong answer. Writers remove
the folders of states that are no longer current.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from index.bm25 import BM25_TOKENIZER_VERSION, BM25Index
from index.store.segments import fsync_path, sha256_file
from index.store.verified import mismatched_files

PREFIX = "bm25-"
CARD = "zhqa_bm25.json"
SUPERSEDED = "superseded"   # written into a folder when a writer first finds its state no longer current
STALE_AFTER_S = 60.0   # a superseded state's folder may still be being opened by a reader


def state_key(manifest: dict) -> str:
    """A digest of what the manifest's passages are: its segments, removals and BM25 tokenizer."""
    state = {"segments": [s.get("name") for s in manifest.get("segments", [])],
             "removed": {k: sorted(v) for k, v in sorted(manifest.get("removed", {}).items())},
             "bm25_tokenizer_version": BM25_TOKENIZER_VERSION}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:24]


def folder_for(root: Path, manifest: dict) -> Path:
    return root / f"{PREFIX}{state_key(manifest)}"


def load(root: Path, manifest: dict, size: int) -> BM25Index | None:
    """The saved BM25 of this manifest's state over ``size`` passages, memory-mapped; None when there
    is none or it does not check out."""
    folder = folder_for(root, manifest)
    try:
        import bm25s

        card = json.loads((folder / CARD).read_text(encoding="utf-8"))
        if card.get("state") != state_key(manifest) or card.get("passages") != size \
                or card.get("bm25s") != bm25s.__version__:
            return None
        if mismatched_files(folder, card["files"]):   # names outside the folder, or not regular files, too
            return None
        return BM25Index.load(folder, size)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError, MemoryError,
            RecursionError, OverflowError):
        return None


def save(root: Path, manifest: dict, index: BM25Index) -> bool:
    """Write ``index`` as this manifest's state's BM25, unless it is there already (best effort: a
    cache that cannot be written is skipped). True when written."""
    import bm25s

    folder = folder_for(root, manifest)
    if load(root, manifest, index.size) is not None:
        return False
    tmp = root / f".{folder.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.mkdir()   # never parents: a root renamed away meanwhile (a whole rewrite) must not be re-created
        index.save(tmp)
        files = {f.name: sha256_file(f) for f in sorted(tmp.iterdir()) if f.is_file()}
        card = {"state": state_key(manifest), "passages": index.size, "files": files,
                "bm25s": bm25s.__version__, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (tmp / CARD).write_text(json.dumps(card, indent=1), encoding="utf-8")
        for f in tmp.iterdir():
            fsync_path(f)
        fsync_path(tmp)
        if folder.exists() and load(root, manifest, index.size) is None:
            # one that did not check out (damaged, another bm25s), checked again in case another
            # process has just written a good one: set aside, then deleted
            trash = root / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, folder)   # fails if another process wrote one meanwhile: theirs stays
        fsync_path(root)
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale(root: Path, manifest: dict, min_age_s: float | None = None) -> None:
    """Delete BM25 folders of other states ``min_age_s`` (default STALE_AFTER_S) after a writer first
    finds them superseded (a reader of the manifest before may still be opening one), and killed
    writes' temporaries once that old."""
    min_age_s = STALE_AFTER_S if min_age_s is None else min_age_s
    keep = folder_for(root, manifest).name
    for f in root.iterdir():
        try:
            if f.name.startswith(PREFIX) and f.name != keep:
                mark = f / SUPERSEDED
                if not mark.exists():
                    mark.write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z"), encoding="utf-8")
                elif time.time() - mark.stat().st_mtime > min_age_s:
                    shutil.rmtree(f, ignore_errors=True)
            elif f.name.startswith(f".{PREFIX}") and f.name.endswith(".tmp") \
                    and time.time() - f.stat().st_mtime > min_age_s:
                shutil.rmtree(f, ignore_errors=True)
        except OSError:
            pass
