"""A bot over a saved index follows the index on disk even when it is replaced, made again or restored, and
never writes its own copy over an index it did not load (or over a deletion, or a read-only folder)."""
from __future__ import annotations

import os
import shutil

import pytest

from qa.cli import main


def _index(path, tiny_encoder_path, *texts):
    from index.documents import Document

    from index.embed import get_encoder
    from index.store import IndexStore

    encoder = get_encoder(str(tiny_encoder_path))
    store = IndexStore(str(tiny_encoder_path), encoder.info.dimension)
    store.add_documents([Document(f"d{i}", f"t{i}", text, f"mem:{i}") for i, text in enumerate(texts)], encoder)
    store.save(path)
    return store


@pytest.fixture()
def bot_over(tmp_path, tiny_encoder_path, tiny_qa_model, monkeypatch):
    import qa.bot
    from qa.bot import QABot
    from qa.config import Config

    monkeypatch.setattr(qa.bot, "REFRESH_EVERY_S", 0.0)
    idx = tmp_path / "idx"
    _index(idx, tiny_encoder_path, "星河公司的创始人是李明远。", "月光公司的总部在杭州。")
    return idx, QABot.from_index(idx, Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))


def _ids(store):
    return sorted(store.documents)


def test_an_index_deleted_and_made_again_is_reloaded_and_the_next_write_keeps_it(bot_over, tiny_encoder_path):
    from index.documents import Document
    from index.store import IndexStore

    idx, bot = bot_over
    shutil.rmtree(idx)
    new = _index(idx, tiny_encoder_path, "新索引里只有这一篇文档。")   # generation 1, below the bot's
    assert new.generation <= bot.store.generation
    assert bot.refresh() and [i.id for i in bot.document_infos()] == ["d0"]
    assert bot.store.index_id == new.index_id
    bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert _ids(IndexStore.load(idx)) == ["d0", "ui-1"]


def test_a_write_over_a_replaced_index_applies_to_the_one_on_disk(bot_over, tiny_encoder_path):
    from index.documents import Document
    from index.store import IndexStore

    idx, bot = bot_over
    other = idx.parent / "other"
    _index(other, tiny_encoder_path, "另一个索引。", "第二篇。", "第三篇。")
    shutil.rmtree(idx)
    other.rename(idx)   # built elsewhere, then moved in (no refresh in between)
    bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert _ids(IndexStore.load(idx)) == ["d0", "d1", "d2", "ui-1"]


def test_an_older_copy_restored_is_reloaded(bot_over, tiny_encoder_path, tmp_path):
    from index.documents import Document

    idx, bot = bot_over
    backup = tmp_path / "backup"
    shutil.copytree(idx, backup)
    bot.add_documents([Document("later", "后来", "后来加的文档。", "mem:later")])
    shutil.rmtree(idx)
    shutil.copytree(backup, idx)   # same index, an older generation
    assert bot.refresh() and "later" not in [i.id for i in bot.document_infos()]


def test_a_deleted_index_is_not_written_back(bot_over):
    from index.documents import Document
    from index.store import StoreError

    idx, bot = bot_over
    shutil.rmtree(idx)
    with pytest.raises(StoreError, match="no longer there"):
        bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    with pytest.raises(StoreError, match="no longer there"):
        bot.remove_documents(["d0"])
    assert not idx.exists()
    assert bot.refresh() is False and len(bot.document_infos()) == 2   # what it holds still answers
    from ui.app import ChatUI

    status, *_ = ChatUI(bot).remove("d0")   # the UI says so in its status line
    assert "删除失败" in status and "no longer there" in status and not idx.exists()


def test_a_read_only_index_folder_is_refused_before_any_work(bot_over, monkeypatch):
    import os

    from index.documents import Document
    from index.store import StoreError

    idx, bot = bot_over
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if (str(p) == str(idx) and mode == os.W_OK)
                        else real_access(p, mode, **kw))   # root would write a mode-555 folder anyway
    before = sorted(p.name for p in idx.iterdir())
    with pytest.raises(StoreError, match="not writable"):
        bot.remove_documents(["d0"])
    assert sorted(p.name for p in idx.iterdir()) == before and len(bot.document_infos()) == 2


