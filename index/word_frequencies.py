"""jieba's dictionary as a read-only SQLite table, looked up word by word, for segmenting questions.

Why: jieba builds its 500k-entry prefix dictionary in memory before its first cut: about 1 s and
70 MB of every new process, to segment a twenty-character question. A question needs a few hundred
lookups, which SQLite answers in microseconds each. Indexing, which segments whole documents, still
loads jieba's own dictionary (index/bm25.py decides which); both give the same words, since the
table is a copy of that dictionary. The table is written once into the user cache.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from index.cache import cache_dir

_FORMAT = 1
_SEEN_LIMIT = 200_000


class DamagedWordTable(RuntimeError):
    """A lookup in the table failed: the file is damaged."""


class DiskWordFrequencies(Mapping):
    """jieba's ``FREQ`` (word or word prefix → count; prefixes count 0) from a table on disk, with what
    has been looked up kept in memory. Words jieba is told to add are kept in memory only."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._seen: dict[str, int | None] = {}
        self._added: set[str] = set()
        rows = dict(self._db.execute("SELECT key, value FROM meta"))
        if rows.get("format") != _FORMAT:
            raise sqlite3.DatabaseError(f"{path}: format {rows.get('format')!r}")
        self.total: int = rows["total"]
        self._size: int = rows["size"]

    def get(self, word, default=None):
        try:
            value = self._seen[word]
        except KeyError:
            with self._lock:   # the only writer of _seen
                try:
                    row = self._db.execute("SELECT f FROM freq WHERE w = ?", (word,)).fetchone()
                except sqlite3.Error as exc:   # a damaged page: index/bm25.py falls back and rewrites
                    raise DamagedWordTable(f"{self.path}: {exc}") from exc
                value = row[0] if row else None
                if len(self._seen) >= _SEEN_LIMIT:   # a long-running bot: keep the memory bounded
                    self._seen = {w: v for w, v in self._seen.items() if w in self._added}
                self._seen[word] = value
        return default if value is None else value

    def __contains__(self, word) -> bool:
        return self.get(word) is not None

    def __getitem__(self, word) -> int:
        value = self.get(word)
        if value is None:
            raise KeyError(word)
        return value

    def __setitem__(self, word: str, value: int) -> None:   # jieba.add_word, for this process
        with self._lock:
            self._added.add(word)
            self._seen[word] = value

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            words = [w for (w,) in self._db.execute("SELECT w FROM freq")]
        return iter(words)


def table_path(dictionary: Path) -> Path:
    """Where the table of jieba's ``dictionary`` file lives: named by the file's size and time."""
    st = dictionary.stat()
    return cache_dir() / "jieba" / f"freq-v{_FORMAT}-{st.st_size}-{st.st_mtime_ns}.sqlite"


def write_table(path: Path, freq: Mapping[str, int], total: int) -> None:
    """Write ``freq`` (jieba's loaded dictionary) to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("CREATE TABLE freq (w TEXT PRIMARY KEY, f INTEGER NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            db.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [("format", _FORMAT), ("total", int(total)), ("size", len(freq))])
            db.commit()
        finally:
            db.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def open_table(dictionary: Path) -> DiskWordFrequencies | None:
    """The table of ``dictionary``, or None where it is not written yet or cannot be read."""
    try:
        path = table_path(dictionary)
        if not path.exists():
            return None
        return DiskWordFrequencies(path)
    except (sqlite3.Error, KeyError, OSError):   # OSError: a cache directory that cannot be made
        return None


def discard_table(dictionary: Path) -> None:
    """Delete a damaged table (best effort), so that the next whole load writes it again."""
    try:
        table_path(dictionary).unlink(missing_ok=True)
    except OSError:
        pass
