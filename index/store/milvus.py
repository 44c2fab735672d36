"""The index on Milvus: documents, chunks, dense and BM25 search in two Milvus collections.

Why: past one machine (several processes writing, several machines answering, more passages than
one machine holds) the local directory store cannot go; Milvus can, with the same code for an
embedded milvus-lite file (``./x.db``: tests and single users, one process at a time) and a Milvus
server or cluster (``http://host:19530``). ``QABot``, the CLI and the UI use it through the same
:class:`index.store.Store` members as the local store, and retrieval fuses its two lists the same way.

Layout (collection prefix ``NAME``, default ``zhqa``):

- ``NAME_chunks``: a row per chunk: its fields, the unit vector (HNSW, inner product) and the
  passage's BM25 tokens (:func:`index.bm25.tokenize`, the local store's) joined by spaces, which Milvus'
  own jieba analyzer (exact mode: it splits at the spaces and keeps each token, 「2290.7」 and 「3.5%」
  whole) turns into a BM25 sparse vector through a BM25 function: Milvus full-text search, scored by
  Milvus with the local store's k1 = 1.5, b = 0.75 over the same tokens.
- ``NAME_docs``: the manifest row, a ``live`` row per document (its version, title, source,
  checksum and chunk count) and the documents themselves (original and normalized text, offset map
  and page regions) as JSON in parts. Milvus wants a vector field in every collection: this one
  has a 2-d placeholder.

A write never shows half a document: the new version's chunks and parts are written first, then
the document's ``live`` row is switched to that version in one upsert, then the version it replaced
is deleted. Readers drop hits of any version that is not live, so a writer killed midway leaves the
previous state; what it left behind is deleted by the next write of that document (once an hour
old, so a concurrent writer's version is never taken for debris). The manifest's ``generation``
changes with every write, and other processes' bots reload the ``live`` rows when it does.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from index.bm25 import BM25_TOKENIZER_VERSION, known_terms, tokenize
from index.chunk import Chunk, chunking_problem
from index.documents import Document, Region
from index.normalize import NORMALIZER_VERSION, NormalizedText
from index.store.prepare import AddReport, DocumentInfo, StoredDocument, StoreError, prepare_documents

FORMAT_VERSION = 1
DEFAULT_COLLECTION = "zhqa"
TOKEN_ENV = "ZHQA_MILVUS_TOKEN"   # "user:password" or an API key, never on the command line
TIMEOUT_ENV = "ZHQA_MILVUS_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
PART_CHARS = 16_000               # at most 4 UTF-8 bytes a character: a part fits a 65,535-byte VARCHAR
MAX_ID_BYTES = 1_000
MAX_TITLE_BYTES = 2_000
MAX_SOURCE_BYTES = 4_000
INSERT_BATCH = 256
DOC_CACHE = 64                    # whole documents kept (answers need their offset maps)
CHUNK_CACHE = 50_000
ORPHAN_AGE_S = 3600               # a version this old that is not live is debris of a killed write
SEARCH_SLACK = 16                 # extra candidates, for hits of versions that are not live
EF_SEARCH = 128
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}   # bm25s' defaults, as the local store scores
CHUNK_FIELDS = ["row", "chunk_id", "doc_id", "version", "title", "text", "norm_start", "norm_end", "start", "end"]
HIT_FIELDS = ["row", "doc_id", "version"]   # a search returns these; the few chunks read are fetched by row
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_VARCHAR = 65_535
CHUNKS_SCHEMA = (*CHUNK_FIELDS, "bm25_text", "sparse", "vector")
DOCS_SCHEMA = ("key", "kind", "doc_id", "version", "seq", "content", "placeholder")
LITE_MARKS = ("LOCK", "collections")   # what milvus-lite makes in a database folder at once
MAX_COLLECTION_CHARS = 201        # Milvus takes 255; the collections' names add "_chunks"
MAX_LIMIT = 16_384                # Milvus' largest search or query limit
INSERT_BYTES = 8 << 20            # text per insert call, well under gRPC's message limit
log = logging.getLogger(__name__)
_URI_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_local_uri(uri: str) -> bool:
    """A path (milvus-lite) rather than ``http(s)://host:port`` (a Milvus server)."""
    return not _URI_SCHEME.match(uri)


