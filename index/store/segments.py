"""Segments of a local index: each write adds one immutable segment instead of rewriting the index.

Why: the local index used to be rewritten whole on every change (adding one document to a
100k-passage index took 10.6 s). Like Lucene's segments, a write now stores only the documents it
adds, as a new segment (a SQLite file of documents, page regions, chunks and BM25 tokens, and a
``.npy`` file of the chunks' vectors), and lists the documents it removes or replaces as removed
from their old segment; the manifest, replaced atomically, says which segments and removals make
the index. Files are fsynced before the manifest names them, so a killed write leaves the previous
manifest and its files intact; files no manifest names are removed by a later write.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.bm25 import TokenTable
from index.chunk import Chunk
from index.documents import Document, Region
from index.normalize import NormalizedText
from index.store.prepare import DocumentInfo, StoredDocument

if TYPE_CHECKING:
    from index.store.rows import SegmentFile

SEGMENT_PREFIX = "seg-"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def offsets_from_bytes(blob: bytes) -> array:
    """A stored offset map (little-endian int32) as the C int array NormalizedText holds."""
    values = np.frombuffer(blob, dtype="<i4").astype(np.intc, copy=False)
    return array("i", values.tobytes())


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry to disk (best effort where the OS refuses directories)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SegmentRef:
    """A segment as the manifest names it: its files (name → sha256) and what it holds."""

    name: str
    files: dict[str, str]
    documents: int
    chunks: int

    @property
    def db_file(self) -> str:
        return f"{self.name}.sqlite"

    @property
    def vectors_file(self) -> str:
        return f"{self.name}.npy"

    def to_json(self) -> dict:
        return {"name": self.name, "files": self.files, "documents": self.documents, "chunks": self.chunks}

    @classmethod
    def from_json(cls, raw: dict) -> "SegmentRef":
        return cls(str(raw["name"]), {str(k): str(v) for k, v in raw["files"].items()}, int(raw["documents"]),
                   int(raw["chunks"]))


@dataclass
class SegmentIndex:
    """A segment's live document ids and, per live chunk, its row there, its document and its vector
    (a read-only memory map of the segment's file when every chunk is live: copy it before keeping it)."""

    documents: list[str]
    rows: list[int]
    row_documents: list[str]
    vectors: np.ndarray


def write_segment(folder: Path, name: str, documents: Iterable[StoredDocument], chunks: Iterable[Chunk],
                  tokens: Sequence[list[str]], vectors: np.ndarray) -> SegmentRef:
    """Write a segment's two files into ``folder`` and fsync them; the manifest does not name it yet.
    Documents and chunks are streamed (a compaction reads them from the old segments as it writes)."""
    db = folder / f"{name}.sqlite"
    counts = {"documents": 0, "chunks": 0}

    def document_rows():
        for sd in documents:
            counts["documents"] += 1
            yield sd

    def chunk_rows():
        for i, c in enumerate(chunks):
            counts["chunks"] += 1
            yield (i, c.chunk_id, c.doc_id, c.title, c.text, c.norm_start, c.norm_end, c.start, c.end,
                   json.dumps(tokens[i], ensure_ascii=False))

    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, source TEXT, text TEXT,"
                        " norm_text TEXT, offsets BLOB, checksum TEXT)")
            con.execute("CREATE TABLE regions (doc_id TEXT, start INT, end INT, page INT,"
                        " x0 REAL, y0 REAL, x1 REAL, y1 REAL)")
            con.execute("CREATE INDEX regions_of_document ON regions (doc_id)")   # documents read one by one
            con.execute("CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT, doc_id TEXT,"
                        " title TEXT, text TEXT, norm_start INT, norm_end INT, start INT, end INT, tokens TEXT)")
            for sd in document_rows():
                con.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?)", (
                    sd.document.id, sd.document.title, sd.document.source, sd.document.text, sd.norm.text,
                    np.asarray(sd.norm.offsets, dtype="<i4").tobytes(), sd.checksum))
                con.executemany("INSERT INTO regions VALUES (?,?,?,?,?,?,?,?)", [
                    (sd.document.id, r.start, r.end, r.page, *(r.box if r.box is not None else (None,) * 4))
                    for r in sd.document.locations])
            con.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)", chunk_rows())
    finally:
        con.close()
    ref = SegmentRef(name, {}, counts["documents"], counts["chunks"])
    vec = folder / ref.vectors_file
    with open(vec, "wb") as fh:
        np.save(fh, np.ascontiguousarray(vectors, dtype="<f4"), allow_pickle=False)
    for path in (db, vec):
        fsync_path(path)
    return replace(ref, files={ref.db_file: sha256_file(db), ref.vectors_file: sha256_file(vec)})


