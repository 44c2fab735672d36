"""Reader throughput and latency on this machine: fp32 vs bf16 vs int8 dynamic quantization.

A ``+verifier`` suffix (e.g. ``bf16+verifier``) also runs the reader's answerability verifier.

Reads the first N CMRC2018 dev questions with their gold paragraph (reader only) and prints
windows/s, per-question latency p50/p95 and the CMRC2018 F1/EM each precision keeps.

    python benchmarks/reader.py --dev ../shared/data/cmrc2018/cmrc2018_dev.json --limit 100
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", default=str(Path(__file__).resolve().parents[2] / "shared/data/cmrc2018/cmrc2018_dev.json"))
    ap.add_argument("--reader", default="embedded")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--precisions", default="fp32,bf16,int8")
    ap.add_argument("--answer-types", action=argparse.BooleanOptionalAction, default=True,
                    help="drop spans of another measure than the question asks for, as the bot does (default: on)")
    args = ap.parse_args()

    import torch
    from tqdm import tqdm

    from index.readers.squad import load_squad
    from qa.evaluation.metrics import evaluate_predictions
    from qa.reader.extractive import ExtractiveReader

    data = load_squad(args.dev)
    ctx = {p.id: p.context for p in data.paragraphs}
    qs = [q for q in data.questions if q.answers][:args.limit]
    rows = []
    for prec in args.precisions.split(","):
        base, _, extra = prec.partition("+")
        reader = ExtractiveReader(args.reader, dtype="bfloat16" if base == "bf16" else "float32",
                                  verifier=extra == "verifier", answer_types=args.answer_types)
        if extra == "verifier" and reader.verifier is None:
            print(f"error: {args.reader} has no answerability verifier", file=sys.stderr)
            return 2
        if base == "int8":
            reader.model = torch.ao.quantization.quantize_dynamic(reader.model, {torch.nn.Linear}, dtype=torch.qint8)
        reader.read("预热", [ctx[qs[0].paragraph_id]])
        preds, lat, windows = {}, [], 0
        t_all = time.perf_counter()
        for q in tqdm(qs, desc=prec, file=sys.stderr):
            with reader._tokenizer_lock:  # shared with the encoder
                enc = reader.tokenizer(q.question, ctx[q.paragraph_id], truncation="only_second",
                                       max_length=reader.max_length, stride=reader.stride,
                                       return_overflowing_tokens=True)
            windows += len(enc["input_ids"])
            t = time.perf_counter()
            spans = reader.read(q.question, [ctx[q.paragraph_id]], top_n=1)
            lat.append((time.perf_counter() - t) * 1000)
            preds[q.id] = spans[0].text if spans else ""
        total = time.perf_counter() - t_all
        m = evaluate_predictions({q.id: list(q.answers) for q in qs}, preds)
        lat.sort()
        rows.append((prec, len(qs), windows / total, statistics.median(lat), lat[int(0.95 * (len(lat) - 1))],
                     m["f1"], m["em"]))
    print(f"\nreader: {args.reader}; {len(qs)} CMRC2018 dev questions with their gold paragraph; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'precision':<14} {'n':>5} {'windows/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'F1':>6} {'EM':>6}")
    for r in rows:
        print(f"{r[0]:<14} {r[1]:>5} {r[2]:>10.1f} {r[3]:>8.0f} {r[4]:>8.0f} {r[5]:>6.1f} {r[6]:>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
