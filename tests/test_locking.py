"""The bot's readers-writer lock: readers overlap, a writer is alone, a waiting writer is not starved."""
from __future__ import annotations

import threading
import time

from qa.locking import ReadWriteLock


def test_readers_overlap():
    lock, inside, peak, guard = ReadWriteLock(), [0], [0], threading.Lock()
    barrier = threading.Barrier(4)

    def reader():
        with lock.read():
            with guard:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            barrier.wait(timeout=5)          # all four must be inside at once, or this times out
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 4


def test_writer_excludes_readers_and_waits_for_them():
    lock, log = ReadWriteLock(), []
    reading = threading.Event()
    release = threading.Event()

    def reader():
        with lock.read():
            reading.set()
            release.wait(5)
            log.append("read done")

    def writer():
        with lock.write():
            log.append("write")

    r = threading.Thread(target=reader)
    r.start()
    reading.wait(5)
    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.1)
    assert log == []                          # the writer waits for the reader in flight
    def late_reader():
        with lock.read():
            log.append("late read")

    late = threading.Thread(target=late_reader)
    late.start()
    time.sleep(0.1)
    assert log == []                          # a reader arriving after a waiting writer queues behind it
    release.set()
    for t in (r, w, late):
        t.join(5)
    assert log == ["read done", "write", "late read"]


def test_writer_may_reenter_and_read():
    lock = ReadWriteLock()
    with lock.write():
        with lock.write():
            with lock.read():
                pass
    with lock.read():                         # released fully
        pass


def test_building_models_without_weight_init_from_two_threads_leaves_torch_init_working():
    import torch

    from index.e5_convert import without_weight_init

    original = torch.nn.init.normal_
    inside = threading.Barrier(2, timeout=5)
    errors = []

    def build():
        try:
            with without_weight_init():
                torch.nn.Linear(8, 8)
            inside.wait()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert torch.nn.init.normal_ is original
    torch.manual_seed(0)
    w = torch.nn.Linear(64, 64).weight.detach()
    assert torch.isfinite(w).all() and 0 < float(w.abs().max()) < 1     # really initialised
