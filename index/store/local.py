"""One directory holding the whole index: segments of SQLite rows and vectors, and a manifest.

Why: an index must survive crashes, take a new document without being rewritten, and be refused
when it does not fit the configured encoder. A save adds a segment (the documents added since the
last one) and lists removed documents, then replaces the manifest atomically (index/store/segments.py);
past 16 segments, or a quarter of the stored chunks removed, or for HNSW/IVF indexes, it writes the
whole index into a temporary sibling directory renamed into place. Loads check the manifest's
format, encoder and file checksums. No pickle.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.bm25 import BM25_TOKENIZER_VERSION, BM25Index, TokenTable, known_terms, tokenize
from index.chunk import Chunk
from index.documents import Document, Region
from index.env_numbers import env_number
from index.normalize import NORMALIZER_VERSION, NormalizedText
from index.store import bm25_cache
from index.store.prepare import (AddReport, DocumentInfo, PreparedBatch, StoredDocument, StoreError,
                                 passage_text, prepare_documents)
from index.store.rows import ChunkRows, DocumentTable, SegmentFile
from index.store.segments import (SEGMENT_PREFIX, SegmentRef, offsets_from_bytes, read_segment_index,
                                  write_manifest, write_segment)
from index.store.vectors import VectorRows, top_inner_product
from index.store.segments import fsync_path as _fsync
from index.store.segments import sha256_file as _sha256
from index.store import verified
from index.store.verified import plain_file_name

FORMAT_VERSION = 2                 # 2: segments (index/store/segments.py); 1 (one SQLite + FAISS file) still loads
MANIFEST = "manifest.json"
DB_FILE = "chunks.sqlite"          # format 1
FAISS_FILE = "dense.faiss"         # HNSW/IVF indexes (trained or built once); format 1: every index
MAX_SEGMENTS = 16                  # a save beyond this many segments rewrites the index as one
MAX_REMOVED_SHARE = 0.25           # ... as does one where more than this share of stored chunks is removed
RETIRED_GRACE_S = 60.0             # a dropped segment's files outlive the manifest that dropped it this long
FAISS_KINDS = ("auto", "flat", "hnsw", "ivf")
# "auto": exact (flat) search while an index is small, an HNSW graph from this many passages on, where
# one exact search reads every vector (about 20 ms at 200k 384-d passages on 2 cores, 100+ at 1M)
AUTO_HNSW_FROM = env_number("ZHQA_AUTO_HNSW_FROM")
_LAZY_BUILD = threading.Lock()   # search structures built on first use
_LAZY_TOKENS = threading.Lock()  # a loaded store's BM25 tokens, read from its segments when first needed
# BM25 of a saved state is kept beside the index from this many passages on (index/store/bm25_cache.py);
# below it, indexing BM25 at the first search takes well under a second
BM25_CACHE_FROM = env_number("ZHQA_BM25_CACHE_FROM")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")   # gone meanwhile: never "old"


def _complete_generation(folder: Path) -> int | None:
    """The generation of a complete saved index in ``folder`` (manifest and every file it lists), else None."""
    manifest = _peek(folder)
    files = manifest.get("files", {}) if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(plain_file_name(n) and (folder / n).is_file() for n in files):
        return None
    generation = manifest.get("generation", 0)
    return generation if _whole(generation) else None


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _take_folder_access(folder: Path, target: Path) -> None:
    """Give the folder written whole the mode and group the index folder had (else what the umask gives
    a new folder); a group that cannot be given (not one of ours) is left."""
    try:
        st = target.stat()
    except OSError:
        folder.chmod(0o777 & ~_umask())
        return
    try:
        os.chown(folder, -1, st.st_gid)
    except OSError:
        pass
    folder.chmod(stat.S_IMODE(st.st_mode))


def manifest_identity(manifest: dict) -> tuple[str | None, int, str | None]:
    """``(index id, generation, save id)``: which index, and which save of it (ids None in older formats)."""
    index_id, save_id = manifest.get("index_id"), manifest.get("save_id")
    return (index_id if isinstance(index_id, str) else None, manifest.get("generation", 0),
            save_id if isinstance(save_id, str) else None)


def complete_identity(folder: Path) -> tuple[str | None, int, str | None] | None:
    """:func:`manifest_identity` of a complete saved index in ``folder``, else None."""
    if _complete_generation(folder) is None:
        return None
    manifest = _peek(folder)
    return manifest_identity(manifest) if isinstance(manifest, dict) else None


def _set_aside(target: Path) -> list[tuple[int, Path]]:
    """Complete previous indexes that saves set aside as ``.NAME.old-*``, newest generation last."""
    found = []
    for d in target.parent.glob(f".{target.name}.old-*"):
        gen = _complete_generation(d)
        if gen is not None:
            found.append((gen, d))
    return sorted(found)


def _readable_dir(target: Path) -> Path:
    """``target``, or, while a save is between its two renames (or was killed there), the previous
    index it set aside. Loading never renames anything: only a writer, under the lock, does."""
    if (target / MANIFEST).exists() or not target.parent.is_dir():
        return target
    olds = _set_aside(target)
    return olds[-1][1] if olds else target


def recover_index_dir(target: Path) -> None:
    """Undo a save killed between its two renames (call it holding the index's write lock): the
    newest complete index set aside as ``.NAME.old-*`` goes back to ``NAME``; leftovers of killed
    saves (``.old-*``, ``.tmp-*``, ``.trash-*``) are removed."""
    target = Path(target).expanduser()
    if not target.parent.is_dir():
        return
    if not target.exists():
        olds = _set_aside(target)
        if olds:
            try:
                os.replace(olds[-1][1], target)
            except OSError:
                return
    if target.exists():
        name = target.name
        for pattern in (f".{name}.old-*", f".{name}.tmp-*", f".{name}.trash-*"):
            for leftover in target.parent.glob(pattern):
                # a trash folder is always dead; another's tmp/old may be a save in flight
                if pattern.endswith("trash-*") or time.time() - _mtime(leftover) > 60:
                    shutil.rmtree(leftover, ignore_errors=True)


SYSTEM_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".gitkeep", ".keep", ".directory"})


def check_index_target(target: Path) -> None:
    """Refuse (StoreError) to write an index where something else is: a file, or a folder that holds
    files but no ``manifest.json`` (a folder of documents, or an index whose manifest was lost). A save
    replaces its target whole, so writing there would delete what it holds."""
    target = Path(target).expanduser()
    if not os.path.lexists(target):
        above = next((a for a in target.parents if os.path.lexists(a)), None)
        if above is not None and not above.is_dir():
            raise StoreError(f"{above} is a file, so no index can be made at {target}")
        return
    if not target.is_dir():
        raise StoreError(f"{target} exists and is not an index directory; choose a new --index path")
    if (target / MANIFEST).exists():
        return
    try:
        held = sorted(p.name for p in target.iterdir() if p.name not in SYSTEM_LITTER)
    except OSError as exc:
        raise StoreError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if not held:   # empty, or only what file browsers and git leave in any folder
        return
    if any(name.startswith(SEGMENT_PREFIX) for name in held):
        raise StoreError(f"{target} looks like a damaged index (its {MANIFEST} is missing); it was left as it is: "
                         "move it away or choose a new --index directory")
    raise StoreError(f"{target} is a folder of other files ({', '.join(held[:3])}{', ...' if len(held) > 3 else ''}), "
                     "not an index; it was left as it is: choose a new --index directory")


def _discard(folder: Path) -> None:
    """Remove a folder so that a half-deleted one is never taken for an index: rename, then delete."""
    trash = folder.with_name(folder.name.replace(".old-", ".trash-", 1))
    try:
        os.replace(folder, trash)
    except OSError:
        trash = folder
    shutil.rmtree(trash, ignore_errors=True)


def _peek(path: str | Path, *keys: str):
    """``manifest[keys[0]][keys[1]]…`` of the index directory at ``path`` (unverified), or None when the
    manifest is missing, not a regular file (a FIFO would block), damaged or of another shape."""
    f = Path(path).expanduser() / MANIFEST
    try:
        if not f.is_file():
            return None
        value = json.loads(f.read_text(encoding="utf-8"))
        for key in keys:
            value = value[key]
        return value
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError, MemoryError):
        return None


def index_encoder_name(path: str | Path) -> str | None:
    """The encoder an index directory was built with (unverified peek), or None."""
    name = _peek(path, "encoder", "name")
    return name if isinstance(name, str) else None


def index_chunk_size(path: str | Path) -> int | None:
    """The chunk size an index directory was built with (unverified peek), or None."""
    size = _peek(path, "chunking", "size")
    return size if _whole(size) else None


def _load_reason(exc: BaseException) -> str:
    """One line on why a verified index could not be read (numpy's advice to unpickle is not given)."""
    text = " ".join(str(exc).split())
    if "allow_pickle" in text or "Python objects" in text:
        return "a vector file holds pickled objects, which are never loaded"
    if isinstance(exc, MemoryError):
        return "its counts do not fit in memory"
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def manifest_shape_problem(manifest: dict) -> str | None:
    """What is wrong with the manifest's structure (the types of the fields a load reads, the files it
    names), or None. A hand-edited or damaged manifest is refused here, in one line, instead of failing
    deeper down with a library's error."""
    version = manifest.get("format_version")
    if not _whole(version):
        return f"format_version is {version!r}, not a whole number"
    enc = manifest.get("encoder")
    if isinstance(enc, dict):
        if not isinstance(enc.get("name", ""), str):
            return "the encoder's name is not text"
        if "dimension" in enc and not (_whole(enc["dimension"]) and enc["dimension"] > 0):
            return f"the encoder's dimension is {enc['dimension']!r}, not a whole number above 0"
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return "'files' is not a map of file names to checksums"
    bad = next((n for n in files if not plain_file_name(n)), None)
    if bad is not None:
        return f"it names {bad!r}, which is not a file of the index folder"
    chunking = manifest.get("chunking", {})
    if not isinstance(chunking, dict) or not all(_whole(chunking[k]) for k in ("size", "overlap") if k in chunking):
        return "'chunking' is not a map of whole numbers"
    removed = manifest.get("removed", {})
    if not isinstance(removed, dict) or not all(isinstance(v, list) for v in removed.values()):
        return "'removed' is not a map of segment names to document ids"
    if "generation" in manifest and not _whole(manifest["generation"]):
        return "'generation' is not a whole number"
    if version == 1 and not {DB_FILE, FAISS_FILE} <= set(files):
        return f"its checksums of {DB_FILE} and {FAISS_FILE} are not listed in 'files'"
    segments = manifest.get("segments")
    if segments is None:
        return None
    if not isinstance(segments, list):
        return "'segments' is not a list"
    for seg in segments:
        if not isinstance(seg, dict) or not plain_file_name(seg.get("name")) or not isinstance(seg.get("files"), dict):
            return "a segment is not a map with a file name and its files"
        if not {f"{seg['name']}.sqlite", f"{seg['name']}.npy"} <= set(seg["files"]):
            return f"segment {seg['name']} does not list its own files"
        if not all(_whole(seg.get(k)) and seg[k] >= 0 for k in ("documents", "chunks")):
            return f"segment {seg['name']}'s document and chunk counts are not whole numbers of 0 or more"
        unchecked = [n for n in seg["files"] if files.get(n) != seg["files"][n]]
        if unchecked:   # every segment file must be verified: a manifest without checksums would skip the check
            return f"the checksum of {unchecked[0]!r} is not listed in 'files'"
    return None


def read_manifest(root: Path, encoder_name: str | None = None, dimension: int | None = None,
                  check_files: bool = True) -> dict:
    """The verified manifest of the index in ``root``: a supported format, the expected encoder and
    dimension when given, and every file it names present with its checksum (else StoreError; with
    ``check_files`` False, present only: the caller checks them, :func:`check_manifest_files`, once it
    knows it will not hand the index to a loader that checks them again)."""
    if not (root / MANIFEST).exists():
        raise StoreError(f"no index at {root} (missing {MANIFEST}); build one with 'qa index PATH --index {root}'")
    if not (root / MANIFEST).is_file():   # a FIFO or a device would block the read
        raise StoreError(f"{root / MANIFEST} is not a regular file; rebuild the index")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        raise StoreError(f"{root / MANIFEST} is corrupt: {str(exc)[:200] or type(exc).__name__}") from exc
    problem = manifest_shape_problem(manifest)
    if problem is not None:
        raise StoreError(f"{root / MANIFEST} is corrupt: {problem}; rebuild the index")
    if manifest.get("format_version") not in (1, FORMAT_VERSION):
        raise StoreError(f"{root}: index format {manifest.get('format_version')} is not supported "
                         f"(expected {FORMAT_VERSION}); rebuild it with 'qa index'")
    enc = manifest.get("encoder")
    if not isinstance(enc, dict) or "dimension" not in enc:
        raise StoreError(f"{root / MANIFEST} is corrupt: it names no encoder")
    if encoder_name is not None and enc.get("name") != encoder_name:
        raise StoreError(f"{root} was built with encoder '{enc.get('name')}', but '{encoder_name}' is "
                         "configured; use the same encoder or rebuild the index")
    if dimension is not None and enc.get("dimension") != dimension:
        raise StoreError(f"{root}: index vectors are {enc.get('dimension')}-d, the encoder gives {dimension}-d")
    files = manifest.get("files", {})
    for name in files:
        if not (root / name).exists():
            raise StoreError(f"{root}: {name} is missing; rebuild the index")
        if not (root / name).is_file():
            raise StoreError(f"{root}: {name} is not a regular file; rebuild the index")
    if check_files:
        check_manifest_files(root, manifest)
    return manifest


def check_manifest_files(root: Path, manifest: dict) -> None:
    """Refuse (StoreError) an index whose files do not hash to the manifest's checksums; each file is
    hashed once while it stays as it was verified (index/store/verified.py)."""
    corrupt = verified.mismatched_files(root, manifest.get("files", {}))
    if corrupt:
        raise StoreError(f"{root}: {corrupt[0]} is corrupt (checksum mismatch); rebuild the index")


def _manifest_generation(root: Path) -> int | None:
    generation = _peek(root, "generation")
    return generation if _whole(generation) else None


def _remove_unnamed_files(folder: Path, manifest: dict, min_age_s: float = 60.0,
                          expired: set[str] = frozenset()) -> None:
    """Delete segment files and manifest temporaries the manifest does not name: what killed or
    superseded writes left. A file younger than ``min_age_s`` may be a write in flight: kept, unless
    it is ``expired`` (a retired segment's, past its grace period, whatever the file's own age)."""
    named = set(manifest.get("files", {})) | {f for r in manifest.get("retired", []) for f in r["files"]}
    for f in folder.iterdir():
        stray = (f.name.startswith(SEGMENT_PREFIX) and f.name not in named) or \
            (f.name.startswith(f".{MANIFEST}.") and f.name.endswith(".tmp"))
        if stray and (f.name in expired or time.time() - _mtime(f) > min_age_s):
            try:
                f.unlink()
            except OSError:
                pass


def manifest_v2(base: dict, generation: int, segments: list[SegmentRef], removed: dict[str, list[str]],
                extra_files: dict[str, str]) -> dict:
    """The manifest of a segmented index: ``base`` (format, encoder, counts) plus its segments, removals,
    every file's checksum and the next generation."""
    manifest = dict(base)
    manifest["segments"] = [s.to_json() for s in segments]
    manifest["removed"] = removed
    manifest["files"] = {**{f: h for s in segments for f, h in s.files.items()}, **extra_files}
    manifest["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest["generation"] = generation + 1
    manifest["save_id"] = uuid.uuid4().hex   # this save's own: a restored copy may repeat a generation
    return manifest


def can_append(target: Path, generation: int, segments: list[SegmentRef], live_stored_chunks: int) -> bool:
    """Whether a save to ``target`` may add a segment: the index there is still the one these segments
    describe (same generation), with fewer than MAX_SEGMENTS segments and at most MAX_REMOVED_SHARE
    of its stored chunks removed."""
    if len(segments) >= MAX_SEGMENTS:
        return False
    try:
        on_disk = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (not isinstance(on_disk, dict) or on_disk.get("format_version") != FORMAT_VERSION
            or on_disk.get("bm25_tokenizer_version") != BM25_TOKENIZER_VERSION   # old tokens: rewrite them all
            or on_disk.get("normalizer_version") != NORMALIZER_VERSION
            or on_disk.get("generation") != generation
            or [s.get("name") for s in on_disk.get("segments", [])] != [s.name for s in segments]):
        return False
    stored = sum(s.chunks for s in segments)
    return stored - live_stored_chunks <= MAX_REMOVED_SHARE * max(stored, 1)


def append_segment(target: Path, base: dict, generation: int, segments: list[SegmentRef],
                   removed: dict[str, set[str]], holding: set[str], new: tuple | None):
    """Write ``new`` (documents, chunks, tokens, vectors) as a segment, if any, then the manifest naming
    the segments that still hold a live document (``holding``) and their removals; then remove files no
    manifest names. Returns (manifest, segments, removed, the new segment's name or None)."""
    segments = list(segments)
    name = None
    if new:
        name = f"{SEGMENT_PREFIX}{generation + 1:06d}-{uuid.uuid4().hex[:8]}"
        segments.append(write_segment(target, name, *new))
        holding = holding | {name}
    # a segment with no live document goes; its files stay a grace period for loads reading the
    # previous manifest, listed as retired (their age on disk says nothing of when they were dropped)
    now = time.time()
    listed = _retired(target)
    retired = [r for r in listed if now - r["at"] <= RETIRED_GRACE_S]
    expired = [f for r in listed if now - r["at"] > RETIRED_GRACE_S for f in r["files"]]
    retired += [{"name": s.name, "files": sorted(s.files), "at": now} for s in segments if s.name not in holding]
    segments = [s for s in segments if s.name in holding]
    kept = {s.name: sorted(removed[s.name]) for s in segments if removed.get(s.name)}
    manifest = manifest_v2(base, generation, segments, kept, {})
    manifest["retired"] = retired
    write_manifest(target, manifest, MANIFEST)
    if name is not None:   # its files were hashed as written: the next open need not read them again
        verified.remember(target, next(s.files for s in segments if s.name == name))
    _remove_unnamed_files(target, manifest, expired=set(expired))
    bm25_cache.remove_stale(target, manifest)   # BM25 kept for states no longer current
    return manifest, segments, {k: set(v) for k, v in kept.items()}, name


def _retired(target: Path) -> list[dict]:
    """The segments the manifest at ``target`` lists as retired (dropped, files not yet deleted)."""
    try:
        found = json.loads((target / MANIFEST).read_text(encoding="utf-8")).get("retired", [])
        return [{"name": str(r["name"]), "files": [str(f) for f in r["files"]], "at": float(r["at"])}
                for r in found]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return []


class _GraphStorage:
    """An HNSW graph's stored vectors as a numpy array whose base keeps the graph alive (a view of a
    graph that was freed would read freed memory)."""

    def __init__(self, index, address: int, n: int, d: int):
        self.index = index
        self.__array_interface__ = {"shape": (n, d), "typestr": "<f4", "data": (address, True), "version": 3}


class IndexStore:
    """Documents, chunks, vectors and the derived FAISS / BM25 indexes."""

    def __init__(self, encoder_name: str, dimension: int, chunk_size: int = 250, chunk_overlap: int = 60,
                 faiss_kind: str = "flat"):
        if faiss_kind not in FAISS_KINDS:
            raise ValueError(f"faiss kind must be one of {FAISS_KINDS}, not {faiss_kind!r}")
        self.faiss_auto = faiss_kind == "auto"   # flat until AUTO_HNSW_FROM passages, then HNSW for good
        faiss_kind = "flat" if self.faiss_auto else faiss_kind
        self.encoder_name = encoder_name
        self.dimension = dimension
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.faiss_kind = faiss_kind
        # chunks and documents are read from the segments' SQLite files on demand (index/store/rows.py)
        self._files: list[SegmentFile] = []
        self.documents = DocumentTable(self._files)
        self.chunks = ChunkRows(self._files)
        self._tokens: TokenTable | None = TokenTable()   # each chunk's BM25 tokens, row for row (None: on disk)
        self._saved_state: dict | None = None   # the manifest of the saved state this store holds exactly
        self._vectors = VectorRows(dimension)   # the only copy of the vectors (a flat store searches it)
        self._vectors_in_faiss = False          # an HNSW store's only copy is its graph's storage instead
        self._faiss = None                      # HNSW/IVF stores only
        self._bm25: BM25Index | None = None
        self.generation = 0          # saves so far of the index this store was loaded from (manifest)
        self.normalized_by = NORMALIZER_VERSION   # the normalizer its documents' stored text came from
        # which index this is, kept through its saves: one deleted and made again, or replaced by another,
        # has another (None: loaded from a manifest of before index ids; its next save gives it one)
        self.index_id: str | None = uuid.uuid4().hex
        self.save_id: str | None = None   # the save of it this store was loaded from or last saved
        # the segments on disk this store mirrors (index/store/segments.py)
        self._home: Path | None = None                 # the index directory they are in
        self._segments: list[SegmentRef] = []
        self._removed: dict[str, set[str]] = {}        # segment name → its documents no longer live
        self._doc_segment: dict[str, str] = {}         # saved document → the segment holding it
        self._pending: dict[str, None] = {}            # documents added since the last save, in order

    # ---------------------------------------------------------------- editing
    def add_documents(self, docs: list[Document], encoder, progress: bool = False) -> AddReport:
        """Normalize, chunk and embed new or changed documents; identical ones are left alone (but see
        :meth:`prepare`)."""
        return self.add_prepared(self.prepare(docs, encoder, progress))

    def prepare(self, docs: list[Document], encoder, progress: bool = False) -> PreparedBatch:
        """What :meth:`add_documents` adds, made without changing the store. In an index an older normalizer
        wrote, every document is read again: today's normalizer may cut its text otherwise (a headline glued
        to its lede before NORMALIZER_VERSION 6), and an unchanged file would keep that for good."""
        stale = self.normalized_by != NORMALIZER_VERSION
        if stale:
            given = {d.id for d in docs}
            docs = [self.documents[d].document for d in self.documents if d not in given] + list(docs)
            checksums = {d.id: "" for d in docs if d.id in self.documents}   # no checksum matches: all replaced
        else:
            checksums = self.documents.checksums(d.id for d in docs)
        batch = prepare_documents(docs, checksums, encoder, self.dimension, self.chunk_size, self.chunk_overlap,
                                  progress)
        return replace(batch, renormalized=True) if stale else batch

    def add_prepared(self, batch: PreparedBatch) -> AddReport:
        """Take documents already chunked and embedded (:func:`prepare_documents`), replacing older versions."""
        if batch.report.replaced:
            self.remove_documents(batch.report.replaced)
        if len(batch.vectors):
            if self._faiss is not None and self.faiss_kind == "hnsw":
                # rows are appended: an HNSW graph takes them as they are (IVF is retrained)
                if not self._vectors_in_faiss:
                    self._vectors.append(batch.vectors)
                self._faiss.add(np.ascontiguousarray(batch.vectors, dtype=np.float32))
            else:
                self._drop_faiss()
                self._vectors.append(batch.vectors)
        tokens = self.tokens   # read from the segments first, if still there: rows before these
        for sd in batch.documents:
            self.documents[sd.document.id] = sd
            self._pending[sd.document.id] = None
        self.chunks.append_memory(batch.chunks)
        tokens.extend(tokenize(t) for t in batch.texts)
        self._bm25 = None   # BM25's statistics cover the whole corpus: rebuilt at the next search
        self._saved_state = None
        if self.faiss_auto and self.faiss_kind == "flat" and len(self.chunks) >= AUTO_HNSW_FROM:
            self.faiss_kind = "hnsw"   # the graph is built at the next search; the next save is whole
        if batch.renormalized:
            self.normalized_by = NORMALIZER_VERSION
        return batch.report

    def document_infos(self) -> list[DocumentInfo]:
        """Every document's id, title, source and chunk count (documents without text have 0 chunks)."""
        return self.documents.infos(self.chunks.counts())

    def remove_documents(self, doc_ids: list[str]) -> int:
        """Remove documents and their chunks; returns how many documents were removed."""
        ids = {d for d in doc_ids if d in self.documents}
        if not ids:
            return 0
        keep = np.setdiff1d(np.arange(len(self.chunks)), self.chunks.rows_of(ids))
        self.chunks.select(keep)
        if self._tokens is not None:   # tokens still on disk stay there: rows are read by position
            self._tokens = self._tokens.select(keep.tolist())
        self._saved_state = None
        # a copy of the kept rows (from the graph's storage too), before the graph is dropped below
        self.vectors = self.vectors[keep] if len(keep) else np.zeros((0, self.dimension), dtype=np.float32)
        for d in ids:
            del self.documents[d]
            self._pending.pop(d, None)
            if d in self._doc_segment:   # saved: the next save lists it as removed from its segment
                self._removed.setdefault(self._doc_segment.pop(d), set()).add(d)
        self._invalidate()
        return len(ids)

    def _invalidate(self) -> None:
        self._drop_faiss()
        self._bm25 = None

    def _drop_faiss(self) -> None:
        """Forget the FAISS index (rebuilt when next needed), first taking back the vectors it holds."""
        if self._vectors_in_faiss:
            self.vectors = np.array(self.vectors)
        self._faiss = None

    # ---------------------------------------------------------------- search
    @property
    def vectors(self) -> np.ndarray:
        """Every live chunk's unit vector, row for row. A flat store's is a view valid after later
        additions too; an HNSW store's is a read-only view of its graph's storage, valid until the
        store next changes."""
        if self._vectors_in_faiss:
            import faiss

            n, d = self._faiss.ntotal, self.dimension
            if not n:
                return np.zeros((0, d), dtype=np.float32)
            raw = faiss.rev_swig_ptr(faiss.downcast_index(self._faiss.storage).get_xb(), n * d)
            view = np.asarray(_GraphStorage(self._faiss, raw.__array_interface__["data"][0], n, d))
            view.flags.writeable = False
            return view
        return self._vectors.array

    @vectors.setter
    def vectors(self, rows: np.ndarray) -> None:
        self._vectors.replace(rows)
        self._vectors_in_faiss = False   # held here again; the caller drops the graph

    def _hand_vectors_to_graph(self) -> None:
        """An HNSW graph holds every vector in its storage: release the store's own copy."""
        if self._faiss is not None and self.faiss_kind == "hnsw" and not self._vectors_in_faiss \
                and self._faiss.ntotal == len(self._vectors):
            self._vectors_in_faiss = True
            self._vectors = VectorRows(self.dimension)

    def _build_faiss(self):
        import faiss

        n, d = self.vectors.shape
        if self.faiss_kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 128
        elif self.faiss_kind == "ivf" and n >= 256:
            nlist = max(4, min(1024, int(np.sqrt(n))))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(self.vectors)
            index.nprobe = max(1, nlist // 4)
        else:  # flat; also IVF on corpora too small to train
            index = faiss.IndexFlatIP(d)
        if n:
            index.add(self.vectors)
        return index

    @property
    def faiss_index(self):
        """The FAISS index of an HNSW or IVF store, built on first use; None for a flat store, which
        searches its vectors exactly without a second copy of them (index/store/vectors.py)."""
        if self.faiss_kind == "flat":
            return None
        if self._faiss is None:
            with _LAZY_BUILD:  # concurrent readers build it once
                if self._faiss is None:
                    self._faiss = self._build_faiss()
                    self._hand_vectors_to_graph()
        return self._faiss

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        if self.faiss_kind == "flat":
            return top_inner_product(self.vectors, query_vector, k)
        q = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
        scores, rows = self.faiss_index.search(q, min(k, len(self.chunks)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def bm25_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self._bm25_index().search(tokenize(query, question=True), k)

    def bm25_coverage(self, query: str) -> float:
        """Share of the query's BM25 tokens found anywhere in the store (how much BM25 can see of it)."""
        return self._bm25_index().coverage(tokenize(query, question=True))

    def bm25_known(self, terms: list[str]) -> list[bool]:
        """Per term, whether the store holds every one of its BM25 tokens (a translated word the documents use)."""
        return known_terms(terms, self._bm25_index().known)

    @property
    def tokens(self) -> TokenTable:
        """Every chunk's BM25 tokens, row for row; a loaded store reads them from its segments when
        first asked (to index BM25 afresh, or to write the index whole)."""
        if self._tokens is None:
            with _LAZY_TOKENS:
                if self._tokens is None:
                    table = TokenTable()
                    for row, stored in enumerate(self.chunks.stored_tokens()):
                        # a row held in memory has no stored tokens (not the case after a load)
                        table.append(stored if stored is not None else tokenize(passage_text(self.chunks[row])))
                    self._tokens = table
        return self._tokens

    @tokens.setter
    def tokens(self, table: TokenTable) -> None:
        self._tokens = table

    def _bm25_index(self) -> BM25Index:
        if self._bm25 is None:
            with _LAZY_BUILD:
                if self._bm25 is None:
                    cached = self._cached_bm25()
                    if cached is None:
                        self._bm25 = BM25Index(self.tokens)
                        self._keep_bm25()
                    else:
                        self._bm25 = cached
        return self._bm25

    def _cached_bm25(self) -> BM25Index | None:
        """The BM25 kept beside the saved state this store holds, if any (memory-mapped)."""
        if self._saved_state is None or self._home is None or len(self.chunks) < BM25_CACHE_FROM:
            return None
        return bm25_cache.load(self._home, self._saved_state, len(self.chunks))

    def _keep_bm25(self) -> None:
        """Write the BM25 just indexed beside the saved state it covers, while that state is current."""
        if (self._saved_state is not None and self._home is not None and self._bm25 is not None
                and len(self.chunks) >= BM25_CACHE_FROM and _manifest_generation(self._home) == self.generation):
            bm25_cache.save(self._home, self._saved_state, self._bm25)

    # ---------------------------------------------------------------- persistence
    def manifest(self) -> dict:
        if self.index_id is None:
            self.index_id = uuid.uuid4().hex
        return {
            "format_version": FORMAT_VERSION,
            "index_id": self.index_id,
            "backend": "local",
            "encoder": {"name": self.encoder_name, "dimension": self.dimension},
            "chunking": {"size": self.chunk_size, "overlap": self.chunk_overlap},
            # what made the stored text: an older version's index stays marked so until it is read again
            "normalizer_version": self.normalized_by if self.normalized_by is not None else 0,
            "bm25_tokenizer_version": BM25_TOKENIZER_VERSION,
            "faiss": self.faiss_kind,
            "faiss_auto": self.faiss_auto,
            "documents": len(self.documents),
            "chunks": len(self.chunks),
        }

    def save(self, path: str | Path) -> Path:
        """Write what changed since the last save as a new segment when this store mirrors the index at
        ``path`` (see :mod:`index.store.segments`); otherwise write the whole index into a new
        directory switched in by rename. Either way a crash at any point leaves the previous index
        readable."""
        target = Path(path).expanduser().resolve()
        if self._can_append(target):
            self._append_segment(target)
        else:
            self._write_whole(target)
        return target

    def _can_append(self, target: Path) -> bool:
        """A flat index this store loaded from or saved to ``target``, still as it left it, with few
        segments and few removed chunks (else the whole index is rewritten: a compaction)."""
        if self._home != target or self.faiss_kind != "flat":
            return False
        live_stored = len(self.chunks) - len(self.chunks.rows_of(self._pending))
        return can_append(target, self.generation, self._segments, live_stored)

    def _append_segment(self, target: Path) -> None:
        pending = [d for d in self._pending if d in self.documents]
        rows = self.chunks.rows_of(pending)
        new = (pending and ([self.documents[d] for d in pending], self.chunks.take(rows),
                            [self.tokens[int(i)] for i in rows],
                            self.vectors[rows] if len(rows) else np.zeros((0, self.dimension), np.float32)))
        manifest, self._segments, self._removed, name = append_segment(
            target, self.manifest(), self.generation, self._segments, self._removed,
            set(self._doc_segment.values()), new or None)
        if name is not None:   # what was held in memory is read from the new segment from now on
            self._files.append(SegmentFile(target / f"{name}.sqlite"))
            self.chunks.rehome(rows, len(self._files) - 1)
            self.documents.rehome(pending, len(self._files) - 1)
        for d in pending:
            self._doc_segment[d] = name
        self._pending.clear()
        self.generation = manifest["generation"]
        self._saved_state = manifest
        self.save_id = manifest.get("save_id")
        self._keep_bm25()   # BM25 indexed since the last change covers exactly this state

    def _write_whole(self, target: Path) -> None:
        import faiss

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            name = f"{SEGMENT_PREFIX}{self.generation + 1:06d}-{uuid.uuid4().hex[:8]}"
            # documents and chunks stream from the old segments into the new one
            segment = write_segment(tmp, name, self.documents.stream(), iter(self.chunks), self.tokens, self.vectors)
            extra = {}
            if self.faiss_kind != "flat":   # a trained or graph index is kept, not rebuilt at each load
                faiss.write_index(self.faiss_index, str(tmp / FAISS_FILE))
                _fsync(tmp / FAISS_FILE)
                extra[FAISS_FILE] = _sha256(tmp / FAISS_FILE)
            manifest = manifest_v2(self.manifest(), self.generation, [segment], {}, extra)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
            _fsync(tmp / MANIFEST)
            _fsync(tmp)
            recover_index_dir(target)
            check_index_target(target)   # never replace a folder of documents, or a file, with the index
            _take_folder_access(tmp, target)   # mkdtemp's 0700 would shut other users (a UI's) out
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
                os.replace(target, old)   # a crash before the next rename is undone by recover_index_dir
            os.replace(tmp, target)
            _fsync(target.parent)
            verified.remember(target, manifest["files"])   # hashed as written: the next open need not
            if old is not None:
                _discard(old)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.generation = manifest["generation"]
        self._files[:] = [SegmentFile(target / segment.db_file)]   # everything is read from there now
        self.chunks.rehome(np.arange(len(self.chunks)), 0)
        self.documents.rehome(list(self.documents), 0)
        self._home, self._segments, self._removed = target, [segment], {}
        self._doc_segment = dict.fromkeys(self.documents, segment.name)
        self._pending.clear()
        self._saved_state = manifest
        self.save_id = manifest.get("save_id")
        self._keep_bm25()

    @classmethod
    def load(cls, path: str | Path, encoder_name: str | None = None, dimension: int | None = None) -> "IndexStore":
        """Load and verify an index; ``encoder_name``/``dimension`` must match the manifest when given.
        A load that fails while another process saves (files it was about to read are gone) is tried
        again on the new manifest."""
        asked = Path(path).expanduser()
        for attempt in range(3):
            seen = _manifest_generation(_readable_dir(asked))
            try:
                return cls._load_once(asked, encoder_name, dimension)
            except StoreError:
                if attempt == 2 or seen is None or _manifest_generation(_readable_dir(asked)) == seen:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_once(cls, asked: Path, encoder_name: str | None, dimension: int | None) -> "IndexStore":
        import faiss

        root = _readable_dir(asked)
        manifest = read_manifest(root, encoder_name, dimension)
        chunking = manifest.get("chunking", {})
        enc = manifest["encoder"]
        store = cls(enc.get("name"), int(enc.get("dimension")), int(chunking.get("size", 250)),
                    int(chunking.get("overlap", 60)), manifest.get("faiss", "flat"))
        store.faiss_auto = bool(manifest.get("faiss_auto", False))
        store.index_id, _, store.save_id = manifest_identity(manifest)
        try:
            if manifest["format_version"] == 1:
                store._read_db(root / DB_FILE)
                index = faiss.read_index(str(root / FAISS_FILE))
            else:
                index = store._read_segments(root, manifest)
        except StoreError:   # says what to do already (a segment that cannot be opened)
            raise
        except (sqlite3.DatabaseError, RuntimeError, ValueError, KeyError, TypeError, OSError, EOFError,
                AttributeError, IndexError, MemoryError, OverflowError) as exc:
            raise StoreError(f"{root}: cannot read the index ({_load_reason(exc)}); rebuild it") from exc
        if index is not None:
            if index.ntotal != len(store.chunks) or index.d != store.dimension:
                raise StoreError(f"{root}: the FAISS index holds {index.ntotal} vectors of {index.d} dimensions "
                                 f"for {len(store.chunks)} chunks of {store.dimension}; rebuild it")
            if store.faiss_kind != "flat":   # a format-1 flat file is only checked: its vectors are held already
                store._faiss = index
                if store.faiss_kind == "hnsw" and not len(store._vectors):   # the graph holds the only copy
                    store._vectors_in_faiss = True
                store._hand_vectors_to_graph()
        store.generation = int(manifest.get("generation", 0))
        store.normalized_by = manifest.get("normalizer_version")
        if manifest["format_version"] == FORMAT_VERSION and root == asked:   # not a set-aside copy
            store._home = asked.resolve()    # later saves add segments here
            store._saved_state = manifest
        if manifest.get("bm25_tokenizer_version", 1) != BM25_TOKENIZER_VERSION:
            # tokens stored by an older tokenizer would not match today's query tokens: redo them
            store.tokens = TokenTable(tokenize(passage_text(c)) for c in store.chunks)
            store._saved_state = None
        return store

    def _read_segments(self, root: Path, manifest: dict):
        """Every segment's live documents' ids, chunk rows, tokens and vectors, in order (their text
        is read on demand); the stored FAISS index (HNSW/IVF), if any."""
        import faiss

        removed = {k: set(v) for k, v in manifest.get("removed", {}).items()}
        refs = [SegmentRef.from_json(raw) for raw in manifest["segments"]]
        # an HNSW graph's file holds the vectors: the segments' copies are checked, not kept
        keep_vectors = self.faiss_kind != "hnsw" or FAISS_FILE not in manifest.get("files", {})
        if keep_vectors:
            self._vectors.reserve(sum(ref.chunks for ref in refs))   # one buffer, no concatenated copy
        for ref in refs:
            file = SegmentFile(root / ref.db_file)
            part = read_segment_index(file, root, ref, removed.get(ref.name, set()), self.dimension,
                                      vectors=keep_vectors)
            self._files.append(file)
            self.documents.add_stored(part.documents, len(self._files) - 1)
            self._doc_segment.update(dict.fromkeys(part.documents, ref.name))
            self.chunks.append_segment(len(self._files) - 1, part.rows, part.row_documents)
            if keep_vectors:
                self._vectors.append(part.vectors)
            self._segments.append(ref)
        self._removed = removed
        self._tokens = None   # read from the segments only if BM25 must be indexed afresh
        return faiss.read_index(str(root / FAISS_FILE)) if FAISS_FILE in manifest.get("files", {}) else None

    def _read_db(self, path: Path) -> None:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            documents: dict[str, StoredDocument] = {}
            for row in con.execute("SELECT id, title, source, text, norm_text, offsets, checksum FROM documents"):
                doc = Document(row[0], row[1], row[3], row[2])
                offsets = offsets_from_bytes(row[5])
                documents[row[0]] = StoredDocument(doc, NormalizedText(row[4], offsets), row[6])
            if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='regions'").fetchone():
                regions: dict[str, list[Region]] = {}
                for d, a, b, page, *box in con.execute("SELECT doc_id, start, end, page, x0, y0, x1, y1 FROM regions"
                                                       " ORDER BY doc_id, start"):
                    regions.setdefault(d, []).append(
                        Region(int(a), int(b), None if page is None else int(page),
                               None if box[0] is None else tuple(float(v) for v in box)))
                for d, rs in regions.items():
                    if d in documents:
                        sd = documents[d]
                        documents[d] = StoredDocument(replace(sd.document, locations=tuple(rs)), sd.norm,
                                                      sd.checksum)
            for d, sd in documents.items():   # a format-1 index is held in memory, as it always was
                self.documents[d] = sd
            vecs, chunks = [], []
            for row in con.execute("SELECT chunk_id, doc_id, title, text, norm_start, norm_end, start, end,"
                                   " tokens, vector FROM chunks ORDER BY row"):
                chunks.append(Chunk(*row[:8]))
                self.tokens.append(json.loads(row[8]))
                vecs.append(np.frombuffer(row[9], dtype="<f4"))
            self.chunks.append_memory(chunks)
            self.vectors = (np.stack(vecs).astype(np.float32) if vecs
                            else np.zeros((0, self.dimension), dtype=np.float32))
        finally:
            con.close()
