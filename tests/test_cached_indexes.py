"""The --corpus index cache stays bounded: least recently used entries go, busy or spared ones stay."""
from __future__ import annotations

import os

import pytest


def _entry(root, n: int, used_at: float):
    from index.cached_indexes import mark_used

    entry = root / f"{n:024x}"
    (entry / "segments").mkdir(parents=True)
    (entry / "manifest.json").write_text("{}")
    entry.with_name(entry.name + ".skipped.json").write_text("[]")
    mark_used(entry)
    marker = entry.with_name(entry.name + ".used")
    os.utime(marker, (used_at, used_at))
    return entry


def test_the_least_recently_used_entries_past_the_bound_are_removed_with_their_files(tmp_path):
    from index.cached_indexes import evict

    entries = [_entry(tmp_path, n, 1000.0 + n) for n in range(5)]   # entry 4 used last
    other = tmp_path / "not-an-entry"
    other.mkdir()
    removed = evict(tmp_path, keep=2, spare=entries[0])
    assert sorted(removed) == [entries[1], entries[2]]
    assert [e.exists() for e in entries] == [True, False, False, True, True]
    assert not entries[1].with_name(entries[1].name + ".skipped.json").exists()
    assert not entries[1].with_name(entries[1].name + ".used").exists()
    assert other.exists()


def test_an_entry_another_process_is_writing_is_left(tmp_path):
    from index.cached_indexes import evict
    from index.store.locking import index_write_lock

    old, new = _entry(tmp_path, 1, 1000.0), _entry(tmp_path, 2, 2000.0)
    with index_write_lock(old):
        assert evict(tmp_path, keep=1) == []
    assert old.exists() and new.exists()
    assert evict(tmp_path, keep=1) == [old]


def test_marks_left_without_their_entry_go_at_the_next_eviction_unless_it_is_being_written(tmp_path):
    from index.cached_indexes import evict, mark_used
    from index.store.locking import index_write_lock

    kept = _entry(tmp_path, 1, 1000.0)
    gone, building = tmp_path / f"{2:024x}", tmp_path / f"{3:024x}"
    mark_used(gone)   # evicted by another process just before: no marker is made for it
    assert not gone.with_name(gone.name + ".used").exists()
    for entry in (gone, building):   # markers left by a race, or written before the entry is put in place
        for suffix in (".used", ".skipped.json"):
            entry.with_name(entry.name + suffix).write_text("[]")
    with index_write_lock(building):
        assert evict(tmp_path, keep=4) == []
    assert not gone.with_name(gone.name + ".used").exists()
    assert not gone.with_name(gone.name + ".skipped.json").exists()
    assert building.with_name(building.name + ".used").exists()
    assert building.with_name(building.name + ".skipped.json").exists()
    assert kept.exists() and kept.with_name(kept.name + ".used").exists()
    assert kept.with_name(kept.name + ".skipped.json").exists()


def test_corpus_indexes_past_the_bound_are_evicted_and_rebuilt_when_asked_again(tmp_path, monkeypatch,
                                                                                 tiny_encoder_path, tiny_qa_model):
    import index.cached_indexes
    import qa.bot
    from qa.bot import QABot
    from qa.config import Config

    monkeypatch.setenv("ZHQA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(index.cached_indexes, "CACHED_INDEXES_KEPT", 1)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("星河公司的创始人是李明远。", encoding="utf-8")
    b.write_text("钉钉用户超6亿。", encoding="utf-8")
    config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model))
    entries = lambda: sorted(p.name for p in (tmp_path / "cache" / "indexes").iterdir() if p.is_dir())  # noqa: E731
    QABot.from_corpus([a], config)
    first = entries()
    monkeypatch.setattr(qa.bot, "_BOTS", {})
    QABot.from_corpus([b], config)
    assert len(entries()) == 1 and entries() != first
    monkeypatch.setattr(qa.bot, "_BOTS", {})
    bot = QABot.from_corpus([a], config)
    assert entries() == first and [i.source for i in bot.document_infos()] == [str(a)]


@pytest.mark.parametrize("name", ["0" * 23, "g" * 24, "0" * 24 + ".skipped.json"])
def test_only_cache_entries_are_counted(tmp_path, name):
    from index.cached_indexes import ENTRY_NAME

    assert not ENTRY_NAME.fullmatch(name)
