"""The embedded encoder's tokenizer through the `tokenizers` library alone, for the calls zhqa makes.

Why: transformers' tokenizer wrapper costs about 2 s of every new process (its import, and its own
load of the 250k-word vocabulary on top of the Rust one) for what is one ``encode_batch``. This
class answers the encoder's and the reader's calls (batches, pairs truncated ``only_second`` into
overlapping windows, offsets, padding) with the same ids and offsets as transformers gives
(tests/test_e2e.py compares them); training still uses transformers' tokenizer.
"""
from __future__ import annotations

import json
from pathlib import Path


class LeanEncoding(dict):
    """A batch as transformers' ``BatchEncoding`` presents it: ``enc["input_ids"]`` and friends, and
    ``sequence_ids(i)`` for window ``i``."""

    def __init__(self, data: dict, encodings: list):
        super().__init__(data)
        self.encodings = encodings

    def sequence_ids(self, i: int) -> list[int | None]:
        return self.encodings[i].sequence_ids

    def to(self, device) -> "LeanEncoding":
        for key, value in self.items():
            if hasattr(value, "to"):
                self[key] = value.to(device)
        return self


class LeanTokenizer:
    """``tokenizer(texts, pairs, truncation=…, max_length=…, stride=…, padding=…,
    return_overflowing_tokens=…, return_offsets_mapping=…, return_tensors="pt")`` as transformers
    answers it, for a folder's ``tokenizer.json``. Not safe to call from two threads at once (its
    truncation and padding are set per call): callers hold ``index.e5_convert.tokenizer_lock``."""

    is_fast = True

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tk = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token", "<pad>")
        self.pad_token = pad["content"] if isinstance(pad, dict) else str(pad)
        self.pad_token_id = self._tk.token_to_id(self.pad_token)
        if self.pad_token_id is None:
            raise ValueError(f"{folder}: the pad token {self.pad_token!r} is not in the vocabulary")
        self.model_max_length = int(config.get("model_max_length", 512))

    def __len__(self) -> int:
        return self._tk.get_vocab_size()

    def __call__(self, text, text_pair=None, *, add_special_tokens: bool = True, truncation=False,
                 max_length: int | None = None, stride: int = 0, return_overflowing_tokens: bool = False,
                 return_offsets_mapping: bool = False, padding=False, return_tensors: str | None = None,
                 **unsupported) -> LeanEncoding:
        if unsupported:
            raise TypeError(f"LeanTokenizer does not take {sorted(unsupported)}")
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        pairs = None if text_pair is None else ([text_pair] if isinstance(text_pair, str) else list(text_pair))
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(pairs)} text pairs")
        if padding not in (False, True, "longest", "do_not_pad"):
            raise ValueError(f"padding={padding!r} is not supported (True, 'longest' or False)")
        tk = self._tk
        if truncation:
            strategy = "longest_first" if truncation is True else str(truncation)
            tk.enable_truncation(max_length or self.model_max_length, stride=stride, strategy=strategy,
                                 direction="right")
        else:
            tk.no_truncation()
        if padding in (True, "longest"):
            tk.enable_padding(pad_id=self.pad_token_id, pad_token=self.pad_token, direction="right")
        else:
            tk.no_padding()
        batch = tk.encode_batch(list(zip(texts, pairs)) if pairs is not None else texts,
                                add_special_tokens=add_special_tokens)
        windows, owners = [], []
        for i, encoding in enumerate(batch):
            for window in [encoding] + (list(encoding.overflowing) if return_overflowing_tokens else []):
                windows.append(window)
                owners.append(i)
        if padding in (True, "longest") and windows:   # overflowing windows padded to the batch's longest too
            longest = max(len(w.ids) for w in windows)
            for w in windows:
                if len(w.ids) < longest:
                    w.pad(longest, pad_id=self.pad_token_id, pad_token=self.pad_token, direction="right")
        data = {"input_ids": [w.ids for w in windows], "attention_mask": [w.attention_mask for w in windows]}
        if return_offsets_mapping:
            data["offset_mapping"] = [w.offsets for w in windows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = owners
        if return_tensors == "pt":
            import torch

            data = {k: torch.tensor(v, dtype=torch.long) for k, v in data.items()}
        elif return_tensors is not None:
            raise ValueError(f"return_tensors={return_tensors!r} is not supported (use 'pt' or None)")
        elif single and not return_overflowing_tokens:
            data = {k: v[0] for k, v in data.items()}
        return LeanEncoding(data, windows)
