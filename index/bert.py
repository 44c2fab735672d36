"""BERT in plain torch for the embedded encoder and the compact readers: transformers' numbers, not its import.

Why: importing transformers' model code and tokenizer costs about 2.8 s of every `qa ask` in a new
process, for two BERT stacks that are 60 lines of torch. These modules take transformers' own
state-dict names and config.json, and compute what ``BertModel`` / ``BertForQuestionAnswering``
compute (tests/test_bert.py compares them on random weights; tests/test_e2e.py on the shipped ones).
Training, the verifier and any other Hugging Face model still go through transformers.
"""
from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class BertConfig:
    """The config.json fields a BERT forward needs (the names are transformers')."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_file(cls, path: str | Path) -> "BertConfig":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu" \
                or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: not a plain BERT config (model_type bert, gelu, absolute positions)")
        return cls(**{f: raw[f] for f in cls.__dataclass_fields__})


class _Attention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.self = nn.Module()
        self.self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.output = nn.Module()
        self.output.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.output.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.qkv: PackedLinear | None = None   # query, key and value as one layer, once packed

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        if self.qkv is not None:
            q, k, v = self.qkv(x).view(b, t, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        else:
            q, k, v = (layer(x).view(b, t, self.heads, h // self.heads).transpose(1, 2)
                       for layer in (self.self.query, self.self.key, self.self.value))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        ctx = ctx.transpose(1, 2).reshape(b, t, h)
        return self.output.LayerNorm(self.output.dense(ctx) + x)


class _Layer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.output = nn.Module()
        self.output.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.output.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, keep)
        return self.output.LayerNorm(self.output.dense(F.gelu(self.intermediate.dense(x))) + x)


class Bert(nn.Module):
    """``BertModel`` without the pooler: the hidden states of every layer."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        c = config
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.embeddings.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.embeddings.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.embeddings.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))
        self.layer_dtype: torch.dtype | None = None   # set by run_layers_in_bf16

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, output_hidden_states: bool = False) -> list[torch.Tensor]:
        """The input to every layer and the last layer's output (``[-1]``); only the last unless
        ``output_hidden_states``."""
        e = self.embeddings
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.position_embeddings(positions)[None]
                        + e.token_type_embeddings(types))
        if self.layer_dtype is not None:
            x = x.to(self.layer_dtype)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        keep = attention_mask.bool()[:, None, None, :]   # padded keys are never attended to
        states = [x]
        for layer in self.encoder.layer:
            x = layer(x, keep)
            if output_hidden_states:
                states.append(x)
        return states if output_hidden_states else [x]


@dataclass
class SpanLogits:
    """What ``BertForQuestionAnswering`` returns, as the reader reads it."""

    start_logits: torch.Tensor
    end_logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None


