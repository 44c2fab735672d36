"""Settings for the bot, with defaults that work offline; each has a ZHQA_* environment variable."""
from __future__ import annotations

import numbers
import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from index.embed import EMBEDDED_ENCODER
from index.hardware import DTYPES as READER_DTYPES

BACKENDS = ("local", "milvus")
QUERY_TRANSLATIONS = ("off", "bm25", "all")   # as qa.retrieve.TRANSLATE (not imported: config loads first)
MODES = ("hybrid", "dense", "bm25")            # retrieval modes (qa.retrieve)
FUSIONS = ("zscore", "weighted", "rrf")        # how hybrid retrieval fuses its two lists (qa.retrieve)
FAISS_KINDS = ("auto", "flat", "hnsw", "ivf")  # as index.store.local.FAISS_KINDS
_DEVICE = re.compile(r"cpu|auto|cuda(?::\d+)?")
SAMPLE_ARTICLE = Path(__file__).resolve().parent / "samples" / "alibaba_esg_2023.txt"


@dataclass(frozen=True)
class Config:
    encoder: str = EMBEDDED_ENCODER      # sentence-transformers id/path, or the embedded e5
    reader: str = "embedded"             # HF question-answering id/path, or the shipped reader
    top_k: int = 3                       # passages handed to the reader: 3 read better than 5 (README, "Passages read")
    rank_decay: float = 0.5              # a span from the r-th passage (0: retrieval's first) is ranked by its
                                         # confidence × rank_decay**r; 1 ranks by confidence alone
                                         # (README, "Retrieval's order weighs in")
    mode: str = "hybrid"                 # hybrid | dense | bm25
    fusion: str = "zscore"               # zscore | weighted (min-max scores) | rrf (reciprocal rank)
    dense_weight: float = 0.45           # zscore/weighted fusion: share of the dense score (BM25 gets the rest)
    query_translation: str = "bm25"      # English questions get the Chinese words of their words (qa/query_translation.py):
                                         # off | bm25 (for BM25 and the reader) | all (for the encoder too)
    threshold: float | None = None       # abstain below this span score (None: the reader's calibrated one)
    chunk_size: int = 250
    chunk_overlap: int = 60
    faiss: str = "flat"                  # flat | auto (flat, then HNSW from 200k passages) | hnsw | ivf
    max_question_chars: int = 500
    max_answer_chars: int = 64
    reader_dtype: str = "auto"           # auto (bfloat16 where the CPU runs it natively) | float32 | bfloat16
    reader_device: str = "cpu"           # cpu | cuda | cuda:N | auto (cuda when available)
    verifier: bool | None = None         # weigh spans by the reader's answerability verifier (qa/reader/verifier.py):
                                         # None = when the reader has one, True = required, False = never
    answer_types: bool = True            # drop spans of another measure than the question asks for (qa/reader/answer_type.py)
    read_titles: bool = True             # the reader reads each passage after its document's title, which
                                         # answers never come from (README, "Titles read with passages")
    table_cells: bool = True             # a question naming a table row and one of its columns is answered
                                         # with the cell where they cross (qa/reader/table_cells.py)
    backend: str = "local"               # local (an index directory) | milvus (index/store/milvus.py)
    milvus_uri: str = ""                 # milvus backend: ./x.db (milvus-lite) or http://host:19530
    milvus_collection: str = "zhqa"      # milvus backend: the collections' name prefix

    def __post_init__(self):
        """Every field checked here, so a bad value (from the API, an option or a ZHQA_* variable) is one
        ValueError naming it, not a TypeError deep in retrieval or a bot built again for every question."""
        for name, allowed in (("backend", BACKENDS), ("mode", MODES), ("fusion", FUSIONS), ("faiss", FAISS_KINDS),
                              ("reader_dtype", READER_DTYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} (ZHQA_{name.upper()}) must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, name)!r}")
        for name in ("encoder", "reader"):
            if isinstance(getattr(self, name), os.PathLike):   # a folder given as a Path
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"the {name} (--{name}, ZHQA_{name.upper()}) must be a model name or folder, "
                                 f"not {value!r}")
        if not isinstance(self.reader_device, str) or not _DEVICE.fullmatch(self.reader_device):
            raise ValueError(f"the reader's device (--reader-device, ZHQA_READER_DEVICE) must be cpu, cuda, "
                             f"cuda:N or auto, not {self.reader_device!r}")
        if isinstance(self.dense_weight, bool) or not isinstance(self.dense_weight, numbers.Real) \
                or not 0 <= self.dense_weight <= 1:   # NaN fails the comparison too
            raise ValueError(f"the dense weight (ZHQA_DENSE_WEIGHT) must be a number from 0 to 1, "
                             f"not {self.dense_weight!r}")
        for name in SWITCHES:
            value = getattr(self, name)
            if not isinstance(value, bool) and not (name == "verifier" and value is None):
                raise ValueError(f"{name} must be True or False{' or None' if name == 'verifier' else ''}, "
                                 f"not {value!r}")
        for name in ("chunk_size", "chunk_overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"ZHQA_{name.upper()} must be a whole number, not {value!r}")
        for name in ("milvus_uri", "milvus_collection"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be text, not {getattr(self, name)!r}")
        if isinstance(self.rank_decay, bool) or not isinstance(self.rank_decay, (int, float)) \
                or not 0 < self.rank_decay <= 1:   # NaN fails the comparison too
            raise ValueError(f"the rank decay (--rank-decay, ZHQA_RANK_DECAY) must be a number above 0 and "
                             f"at most 1, not {self.rank_decay!r}")
        if self.query_translation not in QUERY_TRANSLATIONS:
            raise ValueError(f"query translation must be one of {', '.join(QUERY_TRANSLATIONS)}, "
                             f"not {self.query_translation!r}")
        check_top_k(self.top_k, "the number of passages read (--top-k, ZHQA_TOP_K)")
        check_threshold(self.threshold, "the threshold (--threshold, ZHQA_THRESHOLD)")
        for name in ("max_question_chars", "max_answer_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ZHQA_{name.upper()} must be a whole number of at least 1, not {value!r}")

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        """Defaults, then ``ZHQA_<FIELD>`` variables, then explicit overrides (None values ignored).
        The local store's whole-number variables are checked here too (index/env_numbers.py)."""
        from index.env_numbers import env_number_problem

        problem = env_number_problem()
        if problem:
            raise ValueError(problem)
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"ZHQA_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            if f.name == "verifier" and raw.strip().lower() == "auto":
                values[f.name] = None
                continue
            if f.name in SWITCHES:
                values[f.name] = _parse_bool(f"ZHQA_{f.name.upper()}", raw)
                continue
            kind = int if f.name in ("top_k", "chunk_size", "chunk_overlap", "max_question_chars",
                                     "max_answer_chars") else float if f.name in ("threshold", "dense_weight", "rank_decay") else str
            try:
                values[f.name] = kind(raw)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise ValueError(f"ZHQA_{f.name.upper()} must be {what}, not {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


# the settings that are on or off (``verifier`` may also be None: when the reader has one), each a
# --name/--no-name option (qa/options.py) and a ZHQA_NAME variable of 1/0, true/false, yes/no or on/off
SWITCHES = ("verifier", "answer_types", "read_titles", "table_cells")


def check_top_k(value, what: str = "top_k") -> int:
    """``value`` if it is a whole number of at least 1, else ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:   # numpy's too
        raise ValueError(f"{what} must be a whole number of at least 1, not {value!r}")
    return int(value)


def check_threshold(value, what: str = "threshold") -> float | None:
    """``value`` if it is None (the reader's calibrated threshold) or a number from 0 to 1 (a span's
    confidence is at most 1: 0 never abstains, 1 nearly always), else ValueError naming ``what``.
    NaN, which no comparison passes, would never abstain."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{what} must be a number from 0 to 1, not {value!r}")
    return float(value)


def _parse_bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1/0, true/false, yes/no or on/off, not {raw!r}")


def local_backend_problem(config, index, corpus) -> str | None:
    """A Milvus URI set (ZHQA_MILVUS_URI, Config.milvus_uri) with the local backend and nothing else to read:
    the bundled sample article would answer instead of the index meant."""
    if config.backend != "milvus" and config.milvus_uri and not index and not corpus:
        return (f"a Milvus URI is set ({config.milvus_uri}) but the backend is '{config.backend}'; "
                "set ZHQA_BACKEND=milvus (or --backend milvus, Config(backend='milvus')) to use it")
    return None
