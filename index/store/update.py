"""Changing a saved local index without loading its passages: what ``qa index`` does to an index.

Why: adding one file to a 100k-passage index should cost that file's work, not reading 100k
passages, their tokens and vectors into memory to write them back. An update reads the manifest and
each segment's document list (ids, titles, checksums, chunk counts), embeds only new or changed
documents, and saves them as one more segment (:mod:`index.store.segments`). When the index must be
compacted instead (too many segments or removals, an HNSW/IVF index, format 1), or its documents read
again (an older normalizer wrote it), it loads the index whole and saves it whole, as before.
"""
from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import numpy as np

from index.bm25 import tokenize
from index.documents import Document
from index.store import local
from index.store.local import (FORMAT_VERSION, IndexStore, _readable_dir, append_segment, can_append,
                               check_manifest_files, complete_identity, read_manifest)
from index.store.prepare import AddReport, DocumentInfo, PreparedBatch, StoreError, prepare_documents
from index.store.segments import SegmentRef, segment_catalog


class IndexUpdate:
    """A saved local index's document list, and the documents to add or remove at the next save."""

    def __init__(self, root: Path, manifest: dict):
        enc, chunking = manifest["encoder"], manifest.get("chunking", {})
        self.root = root
        self.encoder_name: str = enc["name"]
        self.dimension = int(enc["dimension"])
        self.chunk_size = int(chunking.get("size", 250))
        self.chunk_overlap = int(chunking.get("overlap", 60))
        self.faiss_kind = manifest.get("faiss", "flat")
        self.faiss_auto = bool(manifest.get("faiss_auto"))   # flat until AUTO_HNSW_FROM passages, then a graph
        self.generation = int(manifest.get("generation", 0))
        self._base = {k: v for k, v in manifest.items()
                      if k not in ("segments", "removed", "files", "saved_at", "generation", "save_id")}
        self._base.setdefault("index_id", uuid.uuid4().hex)   # an index of before ids gets one at this save
        self._segments = [SegmentRef.from_json(raw) for raw in manifest["segments"]]
        self._removed = {k: set(v) for k, v in manifest.get("removed", {}).items()}
        self.documents: dict[str, DocumentInfo] = {}
        self._segment_of: dict[str, str] = {}
        for ref in self._segments:
            for info in segment_catalog(root, ref, self._removed.get(ref.name, set())):
                self.documents[info.id] = info
                self._segment_of[info.id] = ref.name
        self._batches: list[PreparedBatch] = []
        self._dropped: set[str] = set()   # saved documents removed (or replaced) by this update

    @classmethod
    def open(cls, path: str | Path) -> "IndexUpdate | IndexStore":
        """An update of the segmented flat index at ``path``; for any other (format 1, HNSW/IVF, a
        save in flight), the index loaded whole, which takes the same calls. An open that fails while
        another process rewrites the index (``--list`` takes no lock) is tried again on the new manifest."""
        asked = Path(path).expanduser()
        for attempt in range(3):
            seen = complete_identity(_readable_dir(asked))
            try:
                return cls._open_once(asked)
            except StoreError:
                if attempt == 2 or seen is None or complete_identity(_readable_dir(asked)) == seen:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _open_once(cls, asked: Path) -> "IndexUpdate | IndexStore":
        root = _readable_dir(asked)
        manifest = read_manifest(root, check_files=False)
        if manifest["format_version"] != FORMAT_VERSION or manifest.get("faiss", "flat") != "flat" \
                or root.resolve() != asked.resolve() \
                or manifest.get("normalizer_version") != local.NORMALIZER_VERSION:   # read again whole at an add
            return IndexStore.load(asked)   # which checks the files itself
        # files checked as an open checks them (each hashed once while unchanged): an index with a
        # corrupt file is refused before minutes of embedding, not after; an append would keep it
        check_manifest_files(root, manifest)
        try:
            return cls(root.resolve(), manifest)
        except (OSError, ValueError, KeyError, TypeError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"{root}: cannot read the index ({exc}); rebuild it") from exc

    def document_infos(self) -> list[DocumentInfo]:
        return list(self.documents.values())

    @property
    def chunk_count(self) -> int:
        return sum(info.chunks for info in self.documents.values())

    def add_documents(self, docs: list[Document], encoder, progress: bool = False) -> AddReport:
        """Chunk and embed new or changed documents (identical ones are left alone); saved by :meth:`save`."""
        batch = prepare_documents(docs, {d: i.checksum for d, i in self.documents.items()}, encoder,
                                  self.dimension, self.chunk_size, self.chunk_overlap, progress)
        self.remove_documents(batch.report.replaced)
        for sd, count in zip(batch.documents, _chunk_counts(batch)):
            doc = sd.document
            self.documents[doc.id] = DocumentInfo(doc.id, doc.title, doc.source, count, sd.checksum)
        self._batches.append(batch)
        return batch.report

    def remove_documents(self, doc_ids: list[str]) -> int:
        ids = [d for d in dict.fromkeys(doc_ids) if d in self.documents]
        for d in ids:
            del self.documents[d]
            if d in self._segment_of:
                self._removed.setdefault(self._segment_of.pop(d), set()).add(d)
                self._dropped.add(d)
        return len(ids)

    def save(self, path: str | Path | None = None) -> Path:
        """Add a segment of the new documents and list the removed ones; or, when the index must be
        compacted (or was changed meanwhile), load it whole, apply the same changes and save it whole."""
        target = Path(path).expanduser().resolve() if path is not None else self.root
        if target != self.root:
            raise StoreError(f"an update of {self.root} cannot be saved to {target}")
        live_stored = sum(self.documents[d].chunks for d in self._segment_of)
        # an 'auto' index that grows past AUTO_HNSW_FROM passages is rewritten whole with an HNSW graph
        grows_a_graph = bool(self._base.get("faiss_auto")) and self.chunk_count >= local.AUTO_HNSW_FROM
        if not grows_a_graph and can_append(target, self.generation, self._segments, live_stored):
            self._append(target)
        else:
            self._compact(target)
        return target

    def _append(self, target: Path) -> None:
        # each new document's latest version (a document added twice in one update keeps the last)
        taken: set[str] = set()
        parts = []
        for batch in reversed(self._batches):
            mine = {sd.document.id for sd in batch.documents if sd.document.id in self.documents
                    and sd.document.id not in self._segment_of and sd.document.id not in taken}
            taken |= mine
            parts.append((batch, mine))
        docs, chunks, tokens, vectors = [], [], [], []
        for batch, mine in reversed(parts):
            docs += [sd for sd in batch.documents if sd.document.id in mine]
            rows = [i for i, c in enumerate(batch.chunks) if c.doc_id in mine]
            chunks += [batch.chunks[i] for i in rows]
            tokens += [tokenize(batch.texts[i]) for i in rows]
            vectors.append(batch.vectors[rows] if rows else np.zeros((0, self.dimension), np.float32))
        new = (docs, chunks, tokens, np.concatenate(vectors)) if docs else None
        base = {**self._base, "documents": len(self.documents), "chunks": self.chunk_count}
        manifest, self._segments, self._removed, name = append_segment(
            target, base, self.generation, self._segments, self._removed, set(self._segment_of.values()), new)
        if name is not None:
            for sd in new[0]:
                self._segment_of[sd.document.id] = name
        self._batches.clear()
        self._dropped.clear()
        self.generation = manifest["generation"]

    def _compact(self, target: Path) -> None:
        store = IndexStore.load(target)
        if store.generation != self.generation:
            raise StoreError(f"{target} was changed by another process during this update; run it again")
        store.remove_documents(sorted(self._dropped))
        for batch in self._batches:   # each batch's documents replace what the store holds under their ids
            store.remove_documents([sd.document.id for sd in batch.documents])
            store.add_prepared(batch)
        store.remove_documents([d for d in store.documents if d not in self.documents])
        store.save(target)
        fresh = IndexUpdate(target, read_manifest(target, check_files=False))
        self.__dict__.update(fresh.__dict__)


def _chunk_counts(batch: PreparedBatch) -> list[int]:
    counts = dict.fromkeys((sd.document.id for sd in batch.documents), 0)
    for c in batch.chunks:
        counts[c.doc_id] += 1
    return [counts[sd.document.id] for sd in batch.documents]
