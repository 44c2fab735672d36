"""QABot: loads the encoder, index and reader once, then answers questions.

Why: models take seconds to load and a question takes a fraction of one; a long-lived bot
object serves the CLI, the Python API, batch evaluation and the UI alike.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.bm25 import BM25_TOKENIZER_VERSION
from index.cache import cache_dir
from index.cached_indexes import evict, mark_used
from index.chunk import CHUNKER_VERSION
from index.documents import Document, Skipped, merge_boxes
from index.embed import get_encoder
from index.ingest import INGEST_VERSION, IngestResult, list_files, path_list, read_paths
from index.normalize import NORMALIZER_VERSION
from index.store import FORMAT_VERSION, MANIFEST, IndexStore, Store, StoreError
from index.store.local import recover_index_dir
from index.store.prepare import PreparedBatch
from index.store.locking import disk_identity, index_write_lock
from qa.answer import Answer, Candidate, Passage
from qa.config import SAMPLE_ARTICLE, Config, check_threshold, check_top_k, local_backend_problem
from qa.language import is_english_question
from qa.locking import ReadWriteLock
from qa.question_text import SURROGATES, without_blank_ends
from qa.reader.choice import with_choice
from qa.reader.table_cells import with_table_cell
from qa.reading_context import reading_input
from qa.reader.extractive import ExtractiveReader
from qa.reader.loading import ReaderLoadError, reader_calibration, reader_folder
from qa.retrieve import MODES, Retriever

DEFAULT_THRESHOLD = 0.1


class QuestionError(ValueError):
    """The question is empty, too long or not text."""


log = logging.getLogger(__name__)
REFRESH_EVERY_S = 2.0   # how often a bot over a saved index looks for other processes' changes
CANDIDATES_LISTED = 8   # the answer and its alternatives (Answer.alternatives), at most


def validate_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    q = without_blank_ends(question)   # a question pasted with a byte-order mark or a zero-width space
    if not q:
        raise QuestionError("the question is empty")
    if len(q) > max_chars:
        raise QuestionError(f"the question is {len(q)} characters long; the limit is {max_chars}")
    if SURROGATES.search(q):
        raise QuestionError("the question holds invalid text (unpaired UTF-16 surrogate characters)")
    return q


@dataclass(frozen=True)
class Thresholds:
    """The abstention thresholds of a reader: ``default``, and ``english`` for English questions when
    its calibration has one (see :mod:`qa.language`)."""

    default: float
    english: float | None = None

    def for_question(self, question: str) -> float:
        if self.english is not None and is_english_question(question):
            return self.english
        return self.default


def reader_thresholds(config: Config, verified: bool = False) -> Thresholds:
    """The configured threshold (for every question), else the reader's calibrated ones, else a default.

    ``calibration.json`` holds a threshold on span score × P(answerable) (``"verifier": true``) or on
    the span score alone, then ``threshold_span_only`` for when the verifier is off or absent, and
    ``threshold_english`` (and ``threshold_english_span_only``) for English questions.
    """
    if config.threshold is not None:
        return Thresholds(float(config.threshold))
    data = reader_calibration(config.reader)
    if verified == bool(data.get("verifier", False)):
        if "threshold" not in data:
            return Thresholds(DEFAULT_THRESHOLD)
        keys = ("threshold", "threshold_english")
    elif not verified and "threshold_span_only" in data:
        keys = ("threshold_span_only", "threshold_english_span_only")
    else:
        return Thresholds(DEFAULT_THRESHOLD)
    return Thresholds(_calibrated(data, keys[0], config.reader, required=True),
                      _calibrated(data, keys[1], config.reader, required=False))


def _calibrated(data: dict, key: str, reader: str, required: bool) -> float | None:
    """``data[key]`` checked as a threshold (None when absent and not ``required``); else ReaderLoadError
    naming the reader's file: NaN would never abstain, and text would quietly give the default."""
    value = data.get(key)
    folder = reader_folder(reader)
    where = f"{key} in {folder / 'calibration.json' if folder else f'the calibration of reader {reader}'}"
    try:
        if value is None and required:
            raise ValueError(f"{where} must be a number from 0 to 1, not None")
        return check_threshold(value, where)
    except ValueError as exc:
        raise ReaderLoadError(str(exc)) from None


def reader_threshold(config: Config, verified: bool = False) -> float:
    """The threshold for questions that are not English (see :func:`reader_thresholds`)."""
    return reader_thresholds(config, verified).default


