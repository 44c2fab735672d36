"""Sentence encoders: the embedded multilingual-e5-small or any sentence-transformers model.

Why: one small wrapper decides prompts (e5 needs ``query: `` / ``passage: ``), batching and
normalization, so the store and retriever only see float32 unit vectors.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

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

    def __init__(self, name: str = EMBEDDED_ENCODER, device: str = "cpu", batch_size: int = 32,
                 dtype: str = "float32"):
        from index.hardware import DTYPES, resolve_dtype

        if dtype not in DTYPES:
            raise EncoderLoadError(f"encoder dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        self.name = name
        self.dtype = resolve_dtype(dtype, device)   # bfloat16: the embedded encoder's layers in bf16, others under autocast
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._serialize = True
        if name == EMBEDDED_ENCODER:
            from index.e5_convert import embedded_e5_path

            path = str(embedded_e5_path())
        else:
            path = name
        try:
            if name == EMBEDDED_ENCODER:  # our own folder: no sentence-transformers needed (index/mean_pool_encoder.py)
                from index.e5_convert import shared_lean_tokenizer, shared_word_embeddings
                from index.mean_pool_encoder import MeanPoolingEncoder

                # the reader re-uses this table and tokenizer: one copy a process (index/e5_convert.py), unless it
                # runs a verifier (transformers' model: an fp32 table and transformers' tokenizer beside these)
                self.model = MeanPoolingEncoder(path, device, shared_word_embeddings(half=True) if device == "cpu" else None,
                                                shared_lean_tokenizer())
                self.transformer = self.model.transformer
                self.model.bf16_autocast = self.dtype == "bfloat16"
                self._serialize = False
                if self.dtype == "bfloat16" and device == "cpu":
                    from index.bert import prepare_for_bf16_cpu, run_layers_in_bf16

                    prepare_for_bf16_cpu(self.transformer)   # weights laid out once for the bf16 kernels
                    run_layers_in_bf16(self.transformer)     # and the layers in bf16, without autocast
                    self.model.bf16_autocast = False
            else:
                from sentence_transformers import SentenceTransformer

                self.model = SentenceTransformer(path, device=device)
                self.transformer = getattr(self.model[0], "auto_model", None)
        except Exception as exc:  # a missing model, a damaged weights file, a wrong format
            raise EncoderLoadError(f"cannot load the encoder '{name}': {type(exc).__name__}: {exc}") from exc
        if name != EMBEDDED_ENCODER:
            check_word_table(name, self.transformer)
        self.model.max_seq_length = min(self.model.max_seq_length or 512, 512)
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
        import torch

        # the embedded encoder takes concurrent calls (its questions share forward passes); a
        # sentence-transformers model one at a time: its tokenizer is not safe from two threads
        # (held a piece of SERIALIZED_PIECE texts at a time, so that other bots' questions get a turn)
        if not self._serialize:
            vecs = self._encode_piece(texts, prompt, progress and len(texts) > self.batch_size)
            return np.ascontiguousarray(vecs.float().cpu().numpy(), dtype=np.float32)
        from tqdm import tqdm

        parts = []
        with tqdm(total=len(texts), desc="embedding passages", unit="passage", disable=not progress
                  or len(texts) <= self.batch_size, dynamic_ncols=True) as bar:
            for start in range(0, len(texts), SERIALIZED_PIECE):
                piece = texts[start:start + SERIALIZED_PIECE]
                with self._lock:
                    parts.append(self._encode_piece(piece, prompt, False).float().cpu())
                bar.update(len(piece))
        return np.ascontiguousarray(torch.cat(parts).numpy(), dtype=np.float32)

    def _encode_piece(self, texts: list[str], prompt: str | None, progress: bool):
        import torch

        # autocast reaches sentence-transformers models; the embedded encoder runs in its own thread
        # (index/batching.py), with its own precision settings
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bfloat16"):
            return self.model.encode(texts, prompt_name=prompt, batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_tensor=True, show_progress_bar=progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, progress)


def check_word_table(name: str, transformer) -> None:
    """Refuse a local encoder folder whose checkpoint holds no word-embedding table.

    Why: transformers makes up a missing table (and only warns, hidden here), so every text embedded
    almost alike and dense ranking was arbitrary: a zhqa reader folder, which leaves its table out, given
    as ``--encoder`` scored every passage the same. A hub id, or weights this cannot list, are not checked."""
    folder = Path(name).expanduser()
    table = getattr(transformer, "get_input_embeddings", lambda: None)() if transformer is not None else None
    if not folder.is_dir() or table is None:
        return
    keys = _checkpoint_keys(_transformer_folder(folder))
    names = [n for n, p in transformer.named_parameters(remove_duplicate=False) if p is table.weight]
    if keys is None or not names or any(k == n or k.endswith(f".{n}") for k in keys for n in names):
        return
    hint = "; it is a zhqa reader folder, give it as --reader" if (folder / "zhqa_reader.json").exists() else ""
    raise EncoderLoadError(f"{name} holds no word-embedding table ({names[0]}), so every text would embed "
                           f"alike: not a sentence encoder{hint}")


def _transformer_folder(folder: Path) -> Path:
    """Where a sentence-transformers folder keeps its transformer's weights (``modules.json``; else itself)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        first = next(m for m in modules if str(m.get("type", "")).endswith("Transformer"))
        return folder / first.get("path", "")
    except (OSError, ValueError, StopIteration, AttributeError, TypeError):
        return folder


def _checkpoint_keys(folder: Path) -> set[str] | None:
    """The tensor names of a checkpoint folder's weights, read from its headers or index (None: none here
    that can be listed without loading, e.g. a lone ``pytorch_model.bin``)."""
    from safetensors import SafetensorError, safe_open

    try:
        if (folder / "model.safetensors").is_file():
            with safe_open(str(folder / "model.safetensors"), "pt") as f:
                return set(f.keys())
        for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
            if (folder / index).is_file():
                return set(json.loads((folder / index).read_text(encoding="utf-8"))["weight_map"])
    except (OSError, ValueError, KeyError, TypeError, SafetensorError):
        return None
    return None


SERIALIZED_PIECE = 1024   # texts a sentence-transformers encoder embeds under one hold of its lock

_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


# auto: bf16 where the CPU runs it natively. On the combined CMRC2018 + DRCD dev index it embeds 3.40× faster
# than fp32 (81.6 vs 24.0 passages/s) with the same dense and hybrid R@5 (benchmarks/speed.py)
DEFAULT_ENCODER_DTYPE = "auto"


def get_encoder(name: str = EMBEDDED_ENCODER, dtype: str | None = None) -> Encoder:
    """Process-wide encoder cache: models load once however many bots or indexes use them.
    ``dtype`` (default ``ZHQA_ENCODER_DTYPE``, else auto): float32, bfloat16 or auto."""
    dtype = dtype or os.environ.get("ZHQA_ENCODER_DTYPE") or DEFAULT_ENCODER_DTYPE
    key = f"{name}|{dtype}|{os.environ.get('ZHQA_CACHE_DIR', '')}"
    with _CACHE_LOCK:   # two threads asking at once load it once
        if key not in _CACHE:
            _CACHE[key] = Encoder(name, dtype=dtype)
        return _CACHE[key]
