"""BM25 over jieba tokens (bm25s), so exact numbers, names and terms match.

Why: dense vectors blur 「409个」 and 「191万种」; BM25 on word tokens finds them exactly.
The index is built from stored token lists (nothing is unpickled) and kept beside a saved index
(:mod:`index.store.bm25_cache`) in bm25s' own .npy/JSON files. The
tokens are held as int32 ids into one vocabulary (:class:`TokenTable`): as Python lists of strings a
passage's tokens take about 10 KB, which is 10 GB at a million passages.
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from index.simplified import to_simplified
from index.word_frequencies import DamagedWordTable, DiskWordFrequencies, discard_table, open_table, table_path, write_table

_PUNCT_RE = re.compile(r"^[\W_]+$", re.UNICODE)
_jieba = None
_JIEBA_LOCK = threading.Lock()


def _use_own_cache_folder(dt) -> None:
    """jieba's dictionary cache in zhqa's cache folder, not the shared /tmp/jieba.cache: one another user
    made cannot be replaced, and jieba logs a traceback each time it tries."""
    from index.cache import cache_dir

    try:
        folder = cache_dir() / "jieba"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:   # a cache that cannot be made: jieba's own default, as before
        return
    dt.tmp_dir = str(folder)


def _get_jieba(whole: bool = True):
    """jieba with its dictionary loaded: in memory (``whole``: documents), or for questions, while no
    document has been segmented in this process, read word by word from a copy on disk
    (index/word_frequencies.py, written the first time the whole dictionary is loaded)."""
    global _jieba
    ready = _jieba
    if ready is not None and ready.dt.initialized and not (whole and isinstance(ready.dt.FREQ, DiskWordFrequencies)):
        return ready
    with _JIEBA_LOCK:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _use_own_cache_folder(jieba.dt)
            _jieba = jieba
        dt = _jieba.dt
        dictionary = _dictionary_path(_jieba)
        if not whole and not dt.initialized:
            table = open_table(dictionary)
            if table is not None:
                dt.FREQ, dt.total, dt.initialized = table, table.total, True
                return _jieba
        if isinstance(dt.FREQ, DiskWordFrequencies):
            if not whole:
                return _jieba
            dt.initialized = False
        if not dt.initialized:
            dt.initialize()
            if open_table(dictionary) is None:   # not written yet, or damaged
                try:   # OSError too: a cache directory that cannot be made
                    write_table(table_path(dictionary), dt.FREQ, dt.total)
                except (OSError, sqlite3.Error) as e:   # an unwritable cache: questions load the whole dictionary
                    logging.getLogger(__name__).debug("jieba's word table not written: %s", e)
        return _jieba


# 2: traditional characters are folded to simplified before segmentation (DRCD R@1 90.6 → 93.2)
BM25_TOKENIZER_VERSION = 2


def _dictionary_path(jieba) -> Path:
    dt = jieba.dt
    return Path(dt.dictionary) if dt.dictionary else Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME)


def _segment(question: bool, cut):
    """``cut(jieba)``, for a question from the table on disk when there is one; a damaged table is
    deleted and the whole dictionary (which writes it again) used instead."""
    jieba = _get_jieba(whole=not question)
    try:
        return cut(jieba)
    except DamagedWordTable as exc:
        logging.getLogger(__name__).warning("jieba's word table is damaged (%s); using the whole dictionary", exc)
        discard_table(_dictionary_path(jieba))
        return cut(_get_jieba(whole=True))


def frequencies():
    """jieba's whole dictionary (word → count) in memory: for walking all of it."""
    return _get_jieba(whole=True).dt.FREQ


def words(text: str) -> list[str]:
    """jieba's precise-mode words of ``text`` (a short span) as written (no folding, nothing dropped):
    they join back into ``text``."""
    return _segment(True, lambda jieba: jieba.lcut(text, HMM=False))