def read_documents(con: sqlite3.Connection, ids: Sequence[str] | None = None) -> dict[str, StoredDocument]:
    """A segment's documents (all, or those of ``ids`` present), with their page regions, in stored order."""
    where, args = "", ()
    if ids is not None:
        if not ids:
            return {}
        where, args = f" WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
    documents: dict[str, StoredDocument] = {}
    for row in con.execute("SELECT id, title, source, text, norm_text, offsets, checksum FROM documents" + where, args):
        documents[row[0]] = StoredDocument(Document(row[0], row[1], row[3], row[2]),
                                           NormalizedText(row[4], offsets_from_bytes(row[5])), row[6])
    regions: dict[str, list[Region]] = {}
    region_where = where.replace("WHERE id", "WHERE doc_id")
    for d, a, b, page, *box in con.execute("SELECT doc_id, start, end, page, x0, y0, x1, y1 FROM regions"
                                           + region_where + " ORDER BY doc_id, start", args):
        if d in documents:
            regions.setdefault(d, []).append(Region(int(a), int(b), None if page is None else int(page),
                                                    None if box[0] is None else tuple(float(v) for v in box)))
    for d, rs in regions.items():
        sd = documents[d]
        documents[d] = StoredDocument(replace(sd.document, locations=tuple(rs)), sd.norm, sd.checksum)
    return documents


def read_segment_index(file: "SegmentFile", folder: Path, ref: SegmentRef, removed: set[str], dimension: int,
                       tokens: TokenTable | None = None, vectors: bool = True) -> SegmentIndex:
    """What a store holds of a segment: its live documents' ids and, per live chunk, its row and
    document and its vector; not their text. The chunks' BM25 tokens are appended to ``tokens`` when
    given (else they stay on disk until a store needs them). With ``vectors`` False the vector file's
    shape is checked but its rows are not read (an HNSW graph's file holds them)."""
    documents = [d for (d,) in file.query("SELECT id FROM documents ORDER BY rowid") if d not in removed]
    live = {d: d for d in documents}   # each chunk names its document by the same string object
    rows: list[int] = []
    row_documents: list[str] = []
    columns = "row, doc_id, tokens" if tokens is not None else "row, doc_id, NULL"
    for row, doc_id, words in file.iterate(f"SELECT {columns} FROM chunks ORDER BY row"):
        if doc_id in live:
            rows.append(row)
            row_documents.append(live[doc_id])
            if tokens is not None:
                tokens.append(json.loads(words))
    stored = np.load(folder / ref.vectors_file, mmap_mode="r", allow_pickle=False)
    if stored.ndim != 2 or stored.shape != (ref.chunks, dimension):
        raise ValueError(f"{ref.vectors_file} holds {stored.shape} vectors, the segment {ref.chunks} of {dimension}-d")
    if rows and rows[-1] >= len(stored):
        raise ValueError(f"{ref.db_file} has chunk row {rows[-1]} beyond its {len(stored)} vectors")
    if not vectors:
        live = np.zeros((0, dimension), dtype=np.float32)
    elif len(rows) != len(stored):
        live = np.asarray(stored[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
    else:
        live = stored   # memory-mapped: the store copies the rows into its own buffer once
    return SegmentIndex(documents, rows, row_documents, live)


def segment_catalog(folder: Path, ref: SegmentRef, removed: set[str]) -> list[DocumentInfo]:
    """The segment's live documents (id, title, source, chunks, checksum) without reading their text."""
    con = sqlite3.connect(f"file:{folder / ref.db_file}?mode=ro", uri=True)
    try:
        counts = dict(con.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id"))
        return [DocumentInfo(d, title, source, int(counts.get(d, 0)), checksum)
                for d, title, source, checksum in con.execute("SELECT id, title, source, checksum FROM documents")
                if d not in removed]
    finally:
        con.close()


def write_manifest(folder: Path, manifest: dict, name: str) -> None:
    """Replace ``folder/name`` atomically: a reader sees the old manifest or the new one, never half."""
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    fsync_path(tmp)
    os.replace(tmp, folder / name)
    fsync_path(folder)
