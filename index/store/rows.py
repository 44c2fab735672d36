"""A local index's chunks and documents, read from its segments' SQLite files when they are asked for.

Why: held as Python objects, passages and documents cost about 5 KB a passage in a served index
(5 GB at a million passages). The store now keeps per chunk its segment, its row there and its
document's number (12 bytes), and per document the segment holding it; a search's hits and an
answer's document are read by primary key when needed, and recently read documents are cached.
What was added since the last save stays in memory until a save writes it to a segment.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from array import array
from collections import OrderedDict
from contextlib import contextmanager
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from index.chunk import Chunk
from index.store.prepare import DocumentInfo, StoredDocument, StoreError
from index.store.segments import read_documents

CHUNK_COLUMNS = "chunk_id, doc_id, title, text, norm_start, norm_end, start, end"
MEMORY = -1            # the segment number of rows held in memory (unsaved, or a format-1 index)
DOCUMENT_CACHE = 64    # documents kept after reading (an answer reads its passage's document)
BATCH = 500            # rows or documents a query asks for at once (SQLite's variable limit is 32766)


class SegmentFile:
    """One segment's SQLite file, open read-only while the store lives: a segment that a later save
    retires and deletes stays readable through the open connection. Safe to share between threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            # immutable: a segment never changes once written, so SQLite takes no locks reading it
            self._con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                        check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the segment ({exc}); rebuild the index") from exc
        self._lock = threading.Lock()

    @contextmanager
    def _reading(self):
        """Hold the connection; a SQLite error is a StoreError naming the segment."""
        with self._lock:
            try:
                yield self._con
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot read the segment ({exc}); rebuild the index") from exc

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self._reading() as con:
            return con.execute(sql, tuple(args)).fetchall()

    def iterate(self, sql: str, args: Sequence = ()) -> Iterator[tuple]:
        """The rows of a query one by one (a load reads a whole segment without holding it twice)."""
        with self._reading() as con:
            yield from con.execute(sql, tuple(args))

    def _by_row(self, columns: str, rows: Sequence[int], convert) -> list:
        """``convert(*columns)`` of the chunks at segment rows ``rows``, in that order."""
        found: dict[int, object] = {}
        for start in range(0, len(rows), BATCH):
            part = [int(r) for r in rows[start:start + BATCH]]
            for row, *values in self.query(f"SELECT row, {columns} FROM chunks WHERE row IN "
                                           f"({','.join('?' * len(part))})", part):
                found[row] = convert(*values)
        try:
            return [found[int(r)] for r in rows]
        except KeyError as exc:
            raise StoreError(f"{self.path}: chunk row {exc} is missing; rebuild the index") from None

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at segment rows ``rows``, in that order."""
        return self._by_row(CHUNK_COLUMNS, rows, Chunk)

    def tokens(self, rows: Sequence[int]) -> list[list[str]]:
        """The BM25 tokens stored for segment rows ``rows``, in that order."""
        return self._by_row("tokens", rows, json.loads)

    def documents(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        with self._reading() as con:
            return read_documents(con, list(ids))

    def catalog(self) -> list[tuple[str, str, str, str]]:
        """Every stored document's id, title, source and checksum (not its text)."""
        return self.query("SELECT id, title, source, checksum FROM documents")


def _view(values: array) -> np.ndarray:
    """The C ints of ``values`` as a numpy array (a view: use it before ``values`` grows)."""
    return np.frombuffer(values, dtype=np.intc) if len(values) else np.zeros(0, dtype=np.intc)


def _ints(values: Iterable[int] | np.ndarray) -> array:
    return array("i", np.asarray(values, dtype=np.intc).tobytes()) if isinstance(values, np.ndarray) \
        else array("i", values)