def test_a_new_index_folder_takes_the_umask_and_a_rewrite_keeps_the_folder_mode(tmp_path, tiny_encoder_path):
    import os

    idx = tmp_path / "idx"
    store = _index(idx, tiny_encoder_path, "第一篇。")
    assert idx.stat().st_mode & 0o777 == 0o777 & ~_umask()
    idx.chmod(0o750)
    store.remove_documents(["d0"])   # everything removed: a whole rewrite
    store.save(idx)
    assert idx.stat().st_mode & 0o777 == 0o750
    assert not any(p.name.startswith(".idx.") and "tmp" in p.name for p in tmp_path.iterdir())
    assert os.access(idx, os.R_OK)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_listing_needs_no_write_lock(tmp_path, tiny_encoder_path, capsys, monkeypatch):
    import index.store.locking as locking

    idx = tmp_path / "idx"
    _index(idx, tiny_encoder_path, "第一篇。")

    def refuse(*args, **kwargs):
        raise AssertionError("listing took the write lock")

    monkeypatch.setattr(locking, "index_write_lock", refuse)
    assert main(["index", "--index", str(idx), "--list"]) == 0
    assert "1 document(s)" in capsys.readouterr().out


def test_the_ui_document_list_shows_what_another_process_changed(bot_over, tiny_encoder_path, tiny_qa_model):
    from index.documents import Document
    from qa.bot import QABot
    from qa.config import Config
    from ui.app import ChatUI

    idx, bot = bot_over
    ui = ChatUI(bot)
    other = QABot.from_index(idx, Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))
    other.add_documents([Document("new-1", "新", "另一个进程加的文档。", "mem:new")])
    other.remove_documents(["d0"])
    table, dropdown, _ = ui.refresh_documents()
    assert sorted(row[0] for row in table) == ["d1", "new-1"]
    assert sorted(v for _, v in dropdown["choices"]) == ["d1", "new-1"]
    status, *_ = ui.remove("new-1")
    assert "新" in status   # its title, though this bot had not seen it before


def test_a_file_read_before_waiting_for_the_lock_is_read_again_when_it_changed(tmp_path, tiny_encoder_path,
                                                                                 capsys, monkeypatch):
    from contextlib import contextmanager

    import index.store.locking as locking
    from index.store import IndexStore

    idx, docs = tmp_path / "idx", tmp_path / "docs"
    docs.mkdir()
    policy = docs / "policy.txt"
    policy.write_text("补贴标准为每人500元。", encoding="utf-8")
    enc = ["--encoder", str(tiny_encoder_path)]
    assert main(["index", str(docs), "--index", str(idx)] + enc) == 0
    real_lock = locking.index_write_lock
    interleaved = []

    @contextmanager
    def lock_taken_first_by_another_writer(*args, **kwargs):
        if not interleaved:   # while this run waits: the file is edited and its new version indexed
            interleaved.append(True)
            policy.write_text("补贴标准为每人800元。", encoding="utf-8")
            os.utime(policy, ns=(policy.stat().st_atime_ns, policy.stat().st_mtime_ns + 10**9))
            assert main(["index", str(policy), "--index", str(idx)] + enc) == 0
        with real_lock(*args, **kwargs):
            yield

    monkeypatch.setattr(locking, "index_write_lock", lock_taken_first_by_another_writer)
    (docs / "other.txt").write_text("另一篇文档。", encoding="utf-8")
    assert main(["index", str(docs), "--index", str(idx)] + enc) == 0   # read 500元 before the lock
    assert "changed while waiting for the index; read again" in capsys.readouterr().err
    store = IndexStore.load(idx)
    texts = [store.documents[d].document.text for d in store.documents]
    assert "补贴标准为每人800元。" in texts and "补贴标准为每人500元。" not in texts and len(texts) == 2


def test_askers_are_not_held_while_an_upload_embeds(bot_over, monkeypatch):
    import threading

    import index.store.local
    from index.documents import Document

    idx, bot = bot_over
    real_prepare = index.store.local.prepare_documents
    answered = threading.Event()

    def slow_prepare(*args, **kwargs):   # the embedding goes on until a question was answered meanwhile
        threading.Thread(target=lambda: (bot.ask("月光公司的总部在哪里？"), answered.set()), daemon=True).start()
        answered.wait(timeout=60)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(index.store.local, "prepare_documents", slow_prepare)
    bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert answered.is_set()
    assert "ui-1" in [i.id for i in bot.document_infos()]


def test_a_restored_copy_saved_again_to_the_same_generation_is_still_seen(bot_over, tmp_path):
    from index.documents import Document
    from index.store import IndexStore

    idx, bot = bot_over
    backup = tmp_path / "backup"
    shutil.copytree(idx, backup)
    bot.add_documents([Document("b1", "b1", "机器人加的文档。", "mem:b1")])   # generation g + 1
    shutil.rmtree(idx)
    shutil.copytree(backup, idx)
    other = IndexStore.load(idx)
    other.add_documents([Document("x", "x", "另一个进程加的文档。", "mem:x")], bot.encoder)
    other.save(idx)   # generation g + 1 again: only the save id tells the two apart
    assert other.generation == bot.store.generation
    assert bot.refresh() and sorted(i.id for i in bot.document_infos()) == ["d0", "d1", "x"]
    bot.add_documents([Document("b2", "b2", "再加一篇。", "mem:b2")])
    assert sorted(IndexStore.load(idx).documents) == ["b2", "d0", "d1", "x"]


