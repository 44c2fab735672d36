"""Concurrent callers' inputs run as one batch, each caller getting back its own rows."""
import threading

import pytest
import torch

from index.batching import ForwardBatcher


class _Model:
    """Row-wise outputs, so a row's result does not depend on what it was batched with; the first call
    waits until the test lets it go, so that the other requests queue up meanwhile."""

    def __init__(self):
        self.release = threading.Event()
        self.calls: list[int] = []

    def __call__(self, ids, mask):
        if not self.calls:
            self.release.wait(10)
        self.calls.append(ids.shape[0])
        if (ids == 666).any():
            raise ValueError("bad row")
        return (ids.float() * mask, (ids + 1).float() * mask)


def _request(rows: int, length: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 100, (rows, length), generator=g)
    mask = torch.ones_like(ids)
    mask[:, length - 2:] = 0
    return ids, mask


def test_waiting_requests_share_a_batch_and_get_their_own_rows():
    model = _Model()
    batcher = ForwardBatcher(model, pad_id=0, max_rows=12)
    requests = [_request(5, 7, 0)] + [_request(3, 4 + i, i + 1) for i in range(6)]
    results = [None] * len(requests)

    def ask(i):
        results[i] = batcher(*requests[i])

    threads = [threading.Thread(target=ask, args=(0,))]
    threads[0].start()
    while batcher.requests == 0:   # the first request is in the model, holding it
        threading.Event().wait(0.01)
    threads += [threading.Thread(target=ask, args=(i,)) for i in range(1, len(requests))]
    for t in threads[1:]:
        t.start()
    while len(batcher._queue) < len(requests) - 1:
        threading.Event().wait(0.01)
    model.release.set()
    for t in threads:
        t.join(10)
    assert model.calls == [5, 12, 6], "the six waiting requests ran as two batches of at most 12 rows"
    for (ids, mask), (start, end) in zip(requests, results):
        length = ids.shape[1]
        assert start.shape[0] == ids.shape[0] and torch.equal(start[:, :length], ids.float() * mask)
        assert torch.equal(end[:, :length], (ids + 1).float() * mask)
        assert not start[:, length:].any(), "rows padded for a longer request are masked"


def test_an_error_reaches_the_asker_and_the_worker_goes_on():
    model = _Model()
    model.release.set()
    batcher = ForwardBatcher(model, pad_id=0)
    ids, mask = _request(2, 5, 0)
    with pytest.raises(ValueError, match="bad row"):
        batcher(torch.full_like(ids, 666), mask)
    start, _ = batcher(ids, mask)
    assert torch.equal(start, ids.float() * mask)


def test_outputs_that_cannot_be_handed_back_are_an_error_not_a_hang():
    batcher = ForwardBatcher(lambda ids, mask: None, pad_id=0)
    ids, mask = _request(2, 5, 0)
    for _ in range(2):   # and the worker still serves the next caller
        with pytest.raises(TypeError):
            batcher(ids, mask)