class ChunkRows(Sequence):
    """``store.chunks``: the live chunks in row order (the row ids searches return), read on demand."""

    def __init__(self, files: list[SegmentFile]):
        self._files = files                 # shared with the store's DocumentTable
        self._segment = array("i")          # per row: index into files, or MEMORY
        self._position = array("i")         # per row: row in that segment, or index into _memory
        self._document = array("i")         # per row: number of its document (_doc_ids)
        self._memory: list[Chunk] = []
        self._doc_ids: list[str | None] = []
        self._doc_number: dict[str, int] = {}

    # ------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._segment)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(range(*index.indices(len(self))))
        n = len(self)
        i = int(index) + n if int(index) < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError("chunk row out of range")
        seg = self._segment[i]
        if seg == MEMORY:
            return self._memory[self._position[i]]
        return self._files[seg].chunks([self._position[i]])[0]

    def take(self, rows: Iterable[int]) -> list[Chunk]:
        """The chunks at ``rows``, one query per segment."""
        return self._gather(rows, SegmentFile.chunks, lambda chunk: chunk)

    def stored_tokens(self) -> Iterator[list[str] | None]:
        """Every row's BM25 tokens as its segment stores them, in row order; None for a row held in
        memory (its tokens were never stored)."""
        for start in range(0, len(self), 4 * BATCH):
            yield from self._gather(range(start, min(len(self), start + 4 * BATCH)), SegmentFile.tokens,
                                    lambda chunk: None)

    def _gather(self, rows: Iterable[int], from_segment, from_memory) -> list:
        """Per row, ``from_segment(file, positions)`` for stored rows (one call per segment) or
        ``from_memory(chunk)`` for a row held in memory."""
        rows = [int(r) for r in rows]
        out: list = [None] * len(rows)
        wanted: dict[int, list[int]] = {}
        for k, r in enumerate(rows):
            if not 0 <= r < len(self):
                raise IndexError("chunk row out of range")
            seg = self._segment[r]
            if seg == MEMORY:
                out[k] = from_memory(self._memory[self._position[r]])
            else:
                wanted.setdefault(seg, []).append(k)
        for seg, ks in wanted.items():
            for k, value in zip(ks, from_segment(self._files[seg], [self._position[rows[k]] for k in ks])):
                out[k] = value
        return out

    def __iter__(self) -> Iterator[Chunk]:
        for start in range(0, len(self), 4 * BATCH):
            yield from self.take(range(start, min(len(self), start + 4 * BATCH)))

    def doc_id(self, row: int) -> str:
        return self._doc_ids[self._document[row]]   # type: ignore[return-value]

    def rows_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The rows (ascending) whose chunk belongs to one of ``doc_ids``."""
        numbers = [self._doc_number[d] for d in doc_ids if d in self._doc_number]
        if not numbers or not len(self):
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isin(_view(self._document), numbers))

    def counts(self) -> dict[str, int]:
        """Chunks per document id."""
        if not len(self):
            return {}
        numbers, counts = np.unique(_view(self._document), return_counts=True)
        return {self._doc_ids[n]: int(c) for n, c in zip(numbers, counts)}   # type: ignore[misc]

    # ------------------------------------------------------------ changing
    def _numbers(self, doc_ids: Iterable[str]) -> list[int]:
        out = []
        for d in doc_ids:
            n = self._doc_number.get(d)
            if n is None:
                n = self._doc_number[d] = len(self._doc_ids)
                self._doc_ids.append(d)
            out.append(n)
        return out

    def append_memory(self, chunks: Sequence[Chunk]) -> None:
        """Rows for chunks held in memory (added since the last save)."""
        start = len(self._memory)
        self._memory.extend(chunks)
        self._segment.extend([MEMORY] * len(chunks))
        self._position.extend(range(start, start + len(chunks)))
        self._document.extend(self._numbers(c.doc_id for c in chunks))

    def append_segment(self, segment: int, positions: Sequence[int], doc_ids: Sequence[str]) -> None:
        """Rows for chunks stored in ``files[segment]`` at ``positions``, of documents ``doc_ids``."""
        self._segment.extend([segment] * len(positions))
        self._position.extend(_ints(positions))
        self._document.extend(self._numbers(doc_ids))

    def select(self, keep: np.ndarray) -> None:
        """Keep only the rows ``keep`` (ascending), e.g. after documents were removed."""
        keep = np.asarray(keep, dtype=np.int64)
        seg = _view(self._segment)[keep]
        pos = _view(self._position)[keep].copy()
        doc = _view(self._document)[keep]
        self._keep_memory(seg, pos)
        live = set(doc.tolist())
        for n, d in enumerate(self._doc_ids):
            if d is not None and n not in live:
                self._doc_ids[n] = None
                del self._doc_number[d]
        self._segment, self._position, self._document = _ints(seg), _ints(pos), _ints(doc)

    def rehome(self, rows: np.ndarray, segment: int) -> None:
        """Rows ``rows``, just written in this order to ``files[segment]``, are read from there now."""
        if not len(rows):
            return
        seg = _view(self._segment).copy()
        pos = _view(self._position).copy()
        seg[rows], pos[rows] = segment, np.arange(len(rows))
        self._keep_memory(seg, pos)
        self._segment, self._position = _ints(seg), _ints(pos)

    def _keep_memory(self, seg: np.ndarray, pos: np.ndarray) -> None:
        """Hold only the in-memory chunks that rows ``seg``/``pos`` still point at, renumbering ``pos``."""
        in_memory = np.flatnonzero(seg == MEMORY)
        self._memory = [self._memory[p] for p in pos[in_memory]]
        pos[in_memory] = np.arange(len(in_memory))


class DocumentTable(Mapping):
    """``store.documents``: id → :class:`StoredDocument`; saved documents are read from their segment
    when asked for (and cached), unsaved ones are held."""

    def __init__(self, files: list[SegmentFile]):
        self._files = files
        self._where: dict[str, int] = {}               # id → index into files, or MEMORY
        self._memory: dict[str, StoredDocument] = {}
        self._cache: OrderedDict[str, StoredDocument] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, doc_id: str) -> StoredDocument:
        seg = self._where[doc_id]
        if seg == MEMORY:
            return self._memory[doc_id]
        with self._lock:
            if doc_id in self._cache:
                self._cache.move_to_end(doc_id)
                return self._cache[doc_id]
        found = self._files[seg].documents([doc_id]).get(doc_id)
        if found is None:
            raise StoreError(f"{self._files[seg].path}: document {doc_id!r} is missing; rebuild the index")
        with self._lock:
            self._cache[doc_id] = found
            while len(self._cache) > DOCUMENT_CACHE:
                self._cache.popitem(last=False)
        return found

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._where))

    def __len__(self) -> int:
        return len(self._where)

    def __setitem__(self, doc_id: str, stored: StoredDocument) -> None:
        """Hold a document added since the last save (it replaces any stored one of that id)."""
        self._where.pop(doc_id, None)   # an added document goes last, as in a dict
        self._where[doc_id] = MEMORY
        self._memory[doc_id] = stored
        self._forget(doc_id)

    def __delitem__(self, doc_id: str) -> None:
        del self._where[doc_id]
        self._memory.pop(doc_id, None)
        self._forget(doc_id)

    def _forget(self, doc_id: str) -> None:
        with self._lock:
            self._cache.pop(doc_id, None)

    def add_stored(self, doc_ids: Iterable[str], segment: int) -> None:
        """Documents stored in ``files[segment]`` (read when asked for)."""
        for d in doc_ids:
            self._where[d] = segment

    def rehome(self, doc_ids: Iterable[str], segment: int) -> None:
        """Held documents just written to ``files[segment]``: read from there from now on."""
        for d in doc_ids:
            self._where[d] = segment
            self._memory.pop(d, None)

    def checksums(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The stored checksum of each of ``doc_ids`` the table holds."""
        out: dict[str, str] = {}
        by_segment: dict[int, list[str]] = {}
        for d in doc_ids:
            seg = self._where.get(d)
            if seg == MEMORY:
                out[d] = self._memory[d].checksum
            elif seg is not None:
                by_segment.setdefault(seg, []).append(d)
        for seg, ids in by_segment.items():
            for start in range(0, len(ids), BATCH):
                part = ids[start:start + BATCH]
                out.update(self._files[seg].query(f"SELECT id, checksum FROM documents WHERE id IN "
                                                  f"({','.join('?' * len(part))})", part))
        return out

    def infos(self, counts: Mapping[str, int]) -> list[DocumentInfo]:
        """Every document's id, title, source, chunk count and checksum, without reading its text."""
        stored: dict[str, tuple] = {}
        for seg in sorted({s for s in self._where.values() if s != MEMORY}):
            stored.update((row[0], row) for row in self._files[seg].catalog() if self._where.get(row[0]) == seg)
        out = []
        for d, seg in self._where.items():
            if seg == MEMORY:
                sd = self._memory[d]
                out.append(DocumentInfo(d, sd.document.title, sd.document.source, counts.get(d, 0), sd.checksum))
            else:
                _, title, source, checksum = stored[d]
                out.append(DocumentInfo(d, title, source, counts.get(d, 0), checksum))
        return out

    def stream(self) -> Iterator[StoredDocument]:
        """Every document in order, reading stored ones a batch at a time (for a whole rewrite)."""
        batch: list[str] = []
        batch_segment = None

        def flush():
            found = self._files[batch_segment].documents(batch) if batch else {}
            for d in batch:
                if d not in found:
                    raise StoreError(f"{self._files[batch_segment].path}: document {d!r} is missing; "
                                     "rebuild the index")
                yield found[d]

        for d, seg in list(self._where.items()):
            if batch and (seg != batch_segment or len(batch) >= BATCH):
                yield from flush()
                batch = []
            if seg == MEMORY:
                yield self._memory[d]
            else:
                batch_segment = seg
                batch.append(d)
        yield from flush()