def build_index(paths: list[str | Path], config: Config, progress: bool = False) -> tuple[IndexStore, IngestResult]:
    """Read and index files/folders in memory."""
    encoder = get_encoder(config.encoder)
    ingest = read_paths(paths, progress=progress)
    store = IndexStore(config.encoder, encoder.info.dimension, config.chunk_size, config.chunk_overlap, config.faiss)
    store.add_documents(ingest.documents, encoder, progress=progress)
    return store, ingest


def cached_index(paths: list[str | Path], config: Config, progress: bool = False) -> tuple[IndexStore, IngestResult]:
    """Like :func:`build_index`, but reuse an index cached for exactly these files and settings."""
    paths = path_list(paths)
    h = hashlib.sha256()
    for p in sorted(str(Path(x).expanduser().resolve()) for x in paths):
        h.update(os.fsencode(p))   # a name that is not UTF-8 is hashed by its bytes
        files, _ = list_files([p])   # what read_paths reads: the cache key follows each file's size and time
        for f, _ in files:
            try:
                st = f.stat()
            except OSError:   # gone or unreadable: read_paths names it
                continue
            h.update(os.fsencode(f"{f}:{st.st_size}:{st.st_mtime_ns}"))
    h.update(f"{config.encoder}|{config.chunk_size}|{config.chunk_overlap}|{config.faiss}|"
             f"{NORMALIZER_VERSION}|{CHUNKER_VERSION}|{FORMAT_VERSION}|{INGEST_VERSION}|{BM25_TOKENIZER_VERSION}".encode())
    target = cache_dir() / "indexes" / h.hexdigest()[:24]
    encoder = get_encoder(config.encoder)
    if target.exists():
        try:
            store = IndexStore.load(target, config.encoder, encoder.info.dimension)
            mark_used(target)
            return store, IngestResult(skipped=_read_skipped(target))
        except StoreError:
            pass  # stale or damaged cache entry: rebuild below
    store, ingest = build_index(paths, config, progress)
    if store.chunks:
        with index_write_lock(target):   # other processes may be caching the same files
            if target.is_dir() and not (target / MANIFEST).exists():
                shutil.rmtree(target, ignore_errors=True)   # our own entry, damaged: a save refuses to replace it
            store.save(target)
            _write_skipped(target, ingest.skipped)
        mark_used(target)
        evict(target.parent, spare=target)   # the least recently used entries past CACHED_INDEXES_KEPT
    return store, ingest


def _skipped_file(target: Path) -> Path:
    return target.with_name(target.name + ".skipped.json")


