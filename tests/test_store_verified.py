"""An index's files are hashed once while they stay as verified; any change is hashed again."""
import os

import pytest

import index.store.verified as verified
from index.store import IndexStore, StoreError


def _count_hashes(monkeypatch) -> list:
    hashed = []
    real = verified.sha256_file
    monkeypatch.setattr(verified, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    return hashed


def _segment_file(path):
    return next(f for f in sorted(path.iterdir()) if f.name.startswith("seg-") and f.suffix == ".sqlite")


def test_a_second_open_hashes_nothing_and_a_changed_file_is_hashed_again(saved, monkeypatch):
    hashed = _count_hashes(monkeypatch)
    IndexStore.load(saved)
    assert hashed == [], "files hashed as they were written are not read again"
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(saved.parent / "other-cache"))   # another user's cache
    IndexStore.load(saved)
    assert hashed and all(name.startswith("seg-") for name in hashed), "a cache that knows nothing hashes all"
    hashed.clear()
    IndexStore.load(saved)
    assert hashed == [], "unchanged files are not read again"
    # a byte flipped and the time moved: hashed again, and refused
    seg = _segment_file(saved)
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="is corrupt"):
        IndexStore.load(saved)
    assert seg.name in hashed


def test_a_file_changed_in_place_with_its_old_time_is_caught_when_asked(saved, monkeypatch):
    IndexStore.load(saved)
    seg = _segment_file(saved)
    st = seg.stat()
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(seg, "r+b") as fh:   # same inode, same size
        fh.write(bytes(data))
    os.utime(seg, ns=(st.st_atime_ns, st.st_mtime_ns))
    IndexStore.load(saved)   # what the stamp cannot see: documented
    monkeypatch.setenv("ZHQA_VERIFY_INDEX", "always")
    with pytest.raises(StoreError, match="is corrupt"):
        IndexStore.load(saved)


def test_an_unwritable_cache_only_means_hashing_again(saved, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("ZHQA_CACHE_DIR", str(blocker / "cache"))
    hashed = _count_hashes(monkeypatch)
    for _ in range(2):
        IndexStore.load(saved)
    assert hashed and len(hashed) % 2 == 0 and hashed[:len(hashed) // 2] == hashed[len(hashed) // 2:]


def test_an_update_of_an_index_with_a_corrupt_file_is_refused_before_it_changes_anything(saved, tiny_encoder):
    """Adding or removing documents opens the index as a reader does: a segment whose bytes changed is
    refused by name, and the index is left as it was (an append used to keep the corrupt file, and
    a removal said how many it removed before failing)."""
    from index.store.update import IndexUpdate

    vectors = next(f for f in sorted(saved.iterdir()) if f.name.startswith("seg-") and f.suffix == ".npy")
    data = bytearray(vectors.read_bytes())
    data[-4:] = bytes(4 - i for i in range(4))   # the last vector's last float
    vectors.write_bytes(bytes(data))
    manifest = (saved / "manifest.json").read_text(encoding="utf-8")
    with pytest.raises(StoreError, match=f"{vectors.name} is corrupt"):
        IndexUpdate.open(saved)
    assert (saved / "manifest.json").read_text(encoding="utf-8") == manifest


def test_a_misspelt_verify_setting_is_refused(saved, monkeypatch):
    monkeypatch.setenv("ZHQA_VERIFY_INDEX", "allways")
    with pytest.raises(ValueError, match="ZHQA_VERIFY_INDEX must be 'always' or unset"):
        IndexStore.load(saved)
