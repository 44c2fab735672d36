"""Speed and memory, as ratios against the fp32 path measured in the same run.

- encoder: passages/s building the combined CMRC2018 dev + DRCD dev index, and dense/hybrid R@5 of
  the gold paragraph on it (first ``--questions`` questions of each set), fp32 vs bf16;
- reader: windows/s and F1 on ``--reader-questions`` CMRC2018 dev questions with their gold
  paragraph, fp32 vs bf16;
- ``ask()`` on the bundled article: warm p50/p95, the default path vs all-fp32;
- cold start: ``qa ask`` in a new process (models already converted in the cache);
- resident memory of a bot over the bundled article (a new process);
- throughput of 8 concurrent askers against one asker, and the CPU time an answer costs (its ceiling).

    python benchmarks/speed.py                  # about 15 minutes on 2 cores
    python benchmarks/speed.py --questions 300 --skip-index   # quicker, no index build
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RSS_SCRIPT = """
import resource, sys
sys.path.insert(0, {root!r})
from qa import QABot
bot = QABot.default()
bot.ask("2023财年阿里活跃的公益幸福团有多少个？")
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
print(f"{{rss:.0f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}}")
"""


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def encoder_rows(args) -> list[tuple]:
    from index.ingest import read_paths
    from index.readers.squad import load_squad
    from index_build import encoder_row   # benchmarks/index_build.py, beside this script

    docs = read_paths([args.cmrc, args.drcd]).documents
    questions = [q for path in (args.cmrc, args.drcd) for q in load_squad(path).questions[:args.questions]]
    return [encoder_row(docs, questions, dtype) for dtype in ("float32", "bfloat16")]


def reader_rows(args) -> list[tuple]:
    from index.readers.squad import load_squad
    from qa.evaluation.metrics import evaluate_predictions
    from qa.reader.extractive import ExtractiveReader

    data = load_squad(args.cmrc)
    ctx = {p.id: p.context for p in data.paragraphs}
    qs = [q for q in data.questions if q.answers][:args.reader_questions]
    rows = []
    for dtype in ("float32", "bfloat16"):
        reader = ExtractiveReader(dtype=dtype)
        reader.read("预热", [ctx[qs[0].paragraph_id]])
        windows, preds = 0, {}
        t = time.perf_counter()
        for q in qs:
            wp = reader.forward_windows(q.question, [ctx[q.paragraph_id]])
            windows += len(wp.p_start)
            spans = reader.select(q.question, wp, [ctx[q.paragraph_id]], top_n=1)
            preds[q.id] = spans[0].text if spans else ""
        dt = time.perf_counter() - t
        f1 = evaluate_predictions({q.id: list(q.answers) for q in qs}, preds)["f1"]
        rows.append((dtype, windows / dt, f1))
    return rows


def ask_latency(dtype: str, n: int) -> tuple[float, float, object]:
    from qa.bot import QABot
    from qa.cli import DEMO_QUESTIONS
    from qa.config import Config

    bot = QABot.default(Config(reader_dtype=dtype))
    qs = list(DEMO_QUESTIONS) * max(1, n // len(DEMO_QUESTIONS))
    bot.ask(qs[0])
    lat = []
    for q in qs:
        t = time.perf_counter()
        bot.ask(q)
        lat.append(1000 * (time.perf_counter() - t))
    return statistics.median(lat), pct(lat, 0.95), bot


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def concurrency(bot, n_threads: int, n_questions: int) -> tuple[float, float]:
    """Questions/s with ``n_threads`` askers, and the process's CPU seconds an answer (which bounds it:
    two cores give at most 2 / that many answers a second)."""
    from qa.cli import DEMO_QUESTIONS

    qs = (list(DEMO_QUESTIONS) * n_questions)[:n_questions]
    t, cpu = time.perf_counter(), cpu_seconds()
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(bot.ask, qs))
    return n_questions / (time.perf_counter() - t), (cpu_seconds() - cpu) / n_questions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cmrc", default=str(SHARED / "data/cmrc2018/cmrc2018_dev.json"))
    ap.add_argument("--drcd", default=str(SHARED / "data/drcd/DRCD_dev.json"))
    ap.add_argument("--questions", type=int, default=1000, help="questions per set for R@5")
    ap.add_argument("--reader-questions", type=int, default=200)
    ap.add_argument("--concurrency-rounds", type=int, default=5, help="alternating rounds of 1 and 8 askers")
    ap.add_argument("--latency-questions", type=int, default=40)
    ap.add_argument("--skip-index", action="store_true", help="skip the encoder rows (the index build)")
    args = ap.parse_args()
    if args.concurrency_rounds < 1:
        ap.error("--concurrency-rounds must be at least 1")

    from qa.cli import DEMO_QUESTIONS

    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "ask", DEMO_QUESTIONS[0]], check=True, capture_output=True, cwd=ROOT)
    cold = time.perf_counter() - t
    rss = subprocess.run([sys.executable, "-c", RSS_SCRIPT.format(root=str(ROOT))], check=True,
                         capture_output=True, text=True).stdout.split()
    enc = [] if args.skip_index else encoder_rows(args)
    rd = reader_rows(args)
    p50_32, p95_32, _ = ask_latency("float32", args.latency_questions)
    p50, p95, bot = ask_latency("auto", args.latency_questions)
    # alternating rounds: a shared CPU's speed drifts between two back-to-back measurements
    rounds = [(concurrency(bot, 1, 24), concurrency(bot, 8, 24)) for _ in range(args.concurrency_rounds)]
    one = statistics.median(r[0][0] for r in rounds)
    eight = statistics.median(r[1][0] for r in rounds)
    ratios = sorted(r[1][0] / r[0][0] for r in rounds)
    cpu_one = statistics.median(r[0][1] for r in rounds)
    cpu_eight = statistics.median(r[1][1] for r in rounds)

    from index.hardware import bf16_is_fast, resolve_dtype

    print(f"\nSpeed on this machine ({os.cpu_count()} CPUs; bf16 native: {bf16_is_fast()}; "
          f"auto reader precision: {resolve_dtype('auto')})")
    if enc:
        base = enc[0]
        print(f"\nencoder, combined CMRC2018 + DRCD dev index ({base[1]} passages; R@5 over "
              f"{args.questions} questions a set)")
        print(f"{'precision':<10} {'passages/s':>10} {'ratio':>6} {'dense R@5':>9} {'hybrid R@5':>10}")
        for dtype, _, pps, dense, hybrid in enc:
            print(f"{dtype:<10} {pps:>10.1f} {pps / base[2]:>5.2f}× {dense:>9.2f} {hybrid:>10.2f}")
    print(f"\nreader, {args.reader_questions} CMRC2018 dev questions with their paragraph")
    print(f"{'precision':<10} {'windows/s':>9} {'ratio':>6} {'F1':>6}")
    for dtype, wps, f1 in rd:
        print(f"{dtype:<10} {wps:>9.1f} {wps / rd[0][1]:>5.2f}× {f1:>6.2f}")
    print(f"\nask() on the bundled article, warm, {args.latency_questions} questions")
    print(f"  all fp32:        p50 {p50_32:.0f} ms  p95 {p95_32:.0f} ms")
    print(f"  default (auto):  p50 {p50:.0f} ms  p95 {p95:.0f} ms  ({p50_32 / p50:.2f}× faster at p50)")
    print(f"cold start (`qa ask` in a new process, models cached): {cold:.1f} s")
    print(f"resident memory, a bot over the bundled article: {rss[0]} MB (peak {rss[1]} MB)")
    print(f"throughput: 1 asker {one:.2f} q/s, 8 concurrent askers {eight:.2f} q/s (medians of {len(rounds)} "
          f"alternating rounds; 8 against 1 per round, sorted: {', '.join(f'{r:.2f}×' for r in ratios)})")
    cores = os.cpu_count() or 1
    print(f"CPU time an answer: 1 asker {1000 * cpu_one:.0f} ms ({cpu_one * one:.2f} cores busy), 8 askers "
          f"{1000 * cpu_eight:.0f} ms ({cpu_eight * eight:.2f} busy); at the 8 askers' cost {cores} cores answer "
          f"at most {cores / cpu_eight:.1f} q/s, {cores / cpu_eight / one:.2f}× one asker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
