"""Dense, BM25 and hybrid passage retrieval over a store (:class:`index.store.Store`).

Why: dense vectors catch paraphrases, BM25 catches exact numbers and names. The default fusion
standardizes each list's scores over its 100 candidates (z-scores) and mixes them (dense 0.45,
BM25 0.55). On one index over CMRC2018 dev + DRCD dev it beat min-max weighting and reciprocal-rank
fusion (RRF ties whenever the two retrievers disagree on the top passage) on two disjoint slices of
1,000 questions per set; see benchmarks/retrieval.py. Min-max ("weighted") and RRF stay selectable.

BM25's share is scaled by what it can see of the question: when fewer than half of the question's
tokens occur in the store at all (an English question over Chinese text), its list is chance
matches on a word or two, so its weight falls in proportion and the dense ranking decides.

An English question is first given the Chinese words of its English words that the store holds
(dictionary query translation, :mod:`qa.query_translation`): "How many users does DingTalk have?"
is searched as "… 用户 钉钉", and BM25's share follows how many of its words were translated, halved
(``TRANSLATED_BM25_WEIGHT``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunk import Chunk
from index.store import Store
from qa.config import FUSIONS, MODES, Config
from qa.language import is_english_question
from qa.query_translation import QueryTranslation, question_for_passages, translator_or_none

FULL_COVERAGE = 0.5   # BM25 keeps its full weight when at least this share of the question's tokens is in the store
# English questions: no translation; Chinese words for BM25 (and the reader); for the encoder too
TRANSLATE = ("off", "bm25", "all")
# BM25's share for a translated question is halved: dictionary words are noisier than the asker's own.
# On benchmarks/cross_lingual.py (612 English XQuAD questions, 720 paragraphs) hybrid R@1 / R@5:
# × 1.0 65.5 / 90.4, × 0.5 73.4 / 93.8, × 0.25 73.4 / 93.0; dense alone 68.0 / 91.5
TRANSLATED_BM25_WEIGHT = 0.5


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk: fused ``score`` plus each retriever's 1-based rank (None: not retrieved)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None


def _normalized(hits: list[tuple[int, float]], fusion: str) -> dict[int, float]:
    """Each retrieved row's share before weighting: z-score over the candidates, or min-max into [0, 1]."""
    if not hits:
        return {}
    scores = np.array([s for _, s in hits], dtype=np.float64)
    if fusion == "zscore":
        values = (scores - scores.mean()) / (scores.std() + 1e-9)
    else:  # weighted: lists come best first
        hi, lo = scores[0], scores[-1]
        values = np.ones_like(scores) if hi == lo else (scores - lo) / (hi - lo)
    return {row: float(v) for (row, _), v in zip(hits, values)}


class Retriever:
    def __init__(self, store: Store, encoder, mode: str = "hybrid", fusion: str = Config.fusion,
                 rrf_k: int = 60, dense_weight: float = Config.dense_weight, candidates: int = 100,
                 translate: str = "bm25", translated_bm25_weight: float = TRANSLATED_BM25_WEIGHT):
        if mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
        if translate not in TRANSLATE:
            raise ValueError(f"query translation must be one of {TRANSLATE}, not {translate!r}")
        self.store, self.encoder = store, encoder
        self.mode, self.fusion = mode, fusion
        self.rrf_k, self.dense_weight, self.candidates = rrf_k, dense_weight, candidates
        self.translate = translate
        self.translated_bm25_weight = translated_bm25_weight   # BM25's share for a translated question, × this

    def translation(self, question: str) -> QueryTranslation | None:
        """The Chinese words the store holds for an English question's words; None for other
        questions, with translation off, or where the dictionary is not installed."""
        if self.translate == "off" or not is_english_question(question):
            return None
        translator = translator_or_none()
        return None if translator is None else translator.translate(question, self.store.bm25_known)

    def reading_question(self, question: str, passages: list[str]) -> str:
        """The question the reader is given over ``passages``: unless translation is off, an English one
        followed by the Chinese words of its words that the passages hold."""
        return question if self.translate == "off" else question_for_passages(question, passages)

    def retrieve(self, question: str, top_k: int = 5, mode: str | None = None) -> list[Hit]:
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {mode!r}")
        n = max(top_k, self.candidates)
        translated = self.translation(question)
        bm25_query = translated.query(question) if translated else question
        dense_query = bm25_query if self.translate == "all" else question
        dense = bm25 = []
        if mode in ("dense", "hybrid"):
            dense = self.store.dense_search(self.encoder.encode_queries([dense_query])[0], n)
        if mode in ("bm25", "hybrid"):
            bm25 = self.store.bm25_search(bm25_query, n)
        d_rank = {row: (r + 1, s) for r, (row, s) in enumerate(dense)}
        b_rank = {row: (r + 1, s) for r, (row, s) in enumerate(bm25)}
        bm25_share = 1.0
        if mode == "hybrid" and bm25:
            coverage = self.store.bm25_coverage(question)
            if translated:   # the English words BM25 now sees through their Chinese words
                coverage = max(coverage, translated.coverage)
            bm25_share = min(1.0, coverage / FULL_COVERAGE)
            if translated and translated.terms:
                # halved whatever the question's own coverage: on benchmarks/cross_lingual.py, keeping the
                # share of an English question's own chance matches (English words in Chinese text)
                # instead gave R@1 / R@5 66.7 / 91.3 against 73.4 / 93.8
                bm25_share *= self.translated_bm25_weight
        fused = self._fuse(mode, dense, bm25, d_rank, b_rank, bm25_share)
        scored = sorted(((score, row) for row, score in fused.items()), key=lambda x: -x[0])
        hits, seen = [], set()
        for s, r in scored:
            chunk = self.store.chunks[r]
            key = "".join(chunk.text.split())
            if key in seen:   # a copy of a better-ranked passage (the same report saved twice): not read twice
                continue
            seen.add(key)
            hits.append(Hit(chunk, s, d_rank[r][0] if r in d_rank else None, b_rank[r][0] if r in b_rank else None,
                            d_rank[r][1] if r in d_rank else None, b_rank[r][1] if r in b_rank else None))
            if len(hits) == top_k:
                break
        return hits

    def _fuse(self, mode: str, dense, bm25, d_rank, b_rank, bm25_share: float = 1.0) -> dict[int, float]:
        """Row → fused score, rows in first-seen order (dense list first, then BM25's); BM25's
        weight is multiplied by ``bm25_share``."""
        if mode == "dense":
            return dict(dense)
        if mode == "bm25":
            return dict(bm25)
        rows = list(dict.fromkeys([r for r, _ in dense] + [r for r, _ in bm25]))
        if self.fusion == "rrf":
            return {row: (1.0 / (self.rrf_k + d_rank[row][0]) if row in d_rank else 0.0)
                    + (bm25_share / (self.rrf_k + b_rank[row][0]) if row in b_rank else 0.0) for row in rows}
        # zscore / weighted: a passage one list missed gets 0 from that list
        d_norm, b_norm = _normalized(dense, self.fusion), _normalized(bm25, self.fusion)
        bm25_weight = (1 - self.dense_weight) * bm25_share
        return {row: self.dense_weight * d_norm.get(row, 0.0) + bm25_weight * b_norm.get(row, 0.0) for row in rows}
