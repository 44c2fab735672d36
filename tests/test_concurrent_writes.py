"""No lost writes: concurrent writers on one index directory, a serving bot beside them, and saves
killed with SIGKILL at random instants.

Writers run as real separate processes (``python -c``), as two ``qa index`` runs or a UI next to
``qa index`` would.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A writer over the index: each call adds one document and saves (a tiny encoder keeps it fast).
WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from index.documents import Document
    from qa.bot import QABot
    from qa.config import Config
    bot = QABot.from_index({index!r}, Config(encoder={encoder!r}, reader={reader!r}))
    for i in range({n}):
        bot.add_documents([Document(f"{tag}-{{i}}", f"{tag} {{i}}", f"第{{i}}号文件由{tag}写入。", "test")])
""")


def _writer(tmp_path, index, tag, n, tiny_encoder_path, tiny_qa_model):
    code = WRITER.format(root=str(ROOT), index=str(index), encoder=str(tiny_encoder_path),
                         reader=str(tiny_qa_model), n=n, tag=tag)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture()
def index_dir(tmp_path, tiny_encoder_path):
    from qa.cli import main

    seed = tmp_path / "seed.txt"
    seed.write_text("星河公司的创始人是李明远。", encoding="utf-8")
    idx = tmp_path / "idx"
    assert main(["index", str(seed), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    return idx


def test_two_processes_adding_documents_lose_none(tmp_path, index_dir, tiny_encoder_path, tiny_qa_model):
    from index.store import IndexStore

    procs = [_writer(tmp_path, index_dir, tag, 10, tiny_encoder_path, tiny_qa_model) for tag in ("甲", "乙")]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    docs = set(IndexStore.load(index_dir).documents)
    expected = {f"{tag}-{i}" for tag in ("甲", "乙") for i in range(10)}
    assert expected <= docs, sorted(expected - docs)
    assert len(docs) == 21


def test_two_qa_index_runs_at_once_lose_nothing_and_no_wait_refuses(tmp_path, index_dir, tiny_encoder_path):
    from filelock import FileLock

    from index.store import IndexStore
    from index.store.locking import lock_path

    files = []
    for tag in ("a", "b"):
        f = tmp_path / f"{tag}.txt"
        f.write_text(f"文件{tag}的内容：钉钉用户超6亿。", encoding="utf-8")
        files.append(f)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "qa", "index", str(f), "--index", str(index_dir)], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert len(IndexStore.load(index_dir).documents) == 3
    with FileLock(str(lock_path(index_dir))):     # someone else is writing
        r = subprocess.run([sys.executable, "-m", "qa", "index", str(files[0]), "--index", str(index_dir),
                            "--no-wait"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "is being written by another process" in r.stderr and "Traceback" not in r.stderr


def test_a_serving_bot_sees_and_keeps_what_another_process_added(tmp_path, index_dir, tiny_encoder_path,
                                                                  tiny_qa_model, monkeypatch):
    import qa.bot
    from index.documents import Document
    from index.store import IndexStore
    from qa.bot import QABot
    from qa.config import Config

    monkeypatch.setattr(qa.bot, "REFRESH_EVERY_S", 0.0)
    bot = QABot.from_index(index_dir, Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))
    p = _writer(tmp_path, index_dir, "外", 3, tiny_encoder_path, tiny_qa_model)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    bot.ask("星河公司的创始人是谁？")                      # a read notices the new generation
    assert {"外-0", "外-1", "外-2"} <= set(bot.store.documents)
    bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert {"外-0", "外-1", "外-2", "ui-1"} <= set(IndexStore.load(index_dir).documents)


# ---------------------------------------------------------------- crash safety
KILLED_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import numpy as np
    from index.documents import Document
    from index.store import IndexStore

    class RandomEncoder:  # the store's crash safety does not depend on what the vectors mean
        def encode_passages(self, texts, progress=False):
            v = np.random.default_rng(len(texts)).normal(size=(len(texts), 8)).astype("float32")
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    store = IndexStore.load({index!r})
    i = len(store.documents)
    while True:
        store.add_documents([Document(f"d{{i}}", "t", "文本" * 200 + str(i), "x")], RandomEncoder())
        store.save({index!r})
        print(len(store.documents), flush=True)   # the first line also says: warmed up, kill me any time
        i += 1
""")


def test_saves_killed_at_random_instants_leave_a_loadable_index(tmp_path):
    import numpy as np

    from index.documents import Document
    from index.store import IndexStore

    class RandomEncoder:
        def encode_passages(self, texts, progress=False):
            v = np.random.default_rng(0).normal(size=(len(texts), 8)).astype("float32")
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    idx = tmp_path / "idx"
    store = IndexStore("random-8d", 8, 120, 20)
    store.add_documents([Document("d0", "t", "开始", "x")], RandomEncoder())
    store.save(idx)
    rounds = int(os.environ.get("ZHQA_CRASH_ROUNDS", "12"))
    rng = random.Random(7)
    code = KILLED_WRITER.format(root=str(ROOT), index=str(idx))
    for r in range(rounds):
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline().strip()
        assert first.isdigit(), p.stderr.read()
        time.sleep(rng.uniform(0.0, 0.3))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
        saved = [int(first)] + [int(x) for x in out.split()]
        loaded = IndexStore.load(idx)                      # never missing, never half-written
        n = len(loaded.documents)
        last = saved[-1]
        assert n in (last, last + 1), (r, saved, n)   # the state before or after the interrupted save
        assert json.loads((idx / "manifest.json").read_text(encoding="utf-8"))["chunks"] == len(loaded.chunks)
    assert len(IndexStore.load(idx).documents) > 1


def test_a_save_killed_between_its_two_renames_is_read_and_then_repaired(tmp_path):
    import numpy as np

    from index.documents import Document
    from index.store import IndexStore

    class RandomEncoder:
        def encode_passages(self, texts, progress=False):
            v = np.ones((len(texts), 8), dtype="float32")
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    idx = tmp_path / "idx"
    store = IndexStore("random-8d", 8, 120, 20)
    store.add_documents([Document("d0", "t", "开始", "x")], RandomEncoder())
    store.save(idx)
    aside = tmp_path / ".idx.old-123-456"
    os.replace(idx, aside)                                   # killed after the first rename
    (tmp_path / ".idx.tmp-zzz").mkdir()                      # and its half-written new copy
    assert set(IndexStore.load(idx).documents) == {"d0"}     # readers take the set-aside index
    assert aside.exists() and not idx.exists()               # ... without renaming anything
    store = IndexStore.load(idx)
    store.add_documents([Document("d1", "t", "继续", "x")], RandomEncoder())
    store.save(idx)                                          # the next writer repairs, then saves
    assert set(IndexStore.load(idx).documents) == {"d0", "d1"} and store.generation == 2


def test_qa_index_after_a_killed_save_keeps_every_document(tmp_path, tiny_encoder_path):
    from index.store import IndexStore
    from qa.cli import main

    docs = []
    for tag in ("a", "b", "c"):
        f = tmp_path / f"{tag}.txt"
        f.write_text(f"文件{tag}：钉钉用户超6亿。", encoding="utf-8")
        docs.append(f)
    idx = tmp_path / "idx"
    assert main(["index", str(docs[0]), str(docs[1]), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    os.replace(idx, tmp_path / ".idx.old-1-1")               # a later save was killed between its renames
    assert main(["index", str(docs[2]), "--index", str(idx)]) == 0
    assert len(IndexStore.load(idx).documents) == 3
