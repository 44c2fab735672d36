"""Stores: the storage interface (``base.Store``) and its backends.

Two backends: ``local`` (the default), a directory of SQLite + FAISS + BM25 with a checksummed
manifest, and ``milvus`` (``index.store.milvus``, imported only when used: pymilvus is an extra), a
milvus-lite file or a Milvus server. ``IndexStore`` and the shared errors and results are re-exported
here, so callers name the room, not the backend.
"""
from index.store.base import Store
from index.store.local import (DB_FILE, FAISS_FILE, FAISS_KINDS, FORMAT_VERSION, MANIFEST, IndexStore,
                               index_encoder_name)
from index.store.prepare import AddReport, DocumentInfo, StoredDocument, StoreError, passage_text

__all__ = ["Store", "IndexStore", "StoreError", "StoredDocument", "AddReport", "DocumentInfo", "FORMAT_VERSION", "MANIFEST",
           "DB_FILE", "FAISS_FILE", "FAISS_KINDS", "index_encoder_name", "passage_text"]
