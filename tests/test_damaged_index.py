"""Indexes damaged or edited by hand: each is refused with one line naming what is wrong, never a
traceback or a hang, and a damaged cache is rebuilt. Several cases rewrite the manifest's checksums to
match, so the deeper layers' own checks are what is tested.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.documents import Document
from index.store import IndexStore, StoreError

ROOT = Path(__file__).resolve().parents[1]


def _manifest(path) -> dict:
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _write_manifest(path, manifest: dict) -> None:
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _segment(path, suffix: str):
    return next(f for f in sorted(path.iterdir()) if f.name.startswith("seg-") and f.suffix == suffix)


def _rehash(path, name: str) -> None:
    """Write ``name``'s new checksum into the manifest, as one who edits an index on purpose would."""
    m = _manifest(path)
    digest = hashlib.sha256((path / name).read_bytes()).hexdigest()
    m["files"][name] = digest
    for seg in m["segments"]:
        if name in seg["files"]:
            seg["files"][name] = digest
    _write_manifest(path, m)


EDITS = {
    "files is a list": lambda m: m.update(files=list(m["files"])),
    "files is null": lambda m: m.update(files=None),
    "removed is a list": lambda m: m.update(removed=[]),
    "chunking is text": lambda m: m.update(chunking="x"),
    "chunk size is text": lambda m: m["chunking"].update(size="big"),
    "a segment's files are a list": lambda m: m["segments"][0].update(files=[]),
    "a segment's count is negative": lambda m: m["segments"][0].update(chunks=-1),
    "format_version is text": lambda m: m.update(format_version="2"),
    "the dimension is text": lambda m: m["encoder"].update(dimension="8"),
    "generation is text": lambda m: m.update(generation="abc"),
    "a file outside the folder": lambda m: m["files"].update({"../outside": "0" * 64}),
    "a device": lambda m: m["files"].update({"/dev/zero": "0" * 64}),
    "no checksums": lambda m: m.pop("files"),
    "a segment named outside the folder": lambda m: m["segments"][0].update(name="../../elsewhere"),
    "a segment without its own files": lambda m: m["segments"][0].update(files={}),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_manifest_of_the_wrong_shape_is_refused_as_corrupt(saved, edit):
    m = _manifest(saved)
    EDITS[edit](m)
    _write_manifest(saved, m)
    with pytest.raises(StoreError, match=r"manifest.json is corrupt: .*; rebuild the index$"):
        IndexStore.load(saved)


def test_a_deeply_nested_manifest_is_corrupt_and_the_peeks_say_nothing(saved):
    from index.store.local import index_chunk_size, index_encoder_name

    (saved / "manifest.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(StoreError, match="is corrupt"):
        IndexStore.load(saved)
    assert index_encoder_name(saved) is None and index_chunk_size(saved) is None


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
@pytest.mark.parametrize("where", ["manifest", "segment"])
def test_a_fifo_in_an_index_is_refused_not_read(saved, where):
    """Reading a FIFO blocks until a writer comes: the open hung for good. It runs in a process of its own,
    killed if it blocks, so a regression fails this test instead of hanging the suite."""
    target = saved / "manifest.json" if where == "manifest" else _segment(saved, ".npy")
    target.unlink()
    os.mkfifo(target)
    code = ("import sys\nfrom index.store import IndexStore, StoreError\nfrom index.store.local import index_encoder_name\n"
            "try:\n    IndexStore.load(sys.argv[1])\nexcept StoreError as exc:\n    print(exc)\n"
            "print(index_encoder_name(sys.argv[1]))\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(saved)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("opening an index with a FIFO in it blocked")
    assert done.returncode == 0, done.stderr
    refusal, encoder = done.stdout.strip().splitlines()
    assert refusal.endswith("is not a regular file; rebuild the index")
    assert (encoder == "None") == (where == "manifest")   # the peek reads no FIFO either


@pytest.mark.parametrize("damage, reason", [
    ("empty vectors", "EOFError"),
    ("pickled objects", "pickled objects, which are never loaded"),
])
def test_a_damaged_segment_whose_checksum_was_rewritten_is_named(saved, damage, reason):
    npy = _segment(saved, ".npy")
    if damage == "empty vectors":
        npy.write_bytes(b"")
    else:
        np.save(npy, np.array([{"not": "vectors"}, None], dtype=object), allow_pickle=True)
    _rehash(saved, npy.name)
    with pytest.raises(StoreError, match=rf"cannot read the index \(.*{reason}.*\); rebuild it"):
        IndexStore.load(saved)


def test_a_segment_sqlite_cannot_open_is_named_once(saved, monkeypatch):
    import sqlite3

    import index.store.rows as rows

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")
    monkeypatch.setattr(rows.sqlite3, "connect", refuse)
    with pytest.raises(StoreError) as caught:
        IndexStore.load(saved)
    message = str(caught.value)
    assert "cannot open the segment (unable to open database file); rebuild the index" in message
    assert message.count("rebuild") == 1, message


def test_a_faiss_file_of_another_dimension_is_named_by_its_dimensions(tiny_encoder, tmp_path, monkeypatch):
    import faiss

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, chunk_size=30, chunk_overlap=5,
                       faiss_kind="hnsw")
    store.add_documents([Document("d1", "公益", "2023财年，阿里活跃的公益幸福团超 110个。", "mem"),
                         Document("d2", "钉钉", "钉钉用户超6亿。", "mem")], tiny_encoder)
    path = store.save(tmp_path / "hnsw")
    other = faiss.IndexHNSWFlat(tiny_encoder.info.dimension * 2, 16, faiss.METRIC_INNER_PRODUCT)
    other.add(np.zeros((len(store.chunks), tiny_encoder.info.dimension * 2), dtype="float32"))
    faiss.write_index(other, str(path / "dense.faiss"))
    _rehash(path, "dense.faiss")
    with pytest.raises(StoreError, match=rf"holds {len(store.chunks)} vectors of {tiny_encoder.info.dimension * 2} "
                                         rf"dimensions for {len(store.chunks)} chunks of {tiny_encoder.info.dimension}"):
        IndexStore.load(path)


def test_a_bm25_cache_whose_matrix_or_card_is_damaged_is_rebuilt_not_searched(saved):
    from index.bm25 import BM25Index, tokenize
    from index.store import bm25_cache
    from index.store.prepare import passage_text

    store = IndexStore.load(saved)
    manifest = _manifest(saved)
    index = BM25Index([tokenize(passage_text(c)) for c in store.chunks])
    assert bm25_cache.save(saved, manifest, index)
    assert bm25_cache.load(saved, manifest, index.size) is not None
    folder = bm25_cache.folder_for(saved, manifest)
    card_file = folder / "zhqa_bm25.json"
    card = json.loads(card_file.read_text())
    target = next(f for f in folder.iterdir() if "indptr" in f.name)
    good = target.read_bytes()
    np.save(target, np.load(target)[::-1])   # pointers that fall: the checksum rewritten to match
    card["files"][target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
    card_file.write_text(json.dumps(card))
    assert bm25_cache.load(saved, manifest, index.size) is None
    target.write_bytes(good)
    card["files"][target.name] = hashlib.sha256(good).hexdigest()
    card_file.write_text(json.dumps(card))
    assert bm25_cache.load(saved, manifest, index.size) is not None
    for name in ("/dev/zero", "../manifest.json"):   # never read: a device would block the hashing
        card_file.write_text(json.dumps({**card, "files": {**card["files"], name: "0" * 64}}))
        code = ("import json, sys\nfrom pathlib import Path\nfrom index.store import bm25_cache\n"
                "m = json.loads((Path(sys.argv[1]) / 'manifest.json').read_text())\n"
                "print(bm25_cache.load(Path(sys.argv[1]), m, int(sys.argv[2])))\n")
        done = subprocess.run([sys.executable, "-c", code, str(saved), str(index.size)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.stdout.strip() == "None", done.stderr


def test_an_index_folder_that_is_not_writable_is_refused_before_embedding(saved, tiny_encoder_path, tmp_path,
                                                                           capsys, monkeypatch):
    import qa.cli as cli

    doc = tmp_path / "new.txt"
    doc.write_text("星河公司的创始人是李明远。", encoding="utf-8")
    before = sorted(f.name for f in saved.iterdir())
    embedded = []
    monkeypatch.setattr("index.store.update.prepare_documents", lambda *a, **k: embedded.append(a))
    real = os.access
    monkeypatch.setattr(cli.os, "access", lambda p, mode: False if str(p) == str(saved) and mode == os.W_OK
                        else real(p, mode))   # root passes every permission check, so it is simulated
    for extra in (["--remove", "d1"], [str(doc)]):
        assert cli.main(["index", *extra, "--index", str(saved)]) == 2
        out = capsys.readouterr()
        assert f"error: {saved}: Permission denied (the index folder is not writable)" in out.err
        assert "removed" not in out.out and "Traceback" not in out.err
    assert not embedded and sorted(f.name for f in saved.iterdir()) == before
    assert cli.main(["index", "--index", str(saved), "--list"]) == 0   # reading a read-only index is fine
    assert "d1" in capsys.readouterr().out
    assert sorted(IndexStore.load(saved).documents) == ["d1", "d2"]


def test_a_removal_whose_save_fails_says_nothing_was_removed(saved, tiny_encoder_path, capsys, monkeypatch):
    """A full disk at save: one error line, no "removed" before it, and the index as it was."""
    import errno

    import qa.cli as cli
    from index.store import IndexStore
    from index.store.update import IndexUpdate

    def full_disk(self, path=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(saved / "segments"))

    monkeypatch.setattr(IndexUpdate, "save", full_disk)
    assert cli.main(["index", "--remove", "d1", "--index", str(saved)]) == 2
    out = capsys.readouterr()
    assert out.err.strip() == f"error: {saved / 'segments'}: No space left on device"
    assert "removed" not in out.out
    assert sorted(IndexStore.load(saved).documents) == ["d1", "d2"]
    monkeypatch.undo()
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(saved.parent / "cache"))
    assert cli.main(["index", "--remove", "d1", "--index", str(saved)]) == 0
    assert capsys.readouterr().out.startswith("removed 1 document(s)\n")
    assert sorted(IndexStore.load(saved).documents) == ["d2"]


def test_an_index_whose_encoder_cannot_be_loaded_says_it_is_the_index_s(saved, capsys, monkeypatch):
    from qa.cli import main

    m = _manifest(saved)
    m["encoder"]["name"] = "someone/a-model-nobody-has-cached"
    _write_manifest(saved, m)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ZHQA_ENCODER", raising=False)
    assert main(["ask", "钉钉用户有多少？", "--index", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {saved} was built with the encoder 'someone/a-model-nobody-has-cached', "
                          "which cannot be loaded here; cannot load the encoder"), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_ui_opens_an_index_with_the_encoder_it_was_built_with(saved, monkeypatch):
    """As ``qa ask`` does: an index built with another encoder than the default is served, not refused."""
    from ui import _config_from_args
    from ui.cli import build_ui_parser

    monkeypatch.delenv("ZHQA_ENCODER", raising=False)
    args = build_ui_parser().parse_args(["ui", "--index", str(saved)])
    assert _config_from_args(args).encoder == _manifest(saved)["encoder"]["name"]
