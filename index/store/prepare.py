"""What every backend does before it writes: skip unchanged documents, normalize, chunk and embed the rest.

Why: the local and Milvus stores must chunk and embed identically (an index moved between them answers
the same), so the work up to the write lives here once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from index.chunk import Chunk, chunk_document
from index.documents import Document
from index.ingest import blank_lines_are_breaks, lines_are_blocks
from index.normalize import NormalizedText, normalize


class StoreError(RuntimeError):
    """The index is missing, corrupt, unreachable or built for another encoder."""


@dataclass(frozen=True)
class StoredDocument:
    document: Document
    norm: NormalizedText
    checksum: str


@dataclass(frozen=True)
class AddReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks: int = 0


@dataclass(frozen=True)
class DocumentInfo:
    """A line of the document list: what the UI and ``qa index --list`` show without loading texts."""

    id: str
    title: str
    source: str
    chunks: int
    checksum: str


@dataclass
class PreparedBatch:
    """New or changed documents, ready to write: their chunks, passage texts and unit vectors, row for row."""

    report: AddReport
    documents: list[StoredDocument]
    chunks: list[Chunk]
    texts: list[str]
    vectors: np.ndarray
    # every document the store held was read again with today's normalizer (an index an older one wrote)
    renormalized: bool = False


def passage_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-tokenized: the title helps when the text never names its topic."""
    if chunk.title and chunk.title not in chunk.text:
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text


def document_checksum(doc: Document) -> str:
    return hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def prepare_documents(docs: list[Document], checksums: dict[str, str], encoder, dimension: int,
                      chunk_size: int, chunk_overlap: int, progress: bool = False) -> PreparedBatch:
    """Chunk and embed the documents whose text differs from ``checksums`` (id → checksum of what is stored)."""
    added, replaced, unchanged = [], [], []
    fresh: list[StoredDocument] = []
    chunks: list[Chunk] = []
    docs = list({d.id: d for d in docs}.values())   # an id given twice in one call: its last version
    for doc in docs:
        checksum = document_checksum(doc)
        old = checksums.get(doc.id)
        if old == checksum:
            unchanged.append(doc.id)
            continue
        (replaced if old is not None else added).append(doc.id)
        norm = normalize(doc.text, lines_are_blocks=lines_are_blocks(doc.source),
                         blank_lines_are_breaks=blank_lines_are_breaks(doc.source, doc.text))
        fresh.append(StoredDocument(doc, norm, checksum))
        if norm.text:
            chunks.extend(chunk_document(doc, norm, chunk_size, chunk_overlap))
    texts = [passage_text(c) for c in chunks]
    # all at once: the encoder batches passages of like length together (its own progress bar)
    vectors = np.asarray(encoder.encode_passages(texts, progress=progress), dtype=np.float32) if texts \
        else np.zeros((0, dimension), dtype=np.float32)
    if len(vectors) and vectors.shape[1] != dimension:
        raise StoreError(f"encoder produced {vectors.shape[1]}-d vectors, index expects {dimension}")
    return PreparedBatch(AddReport(added, replaced, unchanged, len(chunks)), fresh, chunks, texts, vectors)
