"""The storage interface every backend offers: documents, chunks, dense and BM25 search, add/remove, save.

Why: retrieval and the bot talk to a store only through these members, so a second backend (a
Milvus store, say) can stand in for the local one without touching ``qa/``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.chunk import Chunk
from index.documents import Document
from index.store.prepare import StoredDocument


@runtime_checkable
class Store(Protocol):
    """What ``qa.retrieve.Retriever`` and ``qa.bot.QABot`` use of a store."""

    encoder_name: str
    dimension: int
    chunks: Sequence[Chunk]           # indexed by the row ids the searches return
    documents: Mapping[str, StoredDocument]

    def add_documents(self, docs: list[Document], encoder, progress: bool = False): ...

    def document_infos(self) -> list: ...

    def remove_documents(self, doc_ids: list[str]) -> int: ...

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def bm25_search(self, query: str, k: int) -> list[tuple[int, float]]: ...

    def bm25_coverage(self, query: str) -> float: ...

    def bm25_known(self, terms: list[str]) -> list[bool]: ...

    def save(self, path: str | Path) -> Path: ...
