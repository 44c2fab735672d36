"""The embedded encoder in plain torch: BERT (index/bert.py), mean pooling over the prompt and text, L2 norm.

Why: the embedded e5's folder is ours (written by ``index/e5_convert.py``) and is exactly that
pipeline, so it needs neither sentence-transformers nor the scikit-learn it imports (2.9 s and
about 80 MB less for every process that answers a question), nor transformers (2.8 s more). Other
sentence-transformers models still go through sentence-transformers. The vectors match
sentence-transformers' to 5e-5 in fp32, the fp16 word-embedding table being the difference
(tests/test_e2e.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


class MeanPoolingEncoder:
    """``encode`` like ``SentenceTransformer.encode`` for a BERT + mean pooling + normalize folder."""

    def __init__(self, path: str | Path, device: str = "cpu", word_embeddings=None, tokenizer=None):
        """``word_embeddings``: the table to use instead of the folder's copy (the same values, held
        once a process); the folder's copy is then never read. ``tokenizer``: one already loaded (the
        process's shared one), else the folder's, through SentencePiece (index/lean_tokenizer.py)."""
        from index.batching import ForwardBatcher
        from index.bert import Bert, load_bert
        from index.e5_convert import tokenizer_lock
        from index.lean_tokenizer import LeanTokenizer

        folder = Path(path)
        skip = WORD_EMBEDDINGS if word_embeddings is not None else ""
        self.transformer = load_bert(Bert, folder, _weights(folder, skip), table=word_embeddings, skip=skip).to(device)
        self.tokenizer = tokenizer if tokenizer is not None else LeanTokenizer(folder)
        self._tokenizer_lock = tokenizer_lock(self.tokenizer)
        st_config = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = st_config.get("prompts", {}) or {}
        bert_config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        # never past the positions the model has (a folder may leave max_seq_length out)
        self.max_seq_length = min(int(bert_config.get("max_seq_length", 512)),
                                  self.transformer.config.max_position_embeddings)
        self.device = device
        self.bf16_autocast = False   # set by index.embed.Encoder where bf16 autocast is the chosen path
        self._batcher = ForwardBatcher(self._unit_vectors, self.tokenizer.pad_token_id or 0, max_rows=64)

    def get_embedding_dimension(self) -> int:
        return int(self.transformer.config.hidden_size)

    def encode(self, texts: list[str], prompt_name: str | None = None, batch_size: int = 32,
               show_progress_bar: bool = False, **_ignored):
        """Unit vectors (a float32 tensor). Texts are tokenized a block (``SORT_BLOCK``) at a time and
        batched by token count, longest first, so a batch is padded to barely more than its texts.
        Safe to call from several threads: questions embedded at the same time share a forward pass
        (index/batching.py)."""
        import torch
        from tqdm import tqdm

        prefix = self.prompts.get(prompt_name, "") if prompt_name else ""
        out = torch.empty((len(texts), self.get_embedding_dimension()), dtype=torch.float32)
        bar = tqdm(total=len(texts), desc="embedding passages", unit="passage", file=sys.stderr,
                   disable=not show_progress_bar, dynamic_ncols=True)
        pad_id = self.tokenizer.pad_token_id or 0
        for first in range(0, len(texts), SORT_BLOCK):
            block = texts[first:first + SORT_BLOCK]
            ids: list[list[int]] = []
            for part in range(0, len(block), TOKENIZE_PART):   # the lock is shared with the reader's asks
                with self._tokenizer_lock:
                    ids += self.tokenizer([prefix + t for t in block[part:part + TOKENIZE_PART]], truncation=True,
                                          max_length=self.max_seq_length)["input_ids"]
            order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                input_ids, attention_mask = padded_rows([ids[i] for i in rows], pad_id)
                out[[first + i for i in rows]] = self._batcher(input_ids, attention_mask)[0]
                bar.update(len(rows))
        bar.close()
        return out

    def _unit_vectors(self, input_ids, attention_mask) -> tuple:
        """Mean-pooled, L2-normalized last states (fp32, on the CPU) of a batch: what the batcher runs."""
        import torch

        from index.bert import padded_to_multiple

        # CPU autocast where the layers are not run in bf16 throughout (on another device it changes nothing)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16_autocast):
            input_ids, attention_mask = padded_to_multiple(input_ids, attention_mask, self.tokenizer.pad_token_id or 0,
                                                          self.max_seq_length, PAD_MULTIPLE)
            am = attention_mask.to(self.device)
            hidden = self.transformer(input_ids.to(self.device), am)[-1].float()   # pooled in fp32
            mask = am.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return (torch.nn.functional.normalize(pooled, p=2, dim=1).cpu(),)


WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"

# Texts tokenized, then sorted by token count, together. Sorting a whole index's passages so (not 64 at a
# time by characters, as before) left the CMRC2018 + DRCD dev passages' batches 1.03x their real tokens
# instead of 1.44x (1.05x the attention's work instead of 1.95x); a block bounds the token lists held.
SORT_BLOCK = 4096
TOKENIZE_PART = 256   # texts tokenized under one hold of the tokenizer's lock, which asks share
# Batches padded to a multiple of 8 tokens: the shapes still repeat (oneDNN prepares kernels per shape),
# and sorted batches lose little to it (32 left the same passages' batches 1.10x their real tokens).
PAD_MULTIPLE = 8


def padded_rows(rows: list[list[int]], pad_id: int):
    """Token id rows as one right-padded id tensor and its attention mask (the encoder's batches, and the
    reader training's)."""
    import torch

    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask


def _weights(folder: Path, skip: str = "") -> dict:
    """The folder's safetensors weights, without ``skip`` (never read)."""
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys() if k != skip}
