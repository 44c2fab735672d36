"""The embedded encoder's tokenizer through SentencePiece, for the calls zhqa makes when it answers.

Why: transformers' tokenizer wrapper costs about 2 s of every new process, and the `tokenizers`
library's own load of the 250k-piece vocabulary takes 0.8 s and 280 MB (a trie of hash maps). The same
unigram vocabulary as a SentencePiece model loads in about 0.35 s into 56 MB. ``write_lean_tokenizer``
makes that model from a folder's ``tokenizer.json`` once (at conversion); this class answers the
encoder's and the reader's calls (batches, pairs truncated ``only_second`` into overlapping windows,
offsets, padding) with the ids and offsets transformers gives (tests/test_e2e.py and
tests/test_lean_tokenizer.py compare them). Training still uses transformers' tokenizer.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.aligned_normalizer import AlignedNormalizer, UnsupportedNormalizer

LEAN_MODEL = "lean_tokenizer.model"
LEAN_SPEC = "lean_tokenizer.json"
_SPEC_VERSION = 1
_METASPACE = "\u2581"
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsupportedTokenizer(ValueError):
    """A tokenizer.json this module cannot reproduce (not a unigram model with SentencePiece's
    whitespace handling and RoBERTa's special-token template)."""


def _template_ids(post: dict) -> tuple[int, int]:
    """(bos id, eos id) of a ``<s> A </s>`` / ``<s> A </s> </s> B </s>`` template; anything else raises."""
    if not post or post.get("type") != "TemplateProcessing":
        raise UnsupportedTokenizer(f"post-processor {post and post.get('type')!r}")

    def shape(items):
        return [("S", i["SpecialToken"]["id"]) if "SpecialToken" in i else ("Q", i["Sequence"]["id"])
                for i in items]

    single, pair = shape(post["single"]), shape(post["pair"])
    if len(single) != 3 or single[1] != ("Q", "A") or single[0][0] != "S" or single[2][0] != "S":
        raise UnsupportedTokenizer(f"single template {single}")
    bos, eos = single[0][1], single[2][1]
    if pair != [("S", bos), ("Q", "A"), ("S", eos), ("S", eos), ("Q", "B"), ("S", eos)]:
        raise UnsupportedTokenizer(f"pair template {pair}")
    ids = {name: entry["ids"] for name, entry in post["special_tokens"].items()}
    if len(ids.get(bos, [])) != 1 or len(ids.get(eos, [])) != 1:
        raise UnsupportedTokenizer("special tokens of more than one id")
    return ids[bos][0], ids[eos][0]


def write_lean_tokenizer(folder: str | Path) -> None:
    """Write ``lean_tokenizer.model`` (SentencePiece) and ``lean_tokenizer.json`` beside the folder's
    ``tokenizer.json``. Raises UnsupportedTokenizer for a tokenizer this module cannot reproduce."""
    from sentencepiece import sentencepiece_model_pb2 as spm_pb2

    folder = Path(folder)
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model, pre = data.get("model") or {}, data.get("pre_tokenizer") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        raise UnsupportedTokenizer(f"model {model.get('type')!r} (byte fallback {model.get('byte_fallback')})")
    if (pre.get("type"), pre.get("replacement"), pre.get("prepend_scheme"), pre.get("split")) != \
            ("Metaspace", _METASPACE, "always", True):
        raise UnsupportedTokenizer(f"pre-tokenizer {pre}")
    try:
        AlignedNormalizer(data.get("normalizer"))
    except UnsupportedNormalizer as e:
        raise UnsupportedTokenizer(str(e)) from e
    bos, eos = _template_ids(data.get("post_processor"))
    added = {}
    for token in data.get("added_tokens", []):
        if token.get("single_word") or token.get("lstrip") or token.get("rstrip") or token.get("normalized"):
            raise UnsupportedTokenizer(f"added token {token}")
        added[token["content"]] = token["id"]
    vocab = model["vocab"]
    unk = model.get("unk_id")
    proto = spm_pb2.ModelProto()
    control = set(added.values())
    for i, (piece, score) in enumerate(vocab):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        entry.type = (spm_pb2.ModelProto.SentencePiece.UNKNOWN if i == unk else
                      spm_pb2.ModelProto.SentencePiece.CONTROL if i in control else
                      spm_pb2.ModelProto.SentencePiece.NORMAL)
    trainer = proto.trainer_spec
    trainer.model_type = spm_pb2.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(vocab)
    trainer.unk_id = unk if unk is not None else 0
    trainer.unk_piece = vocab[trainer.unk_id][0]
    trainer.bos_id = trainer.eos_id = trainer.pad_id = -1
    norm = proto.normalizer_spec
    # normalization happens in Python (index/aligned_normalizer.py); SentencePiece only splits
    norm.name, norm.add_dummy_prefix, norm.remove_extra_whitespaces, norm.escape_whitespaces = \
        "identity", False, False, True
    spec = {"version": _SPEC_VERSION, "normalizer": data.get("normalizer"), "added_tokens": added,
            "bos_id": bos, "eos_id": eos, "vocab_size": len(vocab)}
    for name, blob in ((LEAN_MODEL, proto.SerializeToString()),
                       (LEAN_SPEC, json.dumps(spec, ensure_ascii=False, indent=1).encode("utf-8"))):
        tmp = folder / f".{name}.tmp-{os.getpid()}"
        tmp.write_bytes(blob)
        os.replace(tmp, folder / name)


@dataclass
class Window:
    """One model input: ids, attention mask, each token's character range in its own text ((0, 0) for
    special and padding tokens) and which text it came from (0, 1, or None)."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    sequence_ids: list[int | None]
    attention_mask: list[int] = field(default_factory=list)

    def __post_init__(self):
        if not self.attention_mask:
            self.attention_mask = [1] * len(self.ids)

    def pad_to(self, length: int, pad_id: int) -> None:
        extra = length - len(self.ids)
        if extra > 0:
            self.ids += [pad_id] * extra
            self.offsets += [(0, 0)] * extra
            self.sequence_ids += [None] * extra
            self.attention_mask += [0] * extra


class LeanEncoding(dict):
    """A batch as transformers' ``BatchEncoding`` presents it: ``enc["input_ids"]`` and friends, and
    ``sequence_ids(i)`` for window ``i``."""

    def __init__(self, data: dict, encodings: list[Window]):
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
    answers it, for a folder holding ``write_lean_tokenizer``'s files and ``tokenizer_config.json``.
    Callers hold ``index.e5_convert.tokenizer_lock`` like for any other tokenizer.

    Known difference: where two segmentations score the same or within about 2e-4 (「xxxxxxxxxxxxxx」,
    "contingency"), SentencePiece (scores in float32) and `tokenizers` (float64) may choose differently:
    3 of 60,000 texts (40,000 from CMRC2018, DRCD, CAIL, DuReader, news and SQuAD, 20,000 fuzzed).
    """

    is_fast = True

    def __init__(self, folder: str | Path):
        import sentencepiece

        folder = Path(folder)
        try:
            spec = json.loads((folder / LEAN_SPEC).read_text(encoding="utf-8"))
            if spec.get("version") != _SPEC_VERSION:
                raise ValueError(f"version {spec.get('version')!r}, not {_SPEC_VERSION}")
            self._sp = sentencepiece.SentencePieceProcessor(model_file=str(folder / LEAN_MODEL))
            self._normalizer = AlignedNormalizer(spec["normalizer"])
            self._added: dict[str, int] = spec["added_tokens"]
            self._bos, self._eos = spec["bos_id"], spec["eos_id"]
            self._vocab_size = spec["vocab_size"]
            config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:   # sentencepiece: RuntimeError
            raise UnsupportedTokenizer(f"{folder}: its SentencePiece tokenizer ({LEAN_MODEL}, {LEAN_SPEC}) "
                                       f"cannot be read: {type(e).__name__}: {e}") from e
        self._added_re = re.compile("|".join(re.escape(t) for t in sorted(self._added, key=len, reverse=True))) \
            if self._added else None
        pad = config.get("pad_token", "<pad>")
        self.pad_token = pad["content"] if isinstance(pad, dict) else str(pad)
        self.pad_token_id = self._sp.piece_to_id(self.pad_token)
        if self._sp.id_to_piece(self.pad_token_id) != self.pad_token:
            raise ValueError(f"{folder}: the pad token {self.pad_token!r} is not in the vocabulary")
        self.model_max_length = int(config.get("model_max_length", 512))

    def __len__(self) -> int:
        return self._vocab_size

    # -- one text, no special tokens -----------------------------------------------------------
    def tokens(self, text: str, offsets: bool = True) -> tuple[list[int], list[tuple[int, int]]]:
        """The text's ids and each one's character range in ``text`` (empty list without ``offsets``)."""
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        if _SURROGATE.search(text):   # half a UTF-16 pair (a broken extraction): U+FFFD, same length
            text = _SURROGATE.sub("\ufffd", text)
        for start, end, special in self._split(text):
            if special is not None:
                ids.append(special)
                if offsets:
                    spans.append((start, end))
            else:
                self._plain(text[start:end], start, offsets, ids, spans)
        return ids, spans

    def _split(self, text: str):
        """(start, end, added-token id or None) parts of ``text``: added tokens are matched as written."""
        pos = 0
        if self._added_re is not None:
            for m in self._added_re.finditer(text):
                yield pos, m.start(), None
                yield m.start(), m.end(), self._added[m.group()]
                pos = m.end()
        yield pos, len(text), None

    def _plain(self, text: str, base: int, offsets: bool, ids: list, spans: list) -> None:
        if offsets:
            norm = self._normalizer.normalize(text)
            normalized, starts, ends = norm.text, norm.starts, norm.ends
        else:
            normalized, starts, ends = self._normalizer.normalize_text(text), [], []
        if not normalized:
            return
        if not normalized.startswith(" "):
            # Metaspace, prepend "always": one space before the part, standing where its first
            # character does (added tokens found after normalizing do not get one again)
            normalized = " " + normalized
            if offsets:
                starts, ends = [starts[0], *starts], [ends[0], *ends]
        for lo, hi, special in self._split(normalized):   # an added token can appear once normalized
            if special is not None:
                ids.append(special)
                if offsets:
                    spans.append((base + starts[lo], base + ends[hi - 1]))
            elif hi <= lo:
                continue
            elif not offsets:
                ids += self._sp.encode(normalized[lo:hi])
            else:
                found = self._sp.encode_as_offset_mapping(normalized[lo:hi])
                for piece, (a, b) in zip(found["ids"], found["offsets"]):
                    ids.append(piece)
                    spans.append((base + starts[lo + a], base + ends[lo + max(b, a + 1) - 1]))

    # -- transformers' call --------------------------------------------------------------------
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
        strategy = None if not truncation else ("longest_first" if truncation is True else str(truncation))
        if strategy not in (None, "longest_first", "only_second"):
            raise ValueError(f"truncation={truncation!r} is not supported (True, 'longest_first', 'only_second')")
        if return_tensors not in (None, "pt"):
            raise ValueError(f"return_tensors={return_tensors!r} is not supported (use 'pt' or None)")
        limit = (max_length or self.model_max_length) if strategy else None
        seen: dict[str, tuple] = {}

        def tokens(t: str):
            if t not in seen:   # the reader passes one question once a passage
                seen[t] = self.tokens(t, return_offsets_mapping)
            return seen[t]

        windows, owners = [], []
        for i, first in enumerate(texts):
            pair = pairs[i] if pairs is not None else None
            made = self._windows(tokens(first), None if pair is None else tokens(pair), add_special_tokens,
                                 strategy, limit, stride)
            if not return_overflowing_tokens:
                made = made[:1]
            windows += made
            owners += [i] * len(made)
        if padding in (True, "longest") and windows:
            longest = max(len(w.ids) for w in windows)
            for w in windows:
                w.pad_to(longest, self.pad_token_id)
        data = {"input_ids": [w.ids for w in windows], "attention_mask": [w.attention_mask for w in windows]}
        if return_offsets_mapping:
            data["offset_mapping"] = [w.offsets for w in windows]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = owners
        if return_tensors == "pt":
            import torch

            data = {k: torch.tensor(v, dtype=torch.long) for k, v in data.items()}
        elif single and not return_overflowing_tokens:
            data = {k: v[0] for k, v in data.items()}
        return LeanEncoding(data, windows)

    def _windows(self, first, second, special: bool, strategy: str | None, limit: int | None,
                 stride: int) -> list[Window]:
        """`tokenizers`' truncation: the truncated text is cut into windows of the room left, each
        starting ``stride`` tokens before the previous one ended."""
        (a_ids, a_off), pair = first, second
        room = None
        if limit is not None:
            room = limit - ((4 if pair is not None else 2) if special else 0)
            over = len(a_ids) + (len(pair[0]) if pair is not None else 0) - room
            if over <= 0:
                room = None
            elif pair is None:
                if strategy == "only_second":
                    raise ValueError("truncation='only_second' needs a second text")
                room = len(a_ids) - over
            elif strategy == "only_second":
                room = len(pair[0]) - over
                if room <= 0:
                    raise ValueError(f"the first text ({len(a_ids)} tokens) leaves no room for the second "
                                     f"in {limit} tokens")
            else:
                raise ValueError("truncating a pair 'longest_first' is not supported (use 'only_second')")
        cut_ids, cut_off = (a_ids, a_off) if pair is None else pair
        if room is None:
            parts = [(0, len(cut_ids))]
        else:
            if stride >= room:
                raise ValueError(f"stride {stride} must be under the {room} tokens a window has room for")
            parts, start = [], 0
            while True:
                stop = min(start + room, len(cut_ids))
                parts.append((start, stop))
                if stop == len(cut_ids):
                    break
                start += room - stride
        out = []
        for lo, hi in parts:
            ids, off = cut_ids[lo:hi], cut_off[lo:hi] if cut_off else []
            if pair is None:
                a_part, a_part_off, b_part = ids, off, None
            else:
                a_part, a_part_off, b_part = a_ids, a_off, (ids, off)
            out.append(self._assemble(a_part, a_part_off, b_part, special))
        return out

    def _assemble(self, a_ids, a_off, b, special: bool) -> Window:
        a_off = a_off or [(0, 0)] * len(a_ids)
        if b is None:
            if not special:
                return Window(list(a_ids), list(a_off), [0] * len(a_ids))
            return Window([self._bos, *a_ids, self._eos], [(0, 0), *a_off, (0, 0)],
                          [None, *[0] * len(a_ids), None])
        b_ids, b_off = b
        b_off = b_off or [(0, 0)] * len(b_ids)
        if not special:
            return Window([*a_ids, *b_ids], [*a_off, *b_off], [*[0] * len(a_ids), *[1] * len(b_ids)])
        return Window([self._bos, *a_ids, self._eos, self._eos, *b_ids, self._eos],
                      [(0, 0), *a_off, (0, 0), (0, 0), *b_off, (0, 0)],
                      [None, *[0] * len(a_ids), None, None, *[1] * len(b_ids), None])