def test_an_index_of_before_ids_gets_one_at_its_next_save(tmp_path, tiny_encoder_path):
    import json

    idx = tmp_path / "idx"
    _index(idx, tiny_encoder_path, "第一篇。")
    manifest = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    del manifest["index_id"], manifest["save_id"]
    (idx / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    doc = tmp_path / "new.txt"
    doc.write_text("第二篇。", encoding="utf-8")
    assert main(["index", str(doc), "--index", str(idx)]) == 0   # an append by qa index
    manifest = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(manifest["index_id"], str) and isinstance(manifest["save_id"], str)


def test_an_opened_index_of_generation_0_deleted_is_not_written_back(bot_over):
    from index.documents import Document
    from index.store import StoreError

    idx, bot = bot_over
    bot.store.generation = 0   # as a format-1 index, from before generations, loads
    shutil.rmtree(idx)
    with pytest.raises(StoreError, match="no longer there"):
        bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert not idx.exists()


def test_listing_during_a_whole_rewrite_by_another_process_reads_the_new_index(tmp_path, tiny_encoder_path,
                                                                             capsys, monkeypatch):
    from index.store import IndexStore, StoreError
    from index.store.update import IndexUpdate

    idx = tmp_path / "idx"
    _index(idx, tiny_encoder_path, "第一篇。", "第二篇。")
    real_open = IndexUpdate._open_once.__func__
    calls = []

    def open_while_rewritten(cls, asked):
        calls.append(asked)
        if len(calls) == 1:   # the rewrite lands between reading the manifest and the segments
            store = IndexStore.load(idx)
            store.remove_documents(["d0"])
            store.save(idx)
            raise StoreError(f"{idx}: cannot read the index (unable to open database file); rebuild it")
        return real_open(cls, asked)

    monkeypatch.setattr(IndexUpdate, "_open_once", classmethod(open_while_rewritten))
    assert main(["index", "--index", str(idx), "--list"]) == 0
    assert "1 document(s)" in capsys.readouterr().out and len(calls) == 2


def test_an_index_an_older_normalizer_wrote_is_read_again_by_qa_index_and_by_the_bot(bot_over, tiny_encoder_path,
                                                                                       tmp_path, monkeypatch):
    """Through the paths users take (review 15b): `qa index` and the bot's (the UI's) add, not only
    IndexStore.add_documents. A save that reads nothing again keeps the index marked as the older version."""
    import json

    import index.store.local as local
    from index.documents import Document
    from index.store import MANIFEST
    from index.store.update import IndexUpdate

    idx, bot = bot_over
    seen: list[list[str]] = []
    real = local.prepare_documents
    monkeypatch.setattr(local, "prepare_documents", lambda docs, *a, **k: (seen.append([d.id for d in docs]),
                                                                          real(docs, *a, **k))[1])
    newer = local.NORMALIZER_VERSION + 1
    monkeypatch.setattr(local, "NORMALIZER_VERSION", newer)   # the code was upgraded
    version = lambda path: json.loads((path / MANIFEST).read_text(encoding="utf-8"))["normalizer_version"]

    # a removal reads nothing again: the index stays marked as the older version's
    other = tmp_path / "other"
    monkeypatch.setattr(local, "NORMALIZER_VERSION", newer - 1)
    _index(other, tiny_encoder_path, "甲。", "乙。")
    monkeypatch.setattr(local, "NORMALIZER_VERSION", newer)
    assert main(["index", "--index", str(other), "--remove", "d1"]) == 0
    assert version(other) == newer - 1

    # `qa index` with one file: every document is read again, and the index is marked current
    assert not isinstance(IndexUpdate.open(idx), IndexUpdate)   # loaded whole, to be read again
    (tmp_path / "new.txt").write_text("新公司成立于2020年。", encoding="utf-8")
    assert main(["index", "--index", str(idx), "--encoder", str(tiny_encoder_path), str(tmp_path / "new.txt")]) == 0
    assert sorted(seen[-1])[:2] == ["d0", "d1"] and len(seen[-1]) == 3 and version(idx) == newer

    # the bot's add (the UI's upload) over an older version's index reads its documents again too
    monkeypatch.setattr(local, "NORMALIZER_VERSION", newer + 1)
    bot.add_documents([Document("ui-1", "界面", "从界面上传的文件。", "upload:ui.txt")])
    assert {"d0", "d1", "ui-1"} <= set(seen[-1]) and version(idx) == newer + 1
