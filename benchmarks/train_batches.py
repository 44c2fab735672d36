"""Training step time with shuffled batches against batches grouped by length (``--group-by-length``).

Builds the windows of a sample of reader v3's training mix, then times training's own step (forward,
backward, clipping, optimizer: ``qa/training/step.py``) of the shipped reader on the same number of
batches from each order, alternating rounds in one process, and prints seconds a step, padded tokens a
step and the ratio.

    python benchmarks/train_batches.py --rounds 3 --steps 6
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MIX = ("news_mrc/news_mrc_train.json@300", "cail2019/cail2019_dev.json@240", "squad/squad1.1_train_en.json@400",
       "cmrc2018/cmrc2018_train.json@300", "drcd/DRCD_dev.json@120")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of each order")
    ap.add_argument("--steps", type=int, default=6, help="steps a round")
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    import torch

    from index.hardware import bf16_is_fast
    from qa.reader.loading import load_reader_model
    from qa.training.batches import batch_order, padded_tokens
    from qa.training.reader import TrainConfig, build_examples, build_features
    from qa.training.step import training_step

    cfg = TrainConfig(max_length=384, stride=128, batch_size=args.batch_size, code_switch=0.3, english_variants=0.1)
    examples = build_examples([str(DATA / spec) for spec in MIX], cfg, random.Random(0))
    model, tokenizer = load_reader_model(None)
    feats = build_features(examples, tokenizer, cfg, random.Random(0))
    lengths = [len(w.ids) for w in feats]
    steps = args.rounds * args.steps
    orders = {"shuffled": batch_order(lengths, args.batch_size, steps, 0),
              "grouped": batch_order(lengths, args.batch_size, steps, 0, group_by_length=True)}
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-7)
    bf16 = bf16_is_fast("cpu")
    pad = tokenizer.pad_token_id
    times: dict[str, list[float]] = {name: [] for name in orders}

    def step(batch: list[int]) -> None:   # training's own step (qa/training/step.py)
        training_step(model, optimizer, params, [feats[i] for i in batch], pad, "cpu")

    step(orders["shuffled"][0])   # warm-up: kernels chosen, memory allocated
    for r in range(args.rounds):
        for name, batches in (orders.items() if r % 2 == 0 else reversed(list(orders.items()))):
            for batch in batches[r * args.steps:(r + 1) * args.steps]:
                t0 = time.perf_counter()
                step(batch)
                times[name].append(time.perf_counter() - t0)
    print(f"{len(feats)} windows from {len(examples)} examples; {args.rounds} rounds of {args.steps} steps "
          f"of {args.batch_size}; {'bf16 autocast' if bf16 else 'fp32'}")
    for name, batches in orders.items():
        padded, real = padded_tokens(batches, lengths)
        print(f"{name:9s} {statistics.median(times[name]):6.2f} s a step (median; mean "
              f"{statistics.mean(times[name]):.2f}); padded/real tokens {padded / real:.3f}")
    ratio = statistics.mean(times["shuffled"]) / statistics.mean(times["grouped"])
    print(f"grouped by length: {ratio:.2f}x the steps a second of shuffled batches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
