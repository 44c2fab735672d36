"""Training batch order: shuffled epochs as before, and batches of windows of similar length."""
from __future__ import annotations

import random
from collections import Counter

from qa.training.batches import MEGABATCH, batch_order, padded_tokens


def lengths(n: int = 1000, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.choice([384, 384, rng.randint(60, 383)]) for _ in range(n)]


def test_the_default_order_is_the_seeded_shuffle_of_each_epoch_in_turn():
    lens = lengths(100)
    batches = batch_order(lens, 16, steps=20, seed=7)
    assert all(len(b) == 16 for b in batches) and len(batches) == 20
    flat = [i for b in batches for i in b]
    first = list(range(100))
    random.Random(7).shuffle(first)
    second = list(range(100))
    random.Random(8).shuffle(second)
    assert flat[:100] == first and flat[100:200] == second, "epoch k is the shuffle seeded with seed + k"


def test_grouping_keeps_every_window_of_each_stretch_and_pads_less():
    lens = lengths()
    plain = batch_order(lens, 16, steps=150, seed=3)
    grouped = batch_order(lens, 16, steps=150, seed=3, group_by_length=True)
    assert len(grouped) == len(plain)
    for m in range(0, 150, MEGABATCH):
        assert Counter(i for b in plain[m:m + MEGABATCH] for i in b) == \
            Counter(i for b in grouped[m:m + MEGABATCH] for i in b), "the same windows, in the same stretch"
    assert all(len(b) == 16 for b in grouped)
    spans = [max(lens[i] for i in b) - min(lens[i] for i in b) for b in grouped]
    assert sorted(spans)[len(spans) // 2] < 40, "most batches hold windows of about one length"
    padded_plain, real = padded_tokens(plain, lens)
    padded_grouped, real_grouped = padded_tokens(grouped, lens)
    assert real == real_grouped
    assert padded_grouped < 0.9 * padded_plain


def test_grouped_batches_come_in_shuffled_order_not_longest_first():
    lens = lengths()
    grouped = batch_order(lens, 16, steps=MEGABATCH, seed=5, group_by_length=True)
    longest = [max(lens[i] for i in b) for b in grouped]
    assert longest != sorted(longest, reverse=True)
    assert grouped == batch_order(lens, 16, steps=MEGABATCH, seed=5, group_by_length=True), "seeded"
