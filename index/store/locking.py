"""One writer at a time on an index directory, across processes, and the index's generation.

Why: two ``qa index`` runs, or ``qa index`` next to a serving UI, each used to write their own copy
and the last one won, silently losing documents. Every write now holds an inter-process lock
(``filelock``: a lock file beside the directory, since the directory itself is replaced on save)
and starts from what is on disk; the manifest's ``generation`` tells a long-running reader that
another process changed the index.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from index.store.local import _readable_dir, complete_identity
from index.store.prepare import StoreError


class IndexBusy(StoreError):
    """Another process is writing the index and we were asked not to wait."""


def lock_path(index_dir: str | Path) -> Path:
    target = Path(index_dir).expanduser().resolve()
    return target.with_name(f".{target.name}.lock")


@contextmanager
def index_write_lock(index_dir: str | Path, wait: bool = True, timeout: float = -1,
                     on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the index's write lock; if another process holds it, wait (calling ``on_wait`` once)
    or, with ``wait=False``, raise :class:`IndexBusy`."""
    from filelock import FileLock, Timeout

    path = lock_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _check_lock_file(path)   # filelock takes a lock file it cannot create for a busy one, and retries forever
        if not wait:
            raise IndexBusy(f"{Path(index_dir)} is being written by another process; try again, or leave out "
                            "--no-wait to wait for it") from None
        if on_wait is not None:
            on_wait()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexBusy(f"{Path(index_dir)} stayed locked by another process for {timeout:.0f} s") from None
    try:
        yield
    finally:
        lock.release()


def _check_lock_file(path: Path) -> None:
    """Raise the OSError that creating the lock file gives when it is not there (the lock is then not held).

    Why: ``filelock`` reads a failure to create a lock file whose folder exists (``/proc/.foo.lock``:
    ENOENT) as another process having just removed it, so as busy: a wait never ended and ``--no-wait``
    blamed another process. A file beside it is created (and removed) instead of the lock file itself,
    which is never made or deleted outside ``filelock``."""
    if os.path.lexists(path):   # held, or just released: busy as filelock says
        return
    probe = path.with_name(f"{path.name}.{os.getpid()}.probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    probe.unlink(missing_ok=True)


def disk_identity(index_dir: str | Path) -> tuple[str | None, int, str | None] | None:
    """``(index id, generation, save id)`` of the complete index saved at ``index_dir`` (None: none there)."""
    return complete_identity(_readable_dir(Path(index_dir).expanduser()))
