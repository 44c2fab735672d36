"""Checksums of an index's files, each hashed once while the file stays as it was verified.

Why: an index's segment files never change once written (a write adds new ones), yet every open
hashed all of them: 6.5 GB at a million passages, most of the 32 s a second process took to open
it. A file that hashed to its manifest checksum is recorded in the user cache with its size,
modification time, inode and device; while all of these are unchanged it is not read again. A file
truncated, rewritten or written by zhqa again changes at least one of them and is hashed again.
What keeps all four is not seen until the file's next change: a bit flipped in place, ``cp -p`` over
the existing file, or a file deleted and re-created with its old time on a reused inode.
``ZHQA_VERIFY_INDEX=always`` hashes every file at every open. Records live in the user's own cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from index.store.segments import sha256_file

VERSION = 1
_LOCK = threading.Lock()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _record_path(root: Path) -> Path | None:
    from index.cache import cache_dir

    try:
        key = hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:32]
        return cache_dir() / "verified" / f"{key}.json"
    except OSError:
        return None


def _read(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["files"] if data.get("version") == VERSION and isinstance(data.get("files"), dict) else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write(path: Path | None, files: dict, root: Path) -> None:
    """Best effort: a cache that cannot be written only means hashing again next time."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"version": VERSION, "root": str(root.resolve()), "files": files}),
                       encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def hash_every_open() -> bool:
    """``ZHQA_VERIFY_INDEX``: ``always`` hashes every file at every open; unset (or empty) hashes a file
    again only when it changed. Anything else is refused (ValueError): a misspelt ``always`` would
    quietly turn the stricter check off."""
    raw = os.environ.get("ZHQA_VERIFY_INDEX", "").strip().lower()
    if raw not in ("", "always"):
        raise ValueError(f"ZHQA_VERIFY_INDEX must be 'always' or unset, not {raw!r}")
    return raw == "always"


def plain_file_name(name) -> bool:
    """A file name inside the folder: text, no folder part, no ``..``, not absolute."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def mismatched_files(root: Path, expected: dict[str, str]) -> list[str]:
    """The names of ``expected`` ({file name in ``root``: sha256}) whose file does not hash to its
    checksum, hashing only files not verified unchanged before (all of them with
    ``ZHQA_VERIFY_INDEX=always``). Missing files, and names that are not regular files of ``root``, count
    as mismatched."""
    always = hash_every_open()
    record = _record_path(root)
    with _LOCK:
        known = {} if always else _read(record)
    verified: dict[str, dict] = {}
    bad = []
    for name, digest in expected.items():
        f = root / name
        if not plain_file_name(name) or not f.is_file():   # outside the folder, or a FIFO or device: never read
            bad.append(name)
            continue
        try:
            before = _stamp(f.stat())
            entry = known.get(name)
            if isinstance(entry, dict) and entry.get("sha256") == digest and entry.get("stat") == before:
                verified[name] = entry
                continue
            ok = sha256_file(f) == digest
            if ok and _stamp(f.stat()) == before:   # not changed while it was read
                verified[name] = {"sha256": digest, "stat": before}
        except FileNotFoundError:   # other errors (permissions) are the caller's to report as they are
            ok = False
        if not ok:
            bad.append(name)
    if any(known.get(k) != v for k, v in verified.items()):
        _merge(root, record, verified)
    return bad


def remember(root: Path, files: dict[str, str]) -> None:
    """Record ``files`` ({name in ``root``: sha256}) as verified: checksums the caller computed from the
    bytes it has just written, so that the first open after a write need not hash them again."""
    entries = {}
    for name, digest in files.items():
        try:
            entries[name] = {"sha256": digest, "stat": _stamp((root / name).stat())}
        except OSError:
            pass
    _merge(root, _record_path(root), entries)


def _merge(root: Path, record: Path | None, entries: dict) -> None:
    """Add ``entries`` to the record, keeping what another process recorded meanwhile and dropping
    entries of files that are gone; records of index folders that are gone are deleted."""
    with _LOCK:
        known = _read(record)
        known.update(entries)
        known = {name: e for name, e in known.items() if (root / name).exists()}
        _write(record, known, root)
    if record is not None:
        _prune(record.parent)


def _prune(folder: Path, limit: int = 500) -> None:
    """Delete records whose index folder no longer exists (superseded BM25 states, removed indexes)."""
    try:
        for path in list(folder.glob("*.json"))[:limit]:
            try:
                root = json.loads(path.read_text(encoding="utf-8")).get("root")
                if root and not Path(root).exists():
                    path.unlink()
            except (OSError, ValueError, AttributeError):
                continue
    except OSError:
        pass