def _write_skipped(target: Path, skipped: list[Skipped]) -> None:
    """Beside a cached index: the files its corpus named that were not indexed, and why (JSON), so a
    bot opened from the cache names them as the one that built it did."""
    rows = [{"source": s.source, "reason": s.reason} for s in skipped]
    tmp = _skipped_file(target).with_suffix(f".tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, _skipped_file(target))
    except OSError:   # the cache still works; only the names of skipped files are not kept
        tmp.unlink(missing_ok=True)


def _read_skipped(target: Path) -> list[Skipped]:
    try:
        rows = json.loads(_skipped_file(target).read_text(encoding="utf-8"))
        return [Skipped(str(r["source"]), str(r["reason"])) for r in rows]
    except (OSError, ValueError, TypeError, KeyError):
        return []


class QABot:
    """Question answering over one index. Concurrent ``ask`` calls run at the same time; adding or
    removing documents waits for them and excludes them (:class:`qa.locking.ReadWriteLock`)."""

    def __init__(self, store: Store, config: Config | None = None, reader: ExtractiveReader | None = None):
        self.config = config or Config()
        self.encoder = get_encoder(self.config.encoder)
        if store.encoder_name != self.config.encoder or store.dimension != self.encoder.info.dimension:
            raise StoreError(f"the index was built with encoder '{store.encoder_name}' "
                             f"({store.dimension}-d) but '{self.config.encoder}' is configured")
        self.store = store
        self.retriever = Retriever(store, self.encoder, self.config.mode, self.config.fusion,
                                   dense_weight=self.config.dense_weight,
                                   translate=self.config.query_translation)
        self.reader = reader or ExtractiveReader(self.config.reader, max_answer_chars=self.config.max_answer_chars,
                                                 dtype=self.config.reader_dtype, device=self.config.reader_device,
                                                 verifier=self.config.verifier,
                                                 answer_types=self.config.answer_types)
        thresholds = reader_thresholds(self.config, verified=self.reader.verifier is not None)
        self.threshold, self.english_threshold = thresholds.default, thresholds.english
        self._lock = ReadWriteLock()
        self.index_dir: Path | None = None
        self.skipped: list[Skipped] = []   # files of a corpus that were not indexed, and why
        self._checked_at = 0.0

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_index(cls, index_dir: str | Path, config: Config | None = None) -> "QABot":
        if not isinstance(index_dir, (str, os.PathLike)) or not str(index_dir).strip():
            raise StoreError(f"give an index directory (a path), not {index_dir!r}")
        config = config or Config()
        encoder = get_encoder(config.encoder)
        bot = cls(IndexStore.load(index_dir, config.encoder, encoder.info.dimension), config)
        bot.index_dir = Path(index_dir)
        return bot

    @classmethod
    def from_milvus(cls, config: Config, reader: ExtractiveReader | None = None) -> "QABot":
        """A bot over the Milvus index ``config.milvus_collection`` at ``config.milvus_uri``."""
        from index.store.milvus import MilvusStore

        if not config.milvus_uri:
            raise StoreError("the Milvus backend needs a URI (./x.db or http://HOST:19530): Config(milvus_uri=...), "
                             "--milvus-uri or ZHQA_MILVUS_URI")
        # opened before the models load, so a wrong URI fails at once; __init__ checks the dimension
        return cls(MilvusStore.open(config.milvus_uri, config.milvus_collection, config.encoder), config, reader)

    @classmethod
    def from_corpus(cls, paths: list[str | Path], config: Config | None = None, progress: bool = False) -> "QABot":
        config = config or Config()
        store, ingest = cached_index(paths, config, progress)
        if not store.chunks:
            why = "; ".join(f"{s.source}: {s.reason}" for s in ingest.skipped[:3])
            more = f" (and {len(ingest.skipped) - 3} more)" if len(ingest.skipped) > 3 else ""
            raise StoreError("none of the given files could be indexed" + (f" ({why}{more})" if why else ""))
        bot = cls(store, config)
        bot.skipped = list(ingest.skipped)
        return bot

    @classmethod
    def default(cls, config: Config | None = None) -> "QABot":
        """A bot over the bundled sample article."""
        return cls.from_corpus([SAMPLE_ARTICLE], config)

    # ---------------------------------------------------------------- documents
    def _refresh_if_due(self) -> None:
        """Look for other processes' changes, at most every REFRESH_EVERY_S seconds."""
        if (self.index_dir is not None or hasattr(self.store, "refresh")) \
                and time.monotonic() - self._checked_at > REFRESH_EVERY_S:
            self._checked_at = time.monotonic()
            self.refresh()

    def document_infos(self) -> list:
        """Every indexed document's id, title, source, chunk count and checksum (read while no write runs;
        what another process changed is picked up first, as for a question)."""
        self._refresh_if_due()
        with self._lock.read():
            return self.store.document_infos()

    def add_paths(self, paths: list[str | Path], progress: bool = False) -> IngestResult:
        ingest = read_paths(path_list(paths))
        self.add_documents(ingest.documents, progress)
        return ingest

    def add_documents(self, docs: list[Document], progress: bool = False) -> None:
        """Index ``docs``. Over a saved index they are chunked and embedded before askers are held (only
        other writers wait meanwhile), then switched in."""
        def prepare(store) -> PreparedBatch:   # an index an older normalizer wrote is read again whole
            return store.prepare(docs, self.encoder, progress)

        with self._index_write(prepare if self.index_dir is not None else None) as batch:
            if batch is None:
                self.store.add_documents(docs, self.encoder, progress)
            else:
                self.store.add_prepared(batch)
            if self.index_dir is not None:
                self.store.save(self.index_dir)

    def remove_documents(self, doc_ids: list[str]) -> int:
        with self._index_write():
            n = self.store.remove_documents(doc_ids)
            if n and self.index_dir is not None:
                self.store.save(self.index_dir)
            return n

    @contextmanager
    def _index_write(self, prepare=None):
        """Change the index alone. For a saved index: first its inter-process write lock (so askers are
        not held while another process writes), then what is on disk, so that a document another
        process added meanwhile is kept, then ``prepare(store)`` (the embedding: askers go on), then this
        bot's write lock; yields what ``prepare`` gave. A change that fails midway is rolled back to what
        is on disk."""
        if self.index_dir is None:
            with self._lock.write():
                yield None
            return
        with index_write_lock(self.index_dir):
            recover_index_dir(self.index_dir)
            folder = Path(self.index_dir).expanduser()
            if folder.is_dir() and not os.access(folder, os.W_OK):   # before minutes of embedding
                raise StoreError(f"{folder}: Permission denied (the index folder is not writable)")
            fresh = self._load_if_changed()        # loading can take a while: askers go on meanwhile
            if fresh is None and disk_identity(self.index_dir) is None:
                # never write this bot's copy back over a deletion (or make a removed index again)
                raise StoreError(f"{folder}: the index this bot opened is no longer there (deleted or moved); "
                                 "nothing was changed. Start again to index into a new one")
            prepared = prepare(fresh if fresh is not None else self.store) if prepare is not None else None
            with self._lock.write():
                if fresh is not None:
                    self._use_store(fresh)
                try:
                    yield prepared
                except BaseException:
                    self._use_store(IndexStore.load(self.index_dir, self.config.encoder,
                                                    self.encoder.info.dimension))
                    raise

    def _held_identity(self) -> tuple:
        """What :func:`disk_identity` gives for the saved state this bot holds."""
        return getattr(self.store, "index_id", None), self.store.generation, getattr(self.store, "save_id", None)

    def _load_if_changed(self) -> IndexStore | None:
        """The index on disk when it is not the one this bot holds: another process saved it since, or it
        was deleted and made again, replaced by another, or restored from an older copy."""
        seen = disk_identity(self.index_dir)
        if seen is None or seen == self._held_identity():
            return None
        return IndexStore.load(self.index_dir, self.config.encoder, self.encoder.info.dimension)

    def _use_store(self, store: Store) -> None:
        self.store = store
        self.retriever = Retriever(store, self.encoder, self.config.mode, self.config.fusion,
                                   dense_weight=self.config.dense_weight,
                                   translate=self.config.query_translation)

    def refresh(self) -> bool:
        """Pick up changes another process saved to this bot's index directory; True if any. A load
        that fails (a save in flight, a damaged file) leaves the current index in use."""
        if self.index_dir is None:
            return self._refresh_live_store()
        held = self._held_identity()
        try:
            fresh = self._load_if_changed()
        except (StoreError, OSError) as exc:
            log.warning("not reloading %s yet: %s", self.index_dir, exc)
            return False
        if fresh is None:
            return False
        with self._lock.write():
            if self._held_identity() != held:   # this bot saved (or reloaded) meanwhile: that is newer
                return False
            self._use_store(fresh)
        return True

    def _refresh_live_store(self) -> bool:
        """A store that other processes write to directly (Milvus) reloads its document list itself."""
        pending = getattr(self.store, "pending_changes", None)
        if pending is None:
            return False
        try:
            changes = pending()   # read outside the lock: askers go on meanwhile
            if changes is None:
                return False
            with self._lock.write():   # no ask is between retrieval and reading documents meanwhile
                return self.store.apply_changes(changes)
        except Exception as exc:   # the server away for a moment: answer from what is known
            log.warning("not reloading the index yet: %s", exc)
            return False

    # ---------------------------------------------------------------- answering
    def threshold_for(self, question: str) -> float:
        """The abstention threshold for this question: the English one for an English question, when
        the reader's calibration has one (see :mod:`qa.language`), else :attr:`threshold`."""
        return Thresholds(self.threshold, self.english_threshold).for_question(question)

    def ask(self, question: str, top_k: int | None = None, mode: str | None = None,
            threshold: float | None = None, depth: int | None = None) -> Answer:
        """Answer ``question`` from the indexed documents, or abstain.

        ``depth`` (> ``top_k``) also reports the document ids of a deeper ranking in
        ``Answer.ranked_doc_ids`` from the same retrieval call, for recall@k in evaluations;
        the reader still reads only the first ``top_k`` passages.
        """
        t0 = time.perf_counter()
        q = validate_question(question, self.config.max_question_chars)
        try:
            k = check_top_k(self.config.top_k if top_k is None else top_k)
            threshold = check_threshold(threshold)
            depth = None if depth is None else check_top_k(depth, "depth")
        except ValueError as exc:
            raise QuestionError(str(exc)) from None
        if mode is not None and mode not in MODES:
            raise QuestionError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        thr = self.threshold_for(q) if threshold is None else threshold
        self._refresh_if_due()   # documents another process (qa index) added are answered from too
        with self._lock.read():
            ranked = self.retriever.retrieve(q, max(k, depth or 0), mode)
            hits = ranked[:k]
            ranked_ids = tuple(h.chunk.doc_id for h in ranked)
            read = reading_input(q, [h.chunk for h in hits], self.retriever.reading_question, self.config.read_titles)
            # the model reads the expanded question; the answer-type rule the one asked
            # spans from passages retrieval ranked lower need more confidence to come first; they are not
            # read at all when none of theirs could (ExtractiveReader.read_ranked)
            weights = [self.config.rank_decay ** rank for rank in range(len(read.texts))]
            # twice the candidates listed: a span read in two chunks' overlap comes back twice, merged below
            # the year a question asks about is looked for in each passage's whole document (time agreement)
            checked = self.reader.read_ranked(read.question, read.texts, top_n=2 * CANDIDATES_LISTED, asked=q,
                                              passage_weights=weights, answer_from=read.heads,
                                              scope=lambda i: self.store.documents[hits[i].chunk.doc_id].norm.text)
            kept = with_table_cell(q, read.texts, read.heads, checked.kept) if self.config.table_cells else checked.kept
            kept = with_choice(q, read.texts, read.heads, kept)   # 「…是A还是B？」: the option the passages state
            # offsets back into the chunk's own text (no span starts in the title)
            spans = [dataclasses.replace(sp, start=sp.start - read.heads[sp.passage],
                                         end=sp.end - read.heads[sp.passage]) for sp in kept]
            passages = tuple(Passage(h.chunk.chunk_id, h.chunk.doc_id, h.chunk.title, h.chunk.text, h.score,
                                     h.chunk.start, h.chunk.end, h.dense_rank, h.bm25_rank) for h in hits)
            cands, documents, placed = [], {}, set()
            for sp in spans:
                ch = hits[sp.passage].chunk
                stored = self.store.documents[ch.doc_id]
                norm, documents[ch.doc_id] = stored.norm, stored.document
                o0, o1 = norm.to_original(ch.norm_start + sp.start, ch.norm_start + sp.end)
                if (ch.doc_id, o0, o1) in placed:   # read again in the next chunk's overlap: listed once, at its best
                    continue
                placed.add((ch.doc_id, o0, o1))
                cands.append((sp, Candidate(sp.text, sp.confidence, ch.doc_id, ch.title, o0, o1, ch.chunk_id)))
                if len(cands) == CANDIDATES_LISTED:
                    break
        ms = (time.perf_counter() - t0) * 1000
        asked = checked.expected
        common = dict(threshold=thr, passages=passages, latency_ms=ms, ranked_doc_ids=ranked_ids,
                      asked_measure=asked.value if asked else None, dropped_by_type=checked.dropped,
                      other_years=checked.other_years)
        if not cands:
            return Answer(q, "", 0.0, True, **common)
        sp, best = cands[0]
        if best.score < thr:
            return Answer(q, "", best.score, True, alternatives=tuple(c for _, c in cands), **common)
        chunk = hits[sp.passage].chunk
        document = documents[best.doc_id]
        regions = document.regions_for(best.start, best.end)
        pages = [r.page for r in regions if r.page is not None]
        return Answer(q, best.text, best.score, False, best.doc_id, best.title, best.start, best.end,
                      chunk.text, sp.start, sp.end, chunk.chunk_id, alternatives=tuple(c for _, c in cands[1:]),
                      page=pages[0] if pages else None, region=merge_boxes(regions) if regions else None,
                      source=document.source, last_page=pages[-1] if pages and pages[-1] != pages[0] else None,
                      **common)


_BOTS: dict[tuple, QABot] = {}
_BOTS_LOCK = threading.Lock()


def get_bot(index: str | Path | None = None, corpus: list[str | Path] | None = None,
            config: Config | None = None) -> QABot:
    """Process-wide bot cache keyed by index/corpus/config. An empty index path or corpus list is a
    StoreError, not the bundled sample article: an unset variable or a glob that matched nothing
    would otherwise be answered from an unrelated article."""
    config = config or Config.from_env()
    if index is not None and not str(index).strip():
        raise StoreError("the index path is empty; give an index directory (built with 'qa index')")
    corpus = path_list(corpus) if corpus is not None else None
    if corpus is not None and not corpus:
        raise StoreError("the corpus is empty: no files or folders given")
    key = (str(index) if index else None, tuple(map(str, corpus)) if corpus else None, config)
    with _BOTS_LOCK:
        if key not in _BOTS:
            if index:
                _BOTS[key] = QABot.from_index(index, config)
            elif corpus:
                _BOTS[key] = QABot.from_corpus(list(corpus), config)
            elif config.backend == "milvus":
                _BOTS[key] = QABot.from_milvus(config)
            else:
                _BOTS[key] = QABot.default(config)
        return _BOTS[key]


def ask(question: str, top_k: int | None = None, index: str | Path | None = None,
        corpus: list[str | Path] | None = None, config: Config | None = None) -> Answer:
    """Answer a question; with no index or corpus, over the bundled sample article (StoreError when a
    Milvus URI is configured for the local backend: that index was surely meant)."""
    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a qa.Config, not {type(config).__name__}")
    problem = local_backend_problem(config or Config.from_env(), index, corpus)
    if problem:
        raise StoreError(problem)
    return get_bot(index, corpus, config).ask(question, top_k=top_k)
