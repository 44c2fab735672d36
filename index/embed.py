"""Sentence encoders: the embedded multilingual-e5-small or any sentence-transformers model.

Why: one small wrapper decides prompts (e5 needs ``query: `` / ``passage: ``), batching and
normalization, so the store and retriever only see float32 unit vectors.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

EMBEDDED_ENCODER = "embedded-e5-small"


class EncoderLoadError(RuntimeError):
    """The encoder could not be loaded."""


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    dimension: int


class Encoder:
    """Embeds queries and passages into L2-normalized float32 vectors."""

    def __init__(self, name: str = EMBEDDED_ENCODER, device: str = "cpu", batch_size: int = 32):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size
        self._lock = threading.Lock()
        if name == EMBEDDED_ENCODER:
            from index.e5_convert import embedded_e5_path

            path = str(embedded_e5_path())
        else:
            path = name
        try:
            self.model = SentenceTransformer(path, device=device)
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"cannot load sentence-transformers model '{name}': {exc}") from exc
        self.model.max_seq_length = min(self.model.max_seq_length or 512, 512)
        if name == EMBEDDED_ENCODER and device == "cpu":
            from index.e5_convert import share_word_embeddings

            # the reader re-uses this table: one copy a process (index/e5_convert.py)
            auto = getattr(self.model[0], "auto_model", None)
            if auto is not None:
                share_word_embeddings(auto.get_input_embeddings())
        prompts = getattr(self.model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None
        getter = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension", None)
        dim = getter() if getter else None
        self.info = EncoderInfo(name, int(dim or self.model.encode(["x"]).shape[1]))

    def _encode(self, texts: list[str], prompt: str | None, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        with self._lock:  # its tokenizer is not safe to call from two threads at once
            vecs = self.model.encode(texts, prompt_name=prompt, batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=progress and len(texts) > self.batch_size)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, progress)


_CACHE: dict[str, Encoder] = {}


def get_encoder(name: str = EMBEDDED_ENCODER) -> Encoder:
    """Process-wide encoder cache: models load once however many bots or indexes use them."""
    key = f"{name}|{os.environ.get('ZHQA_CACHE_DIR', '')}"
    if key not in _CACHE:
        _CACHE[key] = Encoder(name)
    return _CACHE[key]
