"""The chat UI under load: many concurrent askers of its ``/ask`` endpoint, through gradio_client.

Starts the real UI (bundled article, shipped models) on a free local port, fires N askers at once,
each asking one question through its own ``gradio_client`` connection, and prints errors (e.g.
``Queue is full``), latency p50/p95 per asker and total questions/s. The same run also serves the
UI as it was before (one lock around every ``ask``, a queue of 64) as the baseline, so the figures
come as ratios measured in one process on one machine.

    python benchmarks/ui_load.py                     # 50 and 200 askers, baseline and current
    python benchmarks/ui_load.py --askers 200 --only current
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUESTIONS = ("2023财年阿里活跃的公益幸福团有多少个？", "钉钉用户超过多少？", "阿里巴巴带动平台生态减碳达到多少？",
             "菜鸟的绿色包裹有多少？", "How many users does DingTalk have?")
BASELINE_QUEUE = 64          # the UI's queue before this benchmark existed


class GlobalLockBot:
    """The bot as it was: every ``ask`` behind one lock (the baseline)."""

    def __init__(self, bot):
        self._bot, self._lock = bot, threading.Lock()

    def ask(self, *a, **k):
        with self._lock:
            return self._bot.ask(*a, **k)

    def __getattr__(self, name):
        return getattr(self._bot, name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_load(url: str, askers: int, timeout_s: float) -> dict:
    """``askers`` clients ask at once; per-asker latency from submit to answer."""
    from gradio_client import Client

    clients = []
    with ThreadPoolExecutor(min(32, askers)) as pool:   # connect first: connection time is not answer time
        clients = list(pool.map(lambda _: Client(url, verbose=False), range(askers)))
    start = threading.Barrier(askers)
    results: list[tuple[bool, float, str]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        q = QUESTIONS[i % len(QUESTIONS)]
        start.wait()
        t = time.perf_counter()
        try:
            answer = clients[i].predict(q, 5, "hybrid", api_name="/ask")
            ok, err = isinstance(answer, dict) and answer.get("question") == q, ""
        except Exception as exc:  # noqa: BLE001 - counted and reported
            ok, err = False, f"{type(exc).__name__}: {str(exc)[:60]}"
        with lock:
            results.append((ok, time.perf_counter() - t, err))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(askers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout_s)
    wall = time.perf_counter() - t0
    for c in clients:
        try:
            c.close()
        except Exception:  # noqa: BLE001
            pass
    lat = sorted(d for ok, d, _ in results if ok)
    errors: dict[str, int] = {}
    for ok, _, err in results:
        if not ok:
            errors[err or "wrong answer payload"] = errors.get(err or "wrong answer payload", 0) + 1
    answered = len(lat)
    return {"askers": askers, "answered": answered, "errors": askers - answered, "error_kinds": errors,
            "p50_s": statistics.median(lat) if lat else float("nan"),
            "p95_s": lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan"),
            "q_per_s": answered / wall if wall else 0.0, "wall_s": wall}


def serve(bot, baseline: bool):
    import ui.app as app

    port = _free_port()
    if baseline:
        saved = app.QUEUE_SIZE
        app.QUEUE_SIZE = BASELINE_QUEUE
        try:
            demo = app.start(GlobalLockBot(bot), host="127.0.0.1", port=port, block=False, quiet=True)
        finally:
            app.QUEUE_SIZE = saved
    else:
        demo = app.start(bot, host="127.0.0.1", port=port, block=False, quiet=True)
    return demo, f"http://127.0.0.1:{port}/"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--askers", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--only", choices=["baseline", "current"], help="run one configuration only")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for every asker")
    args = ap.parse_args()

    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from qa.config import Config
    from ui import build_bot

    bot = build_bot(config=Config.from_env())
    bot.ask(QUESTIONS[0])  # warm
    configs = [c for c in ("baseline", "current") if args.only in (None, c)]
    table: dict[tuple[str, int], dict] = {}
    for name in configs:
        demo, url = serve(bot, baseline=name == "baseline")
        try:
            for n in args.askers:
                r = run_load(url, n, args.timeout)
                table[(name, n)] = r
                print(f"{name:>8} {n:>4} askers: {r['errors']} errors {r['error_kinds'] or ''}  "
                      f"p50 {r['p50_s']:.2f} s  p95 {r['p95_s']:.2f} s  {r['q_per_s']:.2f} q/s", file=sys.stderr)
        finally:
            demo.close()
    print(f"\nUI load: /ask through gradio_client, bundled article, {os.cpu_count()} CPUs "
          f"(baseline: one lock around ask, queue {BASELINE_QUEUE})")
    print(f"{'config':<9} {'askers':>6} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'q/s':>6}  vs baseline (q/s)")
    for (name, n), r in table.items():
        base = table.get(("baseline", n))
        ratio = f"{r['q_per_s'] / base['q_per_s']:.2f}×" if base and base["q_per_s"] and name != "baseline" else ""
        print(f"{name:<9} {n:>6} {r['errors']:>6} {r['p50_s']:>7.2f} {r['p95_s']:>7.2f} {r['q_per_s']:>6.2f}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
