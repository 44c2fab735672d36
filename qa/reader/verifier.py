"""Answerability verifier: does this window really answer the question, or only look like it does?

Why: the span head alone is confidently wrong when a passage matches the question's topic but not
what it asks (「阿里巴巴2023财年的营业收入是多少？」 over an ESG article full of 2023财年 figures: the
reader offers 「超110个」 at 0.57). A logistic regression over the reader's final states could not
tell that apart (tried: P(answerable) stayed near 0.5). This verifier is the "internal front
verifier" of Retro-Reader (Zhang et al., 2021) in a small form: a copy of the reader's last
``n_layers`` transformer layers, re-trained from the states that enter them, with a binary head on
[CLS], so it can attend afresh between the question and the passage. The reader's span head and
its spans are untouched; the bot's confidence is span score × P(answerable of the span's window).

Weights live beside the reader as ``verifier.safetensors`` (fp16) + ``verifier.json`` and are tied
to the reader's weights by a fingerprint: a verifier trained on another reader's states is refused.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

WEIGHTS_FILE = "verifier.safetensors"
META_FILE = "verifier.json"


class VerifierLoadError(RuntimeError):
    """The verifier files are missing, damaged or belong to another reader."""


def reader_fingerprint(reader_dir: str | Path) -> str:
    """sha256 of the reader's weight file: the states the verifier reads depend on exactly these."""
    h = hashlib.sha256()
    with open(Path(reader_dir) / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _encoder_layers(model) -> nn.ModuleList:
    base = getattr(model, model.base_model_prefix, model)
    return base.encoder.layer


class Verifier(nn.Module):
    """``n_layers`` transformer layers + a linear head on [CLS]: logit of P(answerable)."""

    def __init__(self, config, n_layers: int = 2, reader_sha256: str = ""):
        super().__init__()
        from transformers.models.bert.modeling_bert import BertLayer

        self.config = config
        self.n_layers = n_layers
        self.reader_sha256 = reader_sha256
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(n_layers))
        self.head = nn.Linear(config.hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_reader(cls, model, n_layers: int = 2, reader_sha256: str = "") -> "Verifier":
        """Start from a copy of the reader's last ``n_layers`` layers (they already read these states)."""
        v = cls(model.config, n_layers, reader_sha256)
        for mine, theirs in zip(v.layers, _encoder_layers(model)[-n_layers:]):
            mine.load_state_dict(theirs.state_dict())
        return v.eval()

    def forward(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``states``: [batch, seq, hidden] entering the reader's last ``n_layers``; returns logits [batch]."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=states, attention_mask=attention_mask)
        h = states
        for layer in self.layers:
            h = layer(h, mask)
        return self.head(h[:, 0]).squeeze(-1)

    def save(self, folder: str | Path, meta: dict | None = None) -> Path:
        from safetensors.torch import save_file

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to(torch.float16).cpu().contiguous() for k, v in self.state_dict().items()}
        tmp = out / (WEIGHTS_FILE + ".tmp")
        save_file(state, str(tmp), metadata={"format": "pt"})
        tmp.replace(out / WEIGHTS_FILE)
        info = {**(meta or {}), "n_layers": self.n_layers, "reader_sha256": self.reader_sha256,
                "hidden_size": self.config.hidden_size}
        (out / META_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False))
        return out

    @classmethod
    def load(cls, folder: str | Path, config, reader_sha256: str | None = None) -> "Verifier":
        """Load from ``folder`` for a reader with ``config``; with ``reader_sha256``, refuse another reader's."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(folder)
        present = [(folder / f).exists() for f in (WEIGHTS_FILE, META_FILE)]
        if any(present) and not all(present):
            raise VerifierLoadError(f"{folder}: the verifier is incomplete (needs both {WEIGHTS_FILE} and {META_FILE})")
        try:
            meta = json.loads((folder / META_FILE).read_text())
            n_layers = int(meta["n_layers"])
            state = load_file(str(folder / WEIGHTS_FILE))
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
            raise VerifierLoadError(f"{folder}: cannot read the answerability verifier: {exc}") from exc
        if not 1 <= n_layers <= getattr(config, "num_hidden_layers", n_layers):
            raise VerifierLoadError(f"{folder}: a verifier of {n_layers} layers does not fit a reader of "
                                    f"{getattr(config, 'num_hidden_layers', '?')}")
        sha = str(meta.get("reader_sha256", ""))
        if reader_sha256 and sha != reader_sha256:
            raise VerifierLoadError(f"{folder}: the verifier was trained for another reader's weights "
                                    f"({sha[:12]}…, the reader is {reader_sha256[:12]}…)")
        v = cls(config, n_layers, sha)
        try:
            v.load_state_dict({k: t.float() for k, t in state.items()})
        except RuntimeError as exc:
            raise VerifierLoadError(f"{folder}: verifier weights do not fit this reader: {exc}") from exc
        return v.eval()


def has_verifier(folder: str | Path) -> bool:
    """Whether ``folder`` holds verifier files (an incomplete pair counts: loading it then says what is missing)."""
    folder = Path(folder)
    return (folder / WEIGHTS_FILE).exists() or (folder / META_FILE).exists()
