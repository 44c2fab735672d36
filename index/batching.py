"""Questions embedded at the same time, run through the encoder together.

Why: a question is a few dozen tokens, and the encoder's forward pass costs nearly as much for one
as for eight (each layer's fixed costs are paid once a batch). Concurrent askers therefore hand
their inputs to one worker thread, which runs whatever is waiting as one padded batch; a lone asker
waits for nothing but the hand-over. Used by index/mean_pool_encoder.py.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


_running = 0                      # forward passes in progress in any batcher's worker (see forward_passes_running)
_running_lock = threading.Lock()


def forward_passes_running() -> int:
    """How many workers are inside a forward pass now. A process that exits meanwhile (Ctrl-C) must end at
    once (``os._exit``): torch's thread pool, torn down under a running pass, aborts it with status 134."""
    return _running


@dataclass
class _Request:
    input_ids: object          # [rows, length] long tensor
    attention_mask: object
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple | None = None
    error: BaseException | None = None


class ForwardBatcher:
    """``batcher(input_ids, attention_mask)`` → ``run``'s outputs for those rows, where ``run`` is
    called on the rows of every request waiting at the time (up to ``max_rows``, more for a single
    larger request), padded to the longest with ``pad_id`` and a zero mask, from one worker thread.
    ``run(ids, mask)`` returns a tuple of tensors whose first dimension is the rows; a per-token
    output comes back as long as the longest request of its batch (the caller keeps its own length)."""

    def __init__(self, run: Callable, pad_id: int, max_rows: int = 16):
        self._run = run
        self._pad_id = pad_id
        self.max_rows = max_rows
        self._queue: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._pid = os.getpid()
        self.batches = 0   # forward passes run, for tests and benchmarks
        self.requests = 0

    def __call__(self, input_ids, attention_mask) -> tuple:
        request = _Request(input_ids, attention_mask)
        with self._cond:
            if self._worker is None or self._pid != os.getpid() or not self._worker.is_alive():
                if self._pid != os.getpid():   # a forked child: no worker, and the parent's callers are not here
                    self._pid = os.getpid()
                    self._queue.clear()
                self._worker = threading.Thread(target=self._serve, name="zhqa-forward-batcher", daemon=True)
                self._worker.start()
            self._queue.append(request)
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _take(self) -> list[_Request]:
        with self._cond:
            while not self._queue:
                self._cond.wait()
            taken = [self._queue.popleft()]
            rows = len(taken[0].input_ids)
            while self._queue and rows + len(self._queue[0].input_ids) <= self.max_rows:
                rows += len(self._queue[0].input_ids)
                taken.append(self._queue.popleft())
            return taken

    def _serve(self) -> None:
        global _running
        while True:
            taken = self._take()
            try:
                with _running_lock:
                    _running += 1
                try:
                    outputs = self._run_together(taken)
                finally:
                    with _running_lock:
                        _running -= 1
                results, start = [], 0
                for request in taken:
                    rows = request.input_ids.shape[0]
                    results.append(tuple(out[start:start + rows] for out in outputs))
                    start += rows
                for request, result in zip(taken, results):
                    request.result = result
            except BaseException as exc:   # every waiting caller gets the error, the worker goes on
                for request in taken:
                    request.error = exc
            finally:
                for request in taken:
                    request.done.set()

    def _run_together(self, taken: list[_Request]) -> tuple:
        import torch

        self.batches += 1
        self.requests += len(taken)
        if len(taken) == 1:
            return self._run(taken[0].input_ids, taken[0].attention_mask)
        length = max(r.input_ids.shape[1] for r in taken)

        def padded(tensor, value):
            return torch.nn.functional.pad(tensor, (0, length - tensor.shape[1]), value=value)

        ids = torch.cat([padded(r.input_ids, self._pad_id) for r in taken])
        mask = torch.cat([padded(r.attention_mask, 0) for r in taken])
        return self._run(ids, mask)
