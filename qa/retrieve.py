"""Dense, BM25 and hybrid passage retrieval over an :class:`IndexStore`.

Why: dense vectors catch paraphrases, BM25 catches exact numbers and names. The default fusion
standardizes each list's scores over its 100 candidates (z-scores) and mixes them (dense 0.45,
BM25 0.55). On one index over CMRC2018 dev + DRCD dev it beat min-max weighting and reciprocal-rank
fusion (RRF ties whenever the two retrievers disagree on the top passage) on two disjoint slices of
1,000 questions per set; see benchmarks/retrieval.py. Min-max ("weighted") and RRF stay selectable.
"""
from __future__ import annotations

from dataclasses import dataclass

from index.chunk import Chunk
from index.store import IndexStore

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("zscore", "weighted", "rrf")


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk: fused ``score`` plus each retriever's 1-based rank (None: not retrieved)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None


def _mean_std(scores: list[float]) -> tuple[float, float]:
    if not scores:
        return 0.0, 1.0
    mean = sum(scores) / len(scores)
    std = (sum((x - mean) ** 2 for x in scores) / len(scores)) ** 0.5
    return mean, std + 1e-9


class Retriever:
    def __init__(self, store: IndexStore, encoder, mode: str = "hybrid", fusion: str = "zscore",
                 rrf_k: int = 60, dense_weight: float = 0.45, candidates: int = 100):
        if mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
        self.store, self.encoder = store, encoder
        self.mode, self.fusion = mode, fusion
        self.rrf_k, self.dense_weight, self.candidates = rrf_k, dense_weight, candidates

    def retrieve(self, question: str, top_k: int = 5, mode: str | None = None) -> list[Hit]:
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {mode!r}")
        n = max(top_k, self.candidates)
        dense = bm25 = []
        if mode in ("dense", "hybrid"):
            dense = self.store.dense_search(self.encoder.encode_queries([question])[0], n)
        if mode in ("bm25", "hybrid"):
            bm25 = self.store.bm25_search(question, n)
        d_rank = {row: (r + 1, s) for r, (row, s) in enumerate(dense)}
        b_rank = {row: (r + 1, s) for r, (row, s) in enumerate(bm25)}
        rows = list(dict.fromkeys([r for r, _ in dense] + [r for r, _ in bm25]))
        self._stats = {id(lst): _mean_std([x for _, x in lst]) for lst in (dense, bm25)}
        scored = [(self._fuse(mode, d_rank.get(r), b_rank.get(r), dense, bm25), r) for r in rows]
        scored.sort(key=lambda x: -x[0])
        return [Hit(self.store.chunks[r], s,
                    d_rank[r][0] if r in d_rank else None, b_rank[r][0] if r in b_rank else None,
                    d_rank[r][1] if r in d_rank else None, b_rank[r][1] if r in b_rank else None)
                for s, r in scored[:top_k]]

    def _fuse(self, mode, d, b, dense, bm25) -> float:
        if mode == "dense":
            return d[1]
        if mode == "bm25":
            return b[1]
        if self.fusion == "rrf":
            return sum(1.0 / (self.rrf_k + x[0]) for x in (d, b) if x is not None)
        if self.fusion == "zscore":
            # standardize each list's scores over its candidates; a passage one list missed adds 0 from it
            def z(x, lst):
                if x is None or not lst:
                    return 0.0
                mean, std = self._stats[id(lst)]
                return (x[1] - mean) / std
            return self.dense_weight * z(d, dense) + (1 - self.dense_weight) * z(b, bm25)
        # weighted: min-max normalize each list's scores into [0, 1]
        def norm(x, lst):
            if x is None or not lst:
                return 0.0
            hi, lo = lst[0][1], lst[-1][1]
            return 1.0 if hi == lo else (x[1] - lo) / (hi - lo)
        return self.dense_weight * norm(d, dense) + (1 - self.dense_weight) * norm(b, bm25)
