"""A flat store's vectors: one growable float32 matrix, searched exactly by inner product.

Why: a FAISS flat index holds its own copy of every vector, so a store that also keeps them (to save
segments and rebuild) held them twice: 3 GB at a million 384-d passages. An exact search is one
matrix-vector product over the same array (BLAS, as FAISS's flat search), and appending in place
keeps an added document from copying every vector.
"""
from __future__ import annotations

import numpy as np


class VectorRows:
    """Rows of unit vectors, appended in place: capacity grows by half when full, and the pages of
    unused capacity are never touched (so not resident). ``array`` is a view of the rows so far; a
    view taken before an append stays valid (an append writes past it or into a new buffer)."""

    def __init__(self, dimension: int, rows: np.ndarray | None = None):
        self.dimension = dimension
        self._buf = np.zeros((0, dimension), dtype=np.float32)
        self._n = 0
        if rows is not None:
            self.replace(rows)

    @property
    def array(self) -> np.ndarray:
        return self._buf[:self._n]

    def __len__(self) -> int:
        return self._n

    def replace(self, rows: np.ndarray) -> None:
        """Hold exactly ``rows`` (a new buffer; views of the old one stay as they were). A fresh array is
        taken as it is, not copied: the caller must not change it afterwards."""
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dimension)
        self._buf = np.ascontiguousarray(rows) if rows.base is None else rows.copy()
        self._n = len(rows)

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (a load that knows its size copies nothing twice)."""
        if rows > len(self._buf):
            grown = np.empty((rows, self.dimension), dtype=np.float32)
            grown[:self._n] = self._buf[:self._n]
            self._buf = grown

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.dimension)
        need = self._n + len(rows)
        if need > len(self._buf):
            self.reserve(max(need, len(self._buf) * 3 // 2, 64))
        self._buf[self._n:need] = rows
        self._n = need


def top_inner_product(vectors: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` rows of ``vectors`` with the largest inner product with ``query``: (row, score), best
    first. Exactly tied rows (the same passage in two documents) come in row order among those kept;
    which of them are kept at the k-th place is arbitrary, as it is in FAISS (whose order differs)."""
    n = len(vectors)
    if not n or k <= 0:
        return []
    scores = vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
    k = min(k, n)
    top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    top = top[np.lexsort((top, -scores[top]))]   # best first; ties by row
    return [(int(r), float(scores[r])) for r in top]
