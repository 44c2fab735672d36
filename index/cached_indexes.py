"""The ``--corpus`` index cache: when each entry was last used, and the least recently used ones removed.

Why: every new set of corpus files (or an edited file among them) builds a new cached index of up to
hundreds of MB, and without a bound the cache grew for ever. Past :data:`CACHED_INDEXES_KEPT` entries, the
least recently used go, each under its write lock, so an entry being written is never removed. Their
lock files (``.DIGEST.lock``, empty) stay: one deleted while another process holds or awaits it would let
two writers in. A ``.used`` or ``.skipped.json`` left without its entry (another process marked it just
as it was removed) goes at the next eviction.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from index.store.locking import IndexBusy, index_write_lock

CACHED_INDEXES_KEPT = 16
ENTRY_NAME = re.compile(r"[0-9a-f]{24}")   # a digest of the files and settings (qa.bot.cached_index)
SIBLING_SUFFIXES = (".skipped.json", ".used")


def mark_used(entry: Path) -> None:
    """Record that ``entry`` was opened or built now (a sibling file's time: the index's files never change)."""
    marker = entry.with_name(entry.name + ".used")
    if not entry.is_dir():   # removed meanwhile by another process's eviction: no marker of nothing
        return
    try:
        marker.touch()   # sets its time to now, made or not
    except OSError:   # a read-only cache still answers; only its order of use is not kept
        pass


def last_used(entry: Path) -> float:
    for path in (entry.with_name(entry.name + ".used"), entry):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def evict(root: Path, keep: int | None = None, spare: Path | None = None) -> list[Path]:
    """Remove the least recently used entries of ``root`` past ``keep`` (:data:`CACHED_INDEXES_KEPT` by
    default; never ``spare``, nor one another process is writing); the entries removed."""
    keep = CACHED_INDEXES_KEPT if keep is None else keep
    try:
        entries = [p for p in root.iterdir() if ENTRY_NAME.fullmatch(p.name) and p.is_dir()]
    except OSError:
        return []
    entries.sort(key=last_used, reverse=True)
    removed = []
    for entry in entries[keep:]:
        if spare is not None and entry == spare:
            continue
        try:
            with index_write_lock(entry, wait=False):
                # a process that has the entry open keeps reading it: its files stay until it closes them
                shutil.rmtree(entry)
                for suffix in SIBLING_SUFFIXES:
                    entry.with_name(entry.name + suffix).unlink(missing_ok=True)
        except (IndexBusy, OSError):
            continue
        removed.append(entry)
    _remove_orphaned_siblings(root)
    return removed


def _remove_orphaned_siblings(root: Path) -> None:
    """Sibling files whose entry is gone, each checked under the entry's write lock (a writer that
    holds it may be about to put the entry in place)."""
    try:
        names = [p.name for p in root.iterdir()]
    except OSError:
        return
    for name in names:
        suffix = next((s for s in SIBLING_SUFFIXES if name.endswith(s)), None)
        if suffix is None or not ENTRY_NAME.fullmatch(name[:-len(suffix)]):
            continue
        entry = root / name[:-len(suffix)]
        if entry.exists():
            continue
        try:
            with index_write_lock(entry, wait=False):
                if not entry.exists():
                    (root / name).unlink(missing_ok=True)
        except (IndexBusy, OSError):
            continue