def bm25_text(text: str) -> str:
    """What Milvus' jieba analyzer reads: the local store's BM25 tokens, space-separated."""
    return " ".join(tokenize(text))


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression (ids with control characters are refused on add)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clip(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8")
    return text if len(raw) <= max_bytes else raw[:max_bytes].decode("utf-8", "ignore")


def _key(doc_id: str) -> str:
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()


def _new_version() -> str:
    """Time-ordered and unique: 16 hex digits of nanoseconds, then 8 random ones."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:8]}"


def _version_age_s(version: str) -> float:
    try:
        return time.time() - int(version[:16], 16) / 1e9
    except ValueError:
        return float("inf")


def _offset_runs(offsets: Sequence[int]) -> list[list[int]]:
    """The offset map as [first, length] runs of consecutive positions (most of it is one run)."""
    runs: list[list[int]] = []
    for o in offsets:
        if runs and runs[-1][0] + runs[-1][1] == o:
            runs[-1][1] += 1
        else:
            runs.append([int(o), 1])
    return runs


def _offsets(runs: list[list[int]]) -> array:
    return array("i", [o + i for o, n in runs for i in range(n)])


def _explain(uri: str, exc: BaseException) -> str:
    """One line for a failed connection: the lock a local file is held by, or the server not answering."""
    text, link, seen = "", exc, set()
    while link is not None and id(link) not in seen:   # pymilvus chains an error to itself
        seen.add(id(link))
        text += f" {link}"
        link = link.__cause__ or link.__context__
    if is_local_uri(uri) and Path(uri).is_dir() and not _writable(Path(uri)):
        return (f"{uri} is not writable here: milvus-lite needs write access to the .db folder and its "
                "files even to read it (copy it somewhere writable, or serve it with 'milvus-lite server')")
    if "another process holds the lock" in text or "DataDirLocked" in text or _held_by_another(uri):
        return (f"{uri} is open in another process (milvus-lite serves one process at a time): stop it, or "
                f"serve the data with 'milvus-lite server --data-dir DIR --port 19530' and use "
                f"--milvus-uri http://127.0.0.1:19530")
    return f"cannot reach Milvus at {uri}: {_message(exc)}"


def _writable(folder: Path) -> bool:
    lock = folder / "LOCK"
    return os.access(folder, os.W_OK | os.X_OK) and (not lock.exists() or os.access(lock, os.W_OK))


def _held_by_another(uri: str) -> bool:
    """Whether another process has the milvus-lite database open (its ``LOCK`` file is flocked);
    pymilvus reports that only as 'Open local milvus failed'."""
    lock = Path(uri) / "LOCK"
    if not is_local_uri(uri) or not lock.exists():
        return False
    try:
        import fcntl
    except ImportError:   # Windows: milvus-lite locks with msvcrt there
        return False
    try:
        fh = open(lock, "a")
    except OSError:   # not ours to write: milvus-lite could not open it either (see _explain)
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _message(exc: BaseException) -> str:
    """A pymilvus error's own message (not its ``<MilvusException: (code=…)>`` wrapper), one line."""
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_UNREACHABLE: dict[str, tuple[float, str]] = {}   # server URIs that just failed to connect: fail fast a while
RETRY_AFTER_S = 30.0


def _timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise StoreError(f"{TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None


def _vector_dimension(client, name: str) -> int | None:
    """The ``vector`` field's dimension of the collection ``name``."""
    for f in client.describe_collection(name).get("fields", []):
        if f.get("name") == "vector":
            dim = (f.get("params") or {}).get("dim")
            return int(dim) if dim is not None else None
    return None


def connect(uri: str, token: str | None = None, must_exist: bool = False):
    """A ``MilvusClient`` for a milvus-lite path ending in ``.db`` or a server URI; errors are one line.
    With ``must_exist`` a local path that is not there is refused without creating it."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreError("the Milvus backend needs pymilvus and milvus-lite: pip install 'zhqa[milvus]'") from exc
    # pymilvus and milvus-lite log each failure with a traceback; the StoreError below says it in one line
    for name in ("pymilvus", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    timeout = _timeout()   # a bad setting is the setting's fault, not the server's (and is not remembered)
    if is_local_uri(uri):
        path = Path(uri).expanduser()
        if path.suffix != ".db":
            raise StoreError(f"a local Milvus index is a path ending in .db (milvus-lite), not {uri!r}; "
                             "for a server give http://HOST:19530")
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path} exists and is not a milvus-lite database (a directory)")
        if path.is_dir() and not any((path / mark).exists() for mark in LITE_MARKS) and any(path.iterdir()):
            raise StoreError(f"{path} is a folder of other files, not a milvus-lite database; give a new "
                             "or empty .db path")
        if must_exist and not path.exists():
            raise StoreError(f"no zhqa index at {path}; build one with "
                             f"'qa index PATHS --backend milvus --milvus-uri {uri}'")
        try:   # made here, so that a folder that cannot be made says why (milvus-lite: "open failed")
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the milvus-lite database {path}: {exc.strerror or exc}") from None
        uri = str(path)
    elif uri in _UNREACHABLE and time.monotonic() - _UNREACHABLE[uri][0] < RETRY_AFTER_S:
        raise StoreError(_UNREACHABLE[uri][1])
    try:
        return MilvusClient(uri=uri, token=token if token is not None else os.environ.get(TOKEN_ENV, ""),
                            timeout=timeout)
    except Exception as exc:   # pymilvus raises its own and grpc's errors
        message = _explain(uri, exc)
        if not is_local_uri(uri):
            _UNREACHABLE[uri] = (time.monotonic(), message)
        raise StoreError(message) from exc


def milvus_encoder_name(uri: str, collection: str = DEFAULT_COLLECTION) -> str | None:
    """The encoder a Milvus index was built with (unverified peek), or None when there is none yet."""
    try:
        client = connect(uri, must_exist=True)
    except StoreError:
        return None
    try:
        manifest = MilvusStore._read_manifest(client, collection)
        return (manifest or {}).get("encoder", {}).get("name")
    except Exception:   # an unreachable or foreign database: opening it later says why
        return None
    finally:
        client.close()


class _Chunks:
    """``store.chunks``: chunk by row id (cached from search results), its length, and iteration."""

    def __init__(self, store: "MilvusStore"):
        self._store = store

    def __len__(self) -> int:
        return sum(m["chunks"] for m in self._store._live.values())

    def __getitem__(self, row: int) -> Chunk:
        return self._store._chunk(int(row))

    def __iter__(self) -> Iterator[Chunk]:
        return self._store._iter_chunks()


class _Documents(Mapping):
    """``store.documents``: id → :class:`StoredDocument`, fetched when first asked for and cached."""

    def __init__(self, store: "MilvusStore"):
        self._store = store

    def __getitem__(self, doc_id: str) -> StoredDocument:
        return self._store._document(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._store._live

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._store._live))

    def __len__(self) -> int:
        return len(self._store._live)


class MilvusStore:
    """Documents, chunks, dense and BM25 search in Milvus (see the module docstring for the layout)."""

    backend = "milvus"

    def __init__(self, client, uri: str, collection: str, manifest: dict):
        self._client, self.uri, self.collection = client, uri, collection
        self.chunks_name, self.docs_name = f"{collection}_chunks", f"{collection}_docs"
        enc, chunking = manifest["encoder"], manifest.get("chunking", {})
        self.encoder_name, self.dimension = enc["name"], int(enc["dimension"])
        self.chunk_size, self.chunk_overlap = int(chunking.get("size", 250)), int(chunking.get("overlap", 60))
        self._manifest = manifest
        self.generation = manifest.get("generation", "")
        self._live: dict[str, dict] = {}
        self._cache_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._chunk_cache: OrderedDict[int, tuple[Chunk, str]] = OrderedDict()
        self._doc_cache: OrderedDict[tuple[str, str], StoredDocument] = OrderedDict()
        self.chunks = _Chunks(self)
        self.documents = _Documents(self)

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(cls, uri: str, collection: str = DEFAULT_COLLECTION, encoder_name: str | None = None,
             dimension: int | None = None, create: bool = False, chunk_size: int = 250,
             chunk_overlap: int = 60, token: str | None = None) -> "MilvusStore":
        """Open the index ``collection`` at ``uri``; with ``create`` (and the encoder's name and
        dimension) make it when it is not there. The encoder must match the index's own."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", collection):
            raise StoreError(f"Milvus collection name must be letters, digits and _, not starting with a digit, "
                             f"not {collection!r}")
        if len(collection) > MAX_COLLECTION_CHARS:
            raise StoreError(f"Milvus collection name must be at most {MAX_COLLECTION_CHARS} characters "
                             f"(the collections add '_chunks'), not {len(collection)}")
        client = connect(uri, token, must_exist=not create)
        try:
            manifest = cls._read_manifest(client, collection)
            if manifest is None:
                if not create or encoder_name is None or dimension is None:
                    raise StoreError(f"no zhqa index '{collection}' at {uri}; build one with "
                                     f"'qa index PATHS --backend milvus --milvus-uri {uri}'")
                # before anything is made: a new index keeps its chunking for good (an existing one its own)
                problem = chunking_problem(chunk_size, chunk_overlap)
                if problem is None and chunk_size > PART_CHARS:
                    problem = (f"chunk size must be at most {PART_CHARS:,} characters for Milvus' text field, "
                               f"not {chunk_size}")
                if problem:
                    raise StoreError(problem)
                try:
                    manifest = cls._create(client, collection, encoder_name, dimension, chunk_size, chunk_overlap)
                except StoreError:
                    raise
                except Exception:   # another writer made it meanwhile (a server): use theirs
                    manifest = cls._read_manifest(client, collection)
                    if manifest is None:
                        raise
            cls._check(manifest, uri, encoder_name, dimension)
            store = cls(client, uri, collection, manifest)
            store._load_live()
            return store
        except StoreError:
            client.close()
            raise
        except Exception as exc:
            client.close()
            raise StoreError(f"Milvus at {uri}: {_message(exc)}") from exc

    @staticmethod
    def _check_made_here(client, name: str) -> None:
        """StoreError when the collection ``name`` exists without the fields zhqa gives it."""
        fields = {f.get("name") for f in client.describe_collection(name).get("fields", [])}
        expected = CHUNKS_SCHEMA if name.endswith("_chunks") else DOCS_SCHEMA
        if fields != set(expected):
            raise StoreError(f"the Milvus collection '{name}' exists and was not made by zhqa (its fields are "
                             f"{', '.join(sorted(map(str, fields)))}); choose another --milvus-collection")

    @staticmethod
    def _read_manifest(client, collection: str) -> dict | None:
        """The index's manifest; None when there is none yet, or a first write stopped before writing it."""
        docs, chunks = f"{collection}_docs", f"{collection}_chunks"
        present = [name for name in (docs, chunks) if client.has_collection(name)]
        for name in present:
            MilvusStore._check_made_here(client, name)
        if len(present) < 2:
            return None
        for name in present:
            client.load_collection(name)
        rows = client.query(docs, ids=["manifest"], output_fields=["content"])
        if not rows:
            return None
        try:
            return json.loads(rows[0]["content"])
        except (ValueError, KeyError) as exc:
            raise StoreError(f"the manifest of Milvus index '{collection}' is corrupt: {exc}") from exc

    @staticmethod
    def _check(manifest: dict, uri: str, encoder_name: str | None, dimension: int | None) -> None:
        if manifest.get("format_version") != FORMAT_VERSION or manifest.get("backend") != "milvus":
            raise StoreError(f"{uri}: Milvus index format {manifest.get('format_version')} is not supported "
                             f"(expected {FORMAT_VERSION}); rebuild it with 'qa index'")
        enc = manifest.get("encoder") or {}
        if encoder_name is not None and enc.get("name") != encoder_name:
            raise StoreError(f"{uri} was built with encoder '{enc.get('name')}', but '{encoder_name}' is "
                             "configured; use the same encoder or rebuild the index")
        if dimension is not None and enc.get("dimension") != dimension:
            raise StoreError(f"{uri}: index vectors are {enc.get('dimension')}-d, the encoder gives {dimension}-d")
        if manifest.get("bm25_tokenizer_version") != BM25_TOKENIZER_VERSION:
            raise StoreError(f"{uri}: built with BM25 tokenizer {manifest.get('bm25_tokenizer_version')}, "
                             f"today's is {BM25_TOKENIZER_VERSION}; rebuild it with 'qa index'")

    @staticmethod
    def _create(client, collection: str, encoder_name: str, dimension: int, chunk_size: int,
                chunk_overlap: int) -> dict:
        from pymilvus import DataType, Function, FunctionType

        # a first write that stopped half way made one of them, or both without the manifest: made once.
        # Chunks are only written once the manifest is, so such a collection holds none of them: one made
        # for another encoder's vectors is made again
        have = {name for name in (f"{collection}_chunks", f"{collection}_docs") if client.has_collection(name)}
        chunks_name = f"{collection}_chunks"
        if chunks_name in have and _vector_dimension(client, chunks_name) != dimension:
            if int(client.get_collection_stats(chunks_name).get("row_count", 0)):
                raise StoreError(f"the Milvus collection '{chunks_name}' holds vectors of another dimension than "
                                 f"the encoder's {dimension}; choose another --milvus-collection")
            client.drop_collection(chunks_name)
            have.discard(chunks_name)
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("row", DataType.INT64, is_primary=True)
        s.add_field("chunk_id", DataType.VARCHAR, max_length=MAX_ID_BYTES + 32)
        s.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        s.add_field("version", DataType.VARCHAR, max_length=64)
        s.add_field("title", DataType.VARCHAR, max_length=MAX_TITLE_BYTES)
        s.add_field("text", DataType.VARCHAR, max_length=65_535)
        for name in ("norm_start", "norm_end", "start", "end"):
            s.add_field(name, DataType.INT64)
        s.add_field("bm25_text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                    analyzer_params={"tokenizer": {"type": "jieba", "mode": "exact"}})
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                input_field_names=["bm25_text"], output_field_names=["sparse"]))
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
        ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
        ip.add_index("doc_id", index_type="INVERTED")   # writes filter by document
        if f"{collection}_chunks" not in have:
            client.create_collection(f"{collection}_chunks", schema=s, index_params=ip, consistency_level="Strong")

        d = client.create_schema(auto_id=False, enable_dynamic_field=False)
        d.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
        d.add_field("kind", DataType.VARCHAR, max_length=16)          # manifest | live | part
        d.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID_BYTES)
        d.add_field("version", DataType.VARCHAR, max_length=64)
        d.add_field("seq", DataType.INT64)
        d.add_field("content", DataType.VARCHAR, max_length=65_535)
        d.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
        dp = client.prepare_index_params()
        dp.add_index("placeholder", index_type="FLAT", metric_type="L2")
        dp.add_index("doc_id", index_type="INVERTED")
        if f"{collection}_docs" not in have:
            client.create_collection(f"{collection}_docs", schema=d, index_params=dp, consistency_level="Strong")
        for name in have:
            client.load_collection(name)
        manifest = {"format_version": FORMAT_VERSION, "backend": "milvus",
                    "encoder": {"name": encoder_name, "dimension": dimension},
                    "chunking": {"size": chunk_size, "overlap": chunk_overlap},
                    "normalizer_version": NORMALIZER_VERSION, "bm25_tokenizer_version": BM25_TOKENIZER_VERSION,
                    "bm25": BM25_PARAMS, "dense_index": "HNSW", "generation": _new_version()}
        client.upsert(f"{collection}_docs", [_docs_row("manifest", "manifest", "", "", 0, json.dumps(manifest))])
        return manifest

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, *args, **kwargs):
        """A client call whose failure (server gone, timeout, limit) is a one-line StoreError."""
        try:
            return getattr(self._client, method)(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:   # pymilvus and grpc raise their own types
            raise StoreError(f"Milvus at {self.uri}: {_message(exc)}") from exc

    # ---------------------------------------------------------------- state
    def _read_live(self) -> dict[str, dict]:
        return {row["doc_id"]: json.loads(row["content"])
                for row in self._query_all(self.docs_name, 'kind == "live"', ["doc_id", "content"])}

    def _load_live(self) -> None:
        self._live = self._read_live()

    def _query_all(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict]:
        it = self._call("query_iterator", collection, batch_size=1000, filter=expr, output_fields=fields)
        try:
            while True:
                try:
                    batch = it.next()
                except Exception as exc:
                    raise StoreError(f"Milvus at {self.uri}: {_message(exc)}") from exc
                if not batch:
                    return
                yield from batch
        finally:
            it.close()

    def pending_changes(self) -> tuple[str, dict[str, dict]] | None:
        """What other processes wrote since this store last looked (generation, live rows), or None.
        Read without changing anything, so a bot can swap it in under its write lock (apply_changes)."""
        rows = self._call("query", self.docs_name, ids=["manifest"], output_fields=["content"])
        if not rows:
            raise StoreError(f"the Milvus index '{self.collection}' at {self.uri} is gone")
        generation = json.loads(rows[0]["content"]).get("generation", "")
        if generation == self.generation:
            return None
        return generation, self._read_live()

    def apply_changes(self, changes: tuple[str, dict[str, dict]]) -> bool:
        self.generation, self._live = changes[0], changes[1]
        return True

    def refresh(self) -> bool:
        """Reload the documents' live rows when another process wrote since; True if it had."""
        changes = self.pending_changes()
        return changes is not None and self.apply_changes(changes)

    def _bump(self) -> None:
        manifest = {**self._manifest, "generation": _new_version()}
        self._call("upsert", self.docs_name, [_docs_row("manifest", "manifest", "", "", 0, json.dumps(manifest))])
        self._manifest, self.generation = manifest, manifest["generation"]

    def document_infos(self) -> list[DocumentInfo]:
        """Every document's id, title, source, chunk count and checksum, from the live rows alone."""
        return [DocumentInfo(d, m["title"], m["source"], m["chunks"], m["checksum"]) for d, m in self._live.items()]

    # ---------------------------------------------------------------- reading
    def _is_live(self, doc_id: str, version: str) -> bool:
        meta = self._live.get(doc_id)
        return meta is not None and meta["version"] == version

    def _remember(self, entity: dict) -> Chunk:
        chunk = Chunk(entity["chunk_id"], entity["doc_id"], entity["title"], entity["text"],
                      int(entity["norm_start"]), int(entity["norm_end"]), int(entity["start"]), int(entity["end"]))
        with self._cache_lock:
            self._chunk_cache[int(entity["row"])] = (chunk, entity["version"])
            self._chunk_cache.move_to_end(int(entity["row"]))
            while len(self._chunk_cache) > CHUNK_CACHE:
                self._chunk_cache.popitem(last=False)
        return chunk

    def _chunk(self, row: int) -> Chunk:
        with self._cache_lock:
            hit = self._chunk_cache.get(row)
        if hit is None:
            rows = self._call("query", self.chunks_name, ids=[row], output_fields=CHUNK_FIELDS)
            if not rows:
                raise KeyError(row)
            return self._remember(rows[0])
        return hit[0]

    def _iter_chunks(self) -> Iterator[Chunk]:
        chunks = [(e["doc_id"], int(e["norm_start"]), self._remember(e))
                  for e in self._query_all(self.chunks_name, 'row >= 0', CHUNK_FIELDS)
                  if self._is_live(e["doc_id"], e["version"])]
        return iter(c for _, _, c in sorted(chunks, key=lambda x: (x[0], x[1])))

    def _search(self, data, anns_field: str, k: int, params: dict, bm25: bool) -> list[tuple[int, float]]:
        """The first ``k`` live hits; asks again for more when replaced versions took places."""
        limit = k + SEARCH_SLACK
        while True:
            if anns_field == "vector":
                params = {**params, "params": {"ef": max(EF_SEARCH, limit)}}   # a server wants ef >= limit
            res = self._call("search", self.chunks_name, data=[data], anns_field=anns_field, limit=limit,
                             output_fields=HIT_FIELDS, search_params=params)[0]
            out = []
            for hit in res:
                entity = hit["entity"]
                if not self._is_live(entity["doc_id"], entity["version"]):
                    continue   # a replaced or half-written version
                score = float(hit["distance"])
                # milvus-lite reports BM25 as a negative distance, a server as a positive score
                out.append((int(entity["row"]), abs(score) if bm25 else score))
                if len(out) == k:
                    return out
            if len(res) < limit or limit >= MAX_LIMIT:
                return out
            limit = min(MAX_LIMIT, limit * 4)

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self._live or k < 1:
            return []
        return self._search(np.asarray(query_vector, dtype=np.float32).tolist(), "vector", k,
                            {"metric_type": "IP"}, bm25=False)

    def bm25_search(self, query: str, k: int) -> list[tuple[int, float]]:
        text = bm25_text(query)
        if not self._live or not text or k < 1:
            return []
        return [(row, s) for row, s in self._search(text, "sparse", k, {"metric_type": "BM25"}, bm25=True) if s > 0]

    def bm25_coverage(self, query: str) -> float:
        """Share of the query's BM25 tokens found in the live documents (one batched search)."""
        tokens = sorted(set(tokenize(query, question=True)))
        return sum(self._live_tokens(tokens)) / len(tokens) if tokens else 0.0

    def bm25_known(self, terms: list[str]) -> list[bool]:
        """Per term, whether the live documents hold every one of its BM25 tokens (one batched search)."""
        return known_terms(terms, self._live_tokens)

    def _live_tokens(self, tokens: list[str]) -> list[bool]:
        """Per token, whether a chunk of a live version holds it: one search per token in one call; a
        token whose every hit belongs to a replaced or half-written version is searched again alone,
        past those hits."""
        if not tokens or not self._live:
            return [False] * len(tokens)
        limit = SEARCH_SLACK + 1
        res = self._call("search", self.chunks_name, data=tokens, anns_field="sparse", limit=limit,
                         output_fields=HIT_FIELDS, search_params={"metric_type": "BM25"})
        found = []
        for token, hits in zip(tokens, res):
            live = any(self._is_live(h["entity"]["doc_id"], h["entity"]["version"]) for h in hits)
            if not live and len(hits) == limit:
                live = bool(self._search(token, "sparse", 1, {"metric_type": "BM25"}, bm25=True))
            found.append(live)
        return found

    def _document(self, doc_id: str) -> StoredDocument:
        meta = self._live.get(doc_id)
        if meta is None:
            raise KeyError(doc_id)
        key = (doc_id, meta["version"])
        with self._cache_lock:
            if key in self._doc_cache:
                self._doc_cache.move_to_end(key)
                return self._doc_cache[key]
        parts = self._call("query", self.docs_name, output_fields=["seq", "content"], limit=MAX_LIMIT,
                           filter=f'kind == "part" and doc_id == {_quote(doc_id)} and '
                                  f'version == {_quote(meta["version"])}')
        if len(parts) != meta["parts"]:
            raise StoreError(f"document {doc_id!r} in Milvus index '{self.collection}' has "
                             f"{len(parts)} of its {meta['parts']} parts; re-add it with 'qa index'")
        data = json.loads("".join(p["content"] for p in sorted(parts, key=lambda p: p["seq"])))
        regions = tuple(Region(s, e, page, None if x0 is None else (x0, y0, x1, y1))
                        for s, e, page, x0, y0, x1, y1 in data["regions"])
        stored = StoredDocument(Document(data["id"], data["title"], data["text"], data["source"], regions),
                                NormalizedText(data["norm"], _offsets(data["runs"])), meta["checksum"])
        with self._cache_lock:
            self._doc_cache[key] = stored
            while len(self._doc_cache) > DOC_CACHE:
                self._doc_cache.popitem(last=False)
        return stored

    # ---------------------------------------------------------------- writing
    def add_documents(self, docs: list[Document], encoder, progress: bool = False) -> AddReport:
        """Chunk, embed and write new or changed documents; identical ones are left alone. A write
        that fails (or is interrupted) before its switch deletes what it wrote; after, it has happened."""
        for doc in docs:
            if len(doc.id.encode("utf-8")) > MAX_ID_BYTES or _CONTROL.search(doc.id):
                raise StoreError(f"document id too long or with control characters: {doc.id[:60]!r}")
        with self._write_lock:
            self.refresh()   # another process may have written meanwhile
            batch = prepare_documents(docs, {d: m["checksum"] for d, m in self._live.items()}, encoder,
                                      self.dimension, self.chunk_size, self.chunk_overlap, progress)
            if not batch.documents:
                return batch.report
            version = _new_version()
            rows = [{"row": _new_row(), "chunk_id": c.chunk_id, "doc_id": c.doc_id, "version": version,
                     "title": _clip(c.title or "", MAX_TITLE_BYTES), "text": c.text, "norm_start": c.norm_start,
                     "norm_end": c.norm_end, "start": c.start, "end": c.end, "bm25_text": bm25_text(t),
                     "vector": v.tolist()} for c, t, v in zip(batch.chunks, batch.texts, batch.vectors)]
            for r in rows:   # checked before anything is written
                if max(len(r["text"].encode("utf-8")), len(r["bm25_text"].encode("utf-8"))) > MAX_VARCHAR:
                    raise StoreError(f"a chunk of {r['doc_id']!r} is over Milvus' {MAX_VARCHAR}-byte text limit; "
                                     "index with a smaller --chunk-size")
            counts: dict[str, int] = {}
            for c in batch.chunks:
                counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
            parts, metas = [], {}
            for sd in batch.documents:
                pieces = _document_parts(sd)
                parts.extend(_docs_row(f"part:{_key(sd.document.id)}:{version}:{j}", "part", sd.document.id,
                                       version, j, content) for j, content in enumerate(pieces))
                metas[sd.document.id] = {"version": version, "title": _clip(sd.document.title or "", MAX_TITLE_BYTES),
                                         "source": _clip(sd.document.source or "", MAX_SOURCE_BYTES),
                                         "checksum": sd.checksum, "chunks": counts.get(sd.document.id, 0),
                                         "parts": len(pieces)}
            switched = False
            try:
                self._insert(self.chunks_name, rows, progress, "writing to Milvus")
                self._insert(self.docs_name, parts, False, "")
                # the switch: each document's live row now names the new version
                self._call("upsert", self.docs_name, [
                    _docs_row(f"live:{_key(d)}", "live", d, version, 0, json.dumps(m, ensure_ascii=False))
                    for d, m in metas.items()])
                switched = True
            except BaseException:
                if not switched:   # best effort: what a killed process leaves, the next write deletes
                    self._forget_version(list(metas), version)
                raise
            previous = self._live
            self._live = {**previous, **metas}   # a new dict: readers iterating the old one are not disturbed
            self._bump()
            for d in batch.report.replaced:   # best effort: readers skip versions that are not live anyway
                try:
                    self._delete_versions(d, keep=version, also=previous[d]["version"] if d in previous else None)
                except StoreError as exc:
                    log.warning("old version of %s not deleted yet: %s", d, exc)
            return batch.report

    def _insert(self, collection: str, rows: list[dict], progress: bool, desc: str) -> None:
        """Insert in batches of at most INSERT_BATCH rows and INSERT_BYTES of text."""
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc=desc, unit="passage", disable=not progress or not rows)
        batch, size = [], 0
        for row in rows + [None]:
            weight = 0 if row is None else len(row.get("content", "")) * 3 + len(row.get("text", "")) * 6
            if batch and (row is None or len(batch) == INSERT_BATCH or size + weight > INSERT_BYTES):
                self._call("insert", collection, batch)
                bar.update(len(batch))
                batch, size = [], 0
            if row is not None:
                batch.append(row)
                size += weight
        bar.close()

    def _forget_version(self, doc_ids: list[str], version: str) -> None:
        for d in doc_ids:
            try:
                expr = f"doc_id == {_quote(d)} and version == {_quote(version)}"
                self._call("delete", self.chunks_name, filter=expr)
                self._call("delete", self.docs_name, filter=f'kind == "part" and {expr}')
            except StoreError as exc:
                log.warning("rows of an unfinished write of %s not deleted: %s", d, exc)

    def remove_documents(self, doc_ids: list[str]) -> int:
        """Remove documents and their chunks; returns how many were removed."""
        with self._write_lock:
            self.refresh()
            ids = [d for d in dict.fromkeys(doc_ids) if d in self._live]
            if not ids:
                return 0
            previous = self._live
            self._call("delete", self.docs_name, ids=[f"live:{_key(d)}" for d in ids])
            self._live = {d: m for d, m in previous.items() if d not in ids}
            self._bump()
            for d in ids:   # only the version that was live, and debris: another writer's new one stays
                try:
                    self._delete_versions(d, keep=None, also=previous[d]["version"])
                except StoreError as exc:
                    log.warning("chunks of removed %s not deleted yet: %s", d, exc)
            return len(ids)

    def _delete_versions(self, doc_id: str, keep: str | None, also: str | None) -> None:
        """Delete ``also`` (the version just replaced or removed) and any other version of the document
        that is not ``keep`` and is older than :data:`ORPHAN_AGE_S` (left by a killed write)."""
        found = {r["version"] for r in self._call("query", self.chunks_name, filter=f"doc_id == {_quote(doc_id)}",
                                                  output_fields=["version"], limit=MAX_LIMIT)}
        stale = {v for v in found if v != keep and _version_age_s(v) > ORPHAN_AGE_S}
        if also and also != keep:
            stale.add(also)
        for v in sorted(stale):
            expr = f"doc_id == {_quote(doc_id)} and version == {_quote(v)}"
            self._call("delete", self.chunks_name, filter=expr)
            self._call("delete", self.docs_name, filter=f'kind == "part" and {expr}')
        with self._cache_lock:
            for key in [k for k in self._doc_cache if k[0] == doc_id and k[1] != keep]:
                del self._doc_cache[key]

    def save(self, path: str | Path | None = None) -> None:
        """Milvus writes as it goes: make what was written durable (``path`` is not used)."""
        for name in (self.chunks_name, self.docs_name):
            self._call("flush", name)


def _new_row() -> int:
    """A random positive 62-bit row id: writers on several machines need no shared counter."""
    return int.from_bytes(os.urandom(8), "big") >> 2


def _docs_row(key: str, kind: str, doc_id: str, version: str, seq: int, content: str) -> dict:
    return {"key": key, "kind": kind, "doc_id": doc_id, "version": version, "seq": seq, "content": content,
            "placeholder": [0.0, 0.0]}


def _document_parts(sd: StoredDocument) -> list[str]:
    """The document, its normalized text, offset map and regions as JSON, in parts of ``PART_CHARS``."""
    doc = sd.document
    data = json.dumps({"id": doc.id, "title": doc.title, "source": doc.source, "text": doc.text,
                       "norm": sd.norm.text, "runs": _offset_runs(sd.norm.offsets),
                       "regions": [[r.start, r.end, r.page, *(r.box if r.box is not None else (None,) * 4)]
                                   for r in doc.locations]}, ensure_ascii=False)
    return [data[i:i + PART_CHARS] for i in range(0, len(data), PART_CHARS)] or [""]