class BertForSpans(nn.Module):
    """``BertForQuestionAnswering``: start and end logits from a linear layer over the last states."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.bert = Bert(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.bert.get_input_embeddings()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, output_hidden_states: bool = False) -> SpanLogits:
        states = self.bert(input_ids, attention_mask, token_type_ids, output_hidden_states)
        start, end = self.qa_outputs(states[-1]).split(1, dim=-1)
        return SpanLogits(start.squeeze(-1), end.squeeze(-1), tuple(states) if output_hidden_states else None)


@contextlib.contextmanager
def _without_init():
    """``torch.nn.init``'s fills as no-ops while modules whose every weight is then assigned are built
    (the 250k-row table alone would take 0.5 s). The swap is visible to every thread: it holds the lock
    that zhqa's other such swap (``index.e5_convert.without_weight_init``) holds, and no zhqa thread
    builds other torch modules meanwhile."""
    from index.e5_convert import NO_INIT_LOCK

    names = ("kaiming_uniform_", "uniform_", "normal_", "ones_", "zeros_")
    with NO_INIT_LOCK:
        saved = {name: getattr(nn.init, name) for name in names}
        for name in names:
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
        try:
            yield
        finally:
            for name, fill in saved.items():
                setattr(nn.init, name, fill)


def load_bert(module_class, folder: Path, state: dict[str, torch.Tensor], table: torch.Tensor | None = None,
              skip: str = "") -> nn.Module:
    """``module_class`` (Bert or BertForSpans) built from ``folder/config.json`` with ``state``'s weights
    (transformers' names; ``skip`` names the word-embedding key replaced by ``table``), in eval mode.
    No weight is initialised only to be overwritten (the meta device would do that too, but its first
    use costs 1.7 s of imports)."""
    config = BertConfig.from_file(folder / "config.json")
    with _without_init():
        model = module_class(config)
    expected = set(model.state_dict())
    unexpected = [k for k in state if k not in expected and k != skip and not k.endswith("position_ids")
                  and ".pooler." not in f".{k}"]
    if unexpected:
        raise ValueError(f"{folder}: weights of another architecture ({sorted(unexpected)[:3]})")
    state = {k: v for k, v in state.items() if k in expected and k != skip}
    missing = expected - set(state) - ({skip} if table is not None else set())
    if missing:
        raise ValueError(f"{folder}: weights missing for {sorted(missing)[:3]}")
    try:
        model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:   # a weight of another shape than the config says
        raise ValueError(f"{folder}: weights do not match config.json ({str(exc)[:200]})") from exc
    if table is not None:
        if tuple(table.shape) != (config.vocab_size, config.hidden_size):
            raise ValueError(f"{folder}: the word-embedding table is {tuple(table.shape)}, the config wants "
                             f"{(config.vocab_size, config.hidden_size)}")
        model.get_input_embeddings().weight = nn.Parameter(table, requires_grad=False)
    return model.eval()


def hold_linear_weights_in(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Keep every ``nn.Linear``'s weight and bias in ``dtype`` (bf16 for a model run under bf16
    autocast, which casts them to bf16 at every call anyway): the same numbers, half the memory of
    the layers, and no cast per call. Layer norms and embeddings keep their precision."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.to(dtype)
    return model


class PackedLinear(nn.Module):
    """A linear layer in bf16 whose weight oneDNN holds laid out in advance for its matrix kernels.

    Why: a bf16 ``F.linear`` on the CPU lays the weight out for the AMX / AVX-512 kernels at every
    call. Laid out once, the reader's forward pass over a question's windows took 70-78 ms against
    84-94 (query, key and value as one layer included), and the outputs are the same bits. The ops
    are torch's own (those ``torch.compile`` uses for frozen CPU models); :func:`packing_works`
    checks them once a process. For inference on the CPU only: the packed weight is no parameter or
    buffer, so ``state_dict()`` and ``.to()`` leave it out; pack after moving, never before saving."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().to(torch.bfloat16))
        self.bias = None if bias is None else bias.detach().to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # bf16 in and out, as under CPU autocast (which does not know this op)
        return torch.ops.mkldnn._linear_pointwise(x.to(torch.bfloat16), self.packed, self.bias, "none", [], "")


@functools.lru_cache(maxsize=1)
def packing_works() -> bool:
    """Whether this torch build and CPU run :class:`PackedLinear`, with ``F.linear``'s bf16 result."""
    try:
        generator = torch.Generator().manual_seed(0)
        weight, bias = torch.randn(24, 16, generator=generator), torch.randn(24, generator=generator)
        x = torch.randn(3, 5, 16, generator=generator)
        with torch.inference_mode():
            packed = PackedLinear(weight, bias)(x)
            expected = F.linear(x.bfloat16(), weight.bfloat16(), bias.bfloat16())
        # a bf16 step near 8 is 0.0625: allow a step of rounding, catch a wrong layout
        return packed.dtype == torch.bfloat16 and torch.allclose(packed.float(), expected.float(), rtol=1e-2, atol=0.05)
    except (AttributeError, RuntimeError, NotImplementedError):   # no oneDNN ops, or no bf16 kernels
        return False


def prepare_for_bf16_cpu(model: nn.Module) -> str:
    """Set ``model`` (Bert or BertForSpans, run under bf16 autocast on the CPU) up for inference:
    its encoder layers' weights packed (:class:`PackedLinear`, each attention's query, key and value
    as one layer) where :func:`packing_works`, else every linear weight held in bf16 (what autocast
    casts them to at each call). Returns ``"packed"`` or ``"held"``. Inference only: packed layers
    have no gradients."""
    bert = model.bert if isinstance(model, BertForSpans) else model
    if not isinstance(bert, Bert) or not packing_works():
        hold_linear_weights_in(model, torch.bfloat16)
        return "held"
    for layer in bert.encoder.layer:
        attention, projections = layer.attention, layer.attention.self
        parts = (projections.query, projections.key, projections.value)
        attention.qkv = PackedLinear(torch.cat([p.weight for p in parts]), torch.cat([p.bias for p in parts]))
        del projections.query, projections.key, projections.value
        attention.output.dense = PackedLinear(attention.output.dense.weight, attention.output.dense.bias)
        for owner in (layer.intermediate, layer.output):
            owner.dense = PackedLinear(owner.dense.weight, owner.dense.bias)
    hold_linear_weights_in(model, torch.bfloat16)   # what is left: the reader's span layer
    return "packed"


def run_layers_in_bf16(model: Bert) -> Bert:
    """Run ``model``'s layers in bf16 throughout, without autocast: the residual stream between them and
    their layer norms' weights in bf16 (the norms still sum in fp32 inside), and linear weights that
    :func:`prepare_for_bf16_cpu` did not pack held in bf16. The embeddings' sum and norm stay as they
    were; their output is cast.

    Why: under autocast every layer norm runs in fp32, so each layer casts its input to bf16 for the
    matrix products, adds in fp32 and casts again. In bf16 throughout, the encoder embedded CMRC2018
    passages about 10% faster (six alternating rounds), with unit vectors within a cosine of 0.99997
    of fp32's and of autocast's. Only the encoder runs so: the reader's logits stay autocast's."""
    for layer in model.encoder.layer:
        layer.attention.output.LayerNorm.to(torch.bfloat16)
        layer.output.LayerNorm.to(torch.bfloat16)
    hold_linear_weights_in(model.encoder, torch.bfloat16)   # where they were not packed: bf16 in, bf16 weights
    model.layer_dtype = torch.bfloat16
    return model


SHAPE_MULTIPLE = 32


def padded_to_multiple(input_ids: torch.Tensor, attention_mask: torch.Tensor, pad_id: int, limit: int,
                       multiple: int = SHAPE_MULTIPLE) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch padded (masked) to a length that is a multiple of ``multiple``, never past ``limit``
    (the model's longest input).

    Why: oneDNN prepares its matrix kernels for each new shape, and windows padded to their batch's
    longest come in a new length nearly every question. With lengths rounded up to a multiple of 32
    the shapes repeat; on 32 questions' reader windows interleaved, a forward pass took 93.5 ms
    against 106.6 ms unpadded (median, 2-core AMX CPU), 32 more tokens at most notwithstanding.
    Outputs at the real positions are the same up to rounding."""
    length = input_ids.shape[1]
    extra = -length % multiple
    if not extra or length + extra > limit:
        return input_ids, attention_mask
    return (torch.nn.functional.pad(input_ids, (0, extra), value=pad_id),
            torch.nn.functional.pad(attention_mask, (0, extra), value=0))