def fold(text: str) -> str:
    """The text as BM25 compares it: NFKC, lower case, simplified characters (length may change)."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


def tokenize(text: str, question: bool = False) -> list[str]:
    """Lower-cased jieba search-mode tokens of the simplified text, punctuation and spaces dropped.
    ``question``: a short text in a process that may never segment a document (the same tokens)."""
    folded = fold(text)
    return _segment(question, lambda jieba: [t for t in jieba.cut_for_search(folded)
                                             if t.strip() and not _PUNCT_RE.match(t)])


class TokenTable:
    """Every passage's BM25 tokens, row for row, as int32 ids into one vocabulary.

    Why: a store keeps its passages' tokens to rebuild BM25 after a change and to write them to disk.
    As ids they take 4 bytes a token and each distinct word is held once, against about 90 bytes a
    token as lists of strings. Rows read back as lists of strings.
    """

    def __init__(self, rows: Iterable[list[str]] = ()):
        self.vocab: dict[str, int] = {}
        self._words: list[str] = []
        self._rows: list[array] = []
        self.extend(rows)

    def _id(self, token: str) -> int:
        i = self.vocab.get(token)
        if i is None:
            i = self.vocab[token] = len(self._words)
            self._words.append(token)
        return i

    def append(self, tokens: list[str]) -> None:
        self._rows.append(array("i", [self._id(t) for t in tokens]))

    def extend(self, rows: Iterable[list[str]]) -> None:
        for tokens in rows:
            self.append(tokens)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, row: int) -> list[str]:
        words = self._words
        return [words[i] for i in self._rows[row]]

    def __iter__(self) -> Iterator[list[str]]:
        return (self[i] for i in range(len(self._rows)))

    def ids(self, row: int) -> array:
        """The row's token ids (a view of the table's own storage: do not change it)."""
        return self._rows[row]

    def select(self, rows: Sequence[int]) -> "TokenTable":
        """A new table of these rows, in this order, whose vocabulary holds only the words they use."""
        out = TokenTable()
        kept = [self._rows[i] for i in rows]
        lengths = np.fromiter((len(r) for r in kept), dtype=np.int64, count=len(kept))
        flat = (np.concatenate([np.frombuffer(r, dtype=np.int32) for r in kept if len(r)])
                if lengths.any() else np.zeros(0, dtype=np.int32))
        used, new_ids = np.unique(flat, return_inverse=True)
        out._words = [self._words[i] for i in used.tolist()]
        out.vocab = {w: i for i, w in enumerate(out._words)}
        new_ids = new_ids.astype(np.int32)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        out._rows = [array("i", new_ids[a:b].tobytes()) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
        return out


class _IdLists(Sequence):
    """A table's rows as lists of ids, made one at a time as bm25s reads them (an empty row scores
    through the empty token, as bm25s expects)."""

    def __init__(self, table: TokenTable, empty_id: int):
        self._table, self._empty = table, empty_id

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, row: int) -> list[int]:
        return self._table.ids(row).tolist() or [self._empty]

    def __iter__(self) -> Iterator[list[int]]:
        return (self[i] for i in range(len(self._table)))


def _set_lucene_scores(retriever, table: TokenTable, empty_id: int, vocab: dict[str, int]) -> None:
    """Fill a bm25s retriever with the score matrix its ``index()`` would build (Lucene BM25: the
    same formula, k1 and b, the same CSC layout, and an empty passage scored through the empty
    token), counted with scipy.sparse over the whole table at once instead of a Python loop a
    passage: about 6× faster at 100k passages, which is the wait for the first search after a document is added,
    with int32 temporaries only."""
    from scipy.sparse import csc_matrix

    n_docs, n_vocab = len(table), len(vocab)
    lengths = np.fromiter((len(table.ids(i)) for i in range(n_docs)), dtype=np.int32, count=n_docs)
    flat = np.frombuffer(b"".join(table.ids(i).tobytes() if lengths[i] else np.int32(empty_id).tobytes()
                                  for i in range(n_docs)), dtype=np.int32)
    lengths = np.maximum(lengths, 1)
    docs = np.repeat(np.arange(n_docs, dtype=np.int32), lengths)
    # term frequencies: duplicate (passage, token) pairs are summed into one entry, column by column
    counts = csc_matrix((np.ones(len(flat), dtype=np.float32), (docs, flat)), shape=(n_docs, n_vocab))
    del flat, docs
    counts.sum_duplicates()
    df = np.diff(counts.indptr)
    with np.errstate(divide="ignore", invalid="ignore"):
        idf = np.where(df > 0, np.log(1 + (n_docs - df + 0.5) / (df + 0.5)), 0.0).astype(retriever.dtype)
    tf = counts.data.astype(np.float64)
    k1, b = retriever.k1, retriever.b
    tfc = tf / (k1 * ((1 - b) + b * lengths[counts.indices] / lengths.mean()) + tf)
    retriever.scores = {"data": (np.repeat(idf, df) * tfc).astype(retriever.dtype),
                        "indices": counts.indices.astype(retriever.int_dtype),
                        "indptr": counts.indptr.astype(retriever.int_dtype),
                        "num_docs": n_docs}
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None


def _check_score_matrix(folder: Path, scores: dict) -> None:
    """ValueError unless the stored score matrix's column pointers rise from 0 to its number of entries,
    one per word (a damaged file whose checksums were rewritten would otherwise fail each search). The
    entries themselves are not read: that would read the whole memory-mapped matrix at every open."""
    indptr, indices, data = scores["indptr"], scores["indices"], scores["data"]
    if len(indices) != len(data) or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{folder}: the BM25 score matrix is damaged")


class BM25Index:
    """BM25 (Lucene variant) over pre-tokenized passages."""

    def __init__(self, corpus_tokens: TokenTable | list[list[str]]):
        import bm25s

        table = corpus_tokens if isinstance(corpus_tokens, TokenTable) else TokenTable(corpus_tokens)
        self.size = len(table)
        self._retriever = None
        if self.size:
            # a copy: the table's vocabulary grows with later additions, this index does not
            vocab = dict(table.vocab)
            empty = vocab.setdefault("", len(vocab))
            self._vocab = vocab
            self._retriever = bm25s.BM25()
            if self._retriever.method == self._retriever.idf_method == "lucene":
                _set_lucene_scores(self._retriever, table, empty, vocab)
            else:   # another bm25s default: its own (slower, per-passage Python) build
                self._retriever.index(bm25s.tokenization.Tokenized(ids=_IdLists(table, empty), vocab=vocab),
                                      show_progress=False)

    def save(self, folder: Path) -> None:
        """Write the index with bm25s' own save (score matrix as .npy, vocabulary and parameters as JSON)."""
        folder.mkdir(exist_ok=True)   # never parents: the caller's folder must already be there
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> "BM25Index":
        """An index written by :meth:`save` over ``size`` passages, its score matrix memory-mapped
        (pages are read as searches touch them). ValueError when the files do not hold that."""
        import bm25s

        index = cls.__new__(cls)
        index.size = size
        index._retriever = None
        index._vocab = {}
        if size:
            retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
            scores = retriever.scores
            if scores.get("num_docs") != size or len(scores["indptr"]) != len(retriever.vocab_dict) + 1:
                raise ValueError(f"{folder}: BM25 files for {scores.get('num_docs')} passages, expected {size}")
            _check_score_matrix(folder, scores)
            index._retriever, index._vocab = retriever, retriever.vocab_dict
        return index

    def coverage(self, query_tokens: list[str]) -> float:
        """Share of the query's distinct tokens that occur in the corpus (0.0 for an empty query or corpus).

        An English question over Chinese text shares almost no tokens with it: BM25 then ranks on
        chance matches, and fusion should lean on the dense list instead.
        """
        distinct = set(query_tokens)
        if not self._retriever or not distinct:
            return 0.0
        return sum(1 for t in distinct if t in self._vocab) / len(distinct)

    def known(self, tokens: list[str]) -> list[bool]:
        """Per token, whether it occurs in the corpus."""
        return [t in self._vocab for t in tokens] if self._retriever else [False] * len(tokens)

    def search(self, query_tokens: list[str], k: int) -> list[tuple[int, float]]:
        """(row, score) pairs, best first; rows with score 0 are left out."""
        if not self._retriever or not query_tokens:
            return []
        known = [t for t in query_tokens if t in self._vocab]
        if not known:
            return []
        scores = self._retriever.get_scores(known)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def known_terms(terms: list[str], known_tokens) -> list[bool]:
    """Per term, whether every one of its BM25 tokens is known; ``known_tokens`` answers for a list of
    distinct tokens at once (one call, so a remote index is asked once)."""
    per_term = [tokenize(t, question=True) for t in terms]
    distinct = sorted({tok for toks in per_term for tok in toks})
    found = dict(zip(distinct, known_tokens(distinct))) if distinct else {}
    return [bool(toks) and all(found[tok] for tok in toks) for toks in per_term]
