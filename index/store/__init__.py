"""Stores: the storage interface (``base.Store``) and its backends.

Today one backend, ``local``: a directory of SQLite + FAISS + BM25 with a checksummed manifest.
``IndexStore`` and its errors and file names are re-exported here, so callers name the room, not the backend.
"""
from index.store.base import Store
from index.store.local import (DB_FILE, FAISS_FILE, FAISS_KINDS, FORMAT_VERSION, MANIFEST, AddReport, IndexStore,
                               StoredDocument, StoreError, index_encoder_name, passage_text)

__all__ = ["Store", "IndexStore", "StoreError", "StoredDocument", "AddReport", "FORMAT_VERSION", "MANIFEST",
           "DB_FILE", "FAISS_FILE", "FAISS_KINDS", "index_encoder_name", "passage_text"]
