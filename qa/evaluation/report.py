"""HTML report for ``qa eval --report DIR``: ``DIR/index.html`` plus PNG plots (matplotlib, Agg).

Why: a single F1 number hides where the bot fails. The report breaks results down by question
type, shows how confident right and wrong answers are, what a different abstention threshold
would buy, how often retrieval found the gold paragraph, and the worst misses with their passage.
Plot labels are English so no CJK font is needed; Chinese text stays in the HTML.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path
from typing import Any

from qa.evaluation.datasets import OTHER_TYPE, QUESTION_TYPES
from qa.evaluation.summary import RETRIEVAL_DEPTH, EvalResult, summarize

TYPE_ORDER = [name for name, _, _ in QUESTION_TYPES] + [OTHER_TYPE[0]]
TYPE_CUES = {name: cues for name, cues, _ in QUESTION_TYPES} | {OTHER_TYPE[0]: OTHER_TYPE[1]}
COLORS = {"em": "#4C72B0", "f1": "#55A868", "right": "#55A868", "wrong": "#C44E52", "unans": "#8172B2",
          "coverage": "#4C72B0", "overall": "#C44E52", "answered": "#55A868"}

METRIC_LABELS = [
    ("n", "questions", None),
    ("em", "EM (%)", "official CMRC2018 exact match"),
    ("f1", "F1 (%)", "official CMRC2018 F1 (longest common substring of character/word segments)"),
    ("em_nospace", "EM ignoring spaces (%)", "whitespace deleted from prediction and references first"),
    ("f1_nospace", "F1 ignoring spaces (%)", None),
    ("em_best_span", "EM never abstaining (%)", "best span always taken"),
    ("f1_best_span", "F1 never abstaining (%)", None),
    ("threshold", "abstention threshold", "best span score below it → no answer"),
    ("answered", "answered", None),
    ("abstained", "abstained", None),
    ("n_unanswerable", "unanswerable questions", None),
    ("no_answer_accuracy", "no-answer accuracy (%)", "unanswerable questions on which the bot abstained"),
    ("has_answer_em", "EM, answerable only (%)", None),
    ("has_answer_f1", "F1, answerable only (%)", None),
    ("n_retrieval", "questions with a known gold paragraph", None),
    ("recall@1", "recall@1 (%)", "gold paragraph among the first k retrieved passages"),
    ("recall@5", "recall@5 (%)", None),
    ("recall@10", "recall@10 (%)", None),
    ("mrr@10", "MRR@10", "mean reciprocal rank of the gold paragraph (0..1)"),
    ("latency_ms_p50", "latency p50 (ms)", None),
    ("latency_ms_p95", "latency p95 (ms)", None),
    ("questions_per_s", "questions / s", None),
]

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 24px auto;
       max-width: 1150px; color: #222; line-height: 1.45; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.sub { color: #666; font-size: 13px; }
.warn { background: #fff3cd; border: 1px solid #e0c36c; padding: 6px 10px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.plots figure { margin: 0; } .plots img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #555; }
mark.gold { background: #c8f0c8; } mark.pred { background: #ffd9a8; } mark.both { background: #b9e3ff; }
.passage { font-size: 12px; color: #333; min-width: 380px; }
td.q { min-width: 160px; } td.pr { min-width: 120px; }
.muted { color: #888; } .note { font-size: 12px; color: #555; }
"""


# ---------------------------------------------------------------- numbers behind the plots
def by_type(rows: list[dict]) -> list[dict]:
    out = []
    for t in TYPE_ORDER:
        rs = [r for r in rows if r.get("qtype") == t]
        if not rs:
            continue
        n = len(rs)
        out.append({"type": t, "cues": TYPE_CUES[t], "n": n, "em": 100 * sum(r["em"] for r in rs) / n,
                    "f1": 100 * sum(r["f1"] for r in rs) / n,
                    "abstained": 100 * sum(1 for r in rs if r["abstained"]) / n})
    return out


def threshold_sweep(rows: list[dict], thresholds) -> dict[str, list[float]]:
    """For each threshold: coverage, overall F1 (abstaining credited on unanswerable questions), F1 on answered."""
    cov, overall, answered_f1 = [], [], []
    n = len(rows) or 1
    for t in thresholds:
        tot = ans_n = ans_f1 = 0.0
        for r in rows:
            answers = bool(r["answers"])
            if r["best_span"] and r["score"] >= t:
                ans_n += 1
                ans_f1 += r["best_f1"] if answers else 0.0
                tot += r["best_f1"] if answers else 0.0
            else:
                tot += 0.0 if answers else 1.0
        cov.append(100 * ans_n / n)
        overall.append(100 * tot / n)
        answered_f1.append(100 * ans_f1 / ans_n if ans_n else float("nan"))
    return {"coverage": cov, "overall_f1": overall, "answered_f1": answered_f1}


def recall_curve(rows: list[dict], depth: int = RETRIEVAL_DEPTH) -> list[float] | None:
    ranked = [r for r in rows if "retrieved_doc_ids" in r and r.get("gold_doc_id") and r["answers"]
              and r.get("gold_in_index")]
    if not ranked:
        return None
    ranks = [r.get("gold_rank") for r in ranked]
    return [100 * sum(1 for x in ranks if x is not None and x <= k) / len(ranks) for k in range(1, depth + 1)]


# ---------------------------------------------------------------- plots
def _plots(out: Path, rows: list[dict], summary: dict) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    made: dict[str, str] = {}

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        made[name.removesuffix(".png")] = name

    types = by_type(rows)
    if types:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        x = np.arange(len(types))
        ax.bar(x - 0.2, [t["em"] for t in types], 0.4, label="EM", color=COLORS["em"])
        ax.bar(x + 0.2, [t["f1"] for t in types], 0.4, label="F1", color=COLORS["f1"])
        ax.set_xticks(x, [f"{t['type']}\n(n={t['n']})" for t in types], fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title("EM and F1 by question type")
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(axis="y", alpha=0.3)
        save(fig, "f1_by_type.png")

    scores = np.array([r["score"] for r in rows], dtype=float)
    thr = summary.get("threshold")
    hi = float(max(scores.max() if len(scores) else 0.0, thr or 0.0, 1e-3))
    top = 1.0 if hi > 0.5 else hi * 1.05
    # span scores are products of two probabilities; when most are tiny a log axis shows them
    positive = scores[scores > 0]
    log_x = len(positive) > 0 and float(np.median(scores)) < 0.02 * top
    lo = max(float(positive.min()) / 1.5, 1e-8) if log_x else 0.0
    bins = np.geomspace(lo, top, 25) if log_x else np.linspace(0, top, 21)
    groups = [("right (best span EM=1)", COLORS["right"],
               [r["score"] for r in rows if r["answers"] and r["best_em"] >= 1]),
              ("wrong (best span EM=0)", COLORS["wrong"],
               [r["score"] for r in rows if r["answers"] and r["best_em"] < 1]),
              ("unanswerable", COLORS["unans"], [r["score"] for r in rows if not r["answers"]])]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, color, vals in groups:
        if vals:
            ax.hist(np.clip(vals, lo, top), bins=bins, alpha=0.55, label=f"{label}, n={len(vals)}", color=color)
    if thr is not None:
        ax.axvline(thr, color="#333", ls="--", lw=1, label=f"threshold {thr:.3g}")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("best span score (p_start · p_end)" + (", log scale" if log_x else ""))
    ax.set_ylabel("questions")
    ax.set_title("Confidence of right and wrong answers")
    ax.legend(fontsize=8)
    save(fig, "score_hist.png")

    grid = np.geomspace(lo, top, 201) if log_x else np.linspace(0, top, 201)
    sw = threshold_sweep(rows, grid)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(grid, sw["coverage"], label="coverage (answered %)", color=COLORS["coverage"])
    ax.plot(grid, sw["answered_f1"], label="F1 on answered questions", color=COLORS["answered"])
    ax.plot(grid, sw["overall_f1"], label="overall F1 (abstaining counts)", color=COLORS["overall"])
    if thr is not None:
        ax.axvline(thr, color="#333", ls="--", lw=1, label=f"threshold {thr:.3g}")
    ax.set_ylim(0, 105)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("abstention threshold" + (", log scale" if log_x else ""))
    ax.set_ylabel("%")
    ax.set_title("Accuracy and coverage as the threshold moves")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    save(fig, "threshold.png")

    curve = recall_curve(rows)
    if curve is not None:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        ks = np.arange(1, len(curve) + 1)
        ax.plot(ks, curve, marker="o", color=COLORS["em"])
        for k, v in zip(ks, curve):
            if k in (1, 5, 10):
                ax.annotate(f"{v:.1f}", (k, v), textcoords="offset points", xytext=(0, -13 if v > 90 else 6),
                            ha="center", fontsize=8)
        ax.set_xticks(ks)
        ax.set_ylim(0, 105)
        ax.set_xlabel("k (retrieved passages)")
        ax.set_ylabel("recall@k (%)")
        ax.set_title("Gold paragraph among the first k passages")
        ax.grid(alpha=0.3)
        save(fig, "recall_at_k.png")
    return made


# ---------------------------------------------------------------- HTML
def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 and v != 0 else f"{v:.2f}"
    return _e(v)


def highlight(passage: str, golds: list[str], pred: str, context: int = 80, plain: int = 240) -> str:
    """Escaped passage with gold answers and the prediction marked; only windows around the marks are kept."""
    if not passage:
        return '<span class="muted">(no passage)</span>'
    flags = [0] * len(passage)
    for text, bit in [(g, 2) for g in golds] + [(pred, 1)]:
        pos = passage.find(text) if text else -1
        if pos >= 0:
            for i in range(pos, pos + len(text)):
                flags[i] |= bit
    marked = [i for i, f in enumerate(flags) if f]
    windows: list[list[int]] = []
    if not marked:
        windows = [[0, min(len(passage), plain)]]
    for i in marked:
        lo, hi = max(0, i - context), min(len(passage), i + 1 + context)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    cls = {1: "pred", 2: "gold", 3: "both"}
    out = []
    for w, (lo, hi) in enumerate(windows):
        out.append("…" if lo > 0 or w > 0 else "")
        i = lo
        while i < hi:
            j = i
            while j < hi and flags[j] == flags[i]:
                j += 1
            seg = _e(passage[i:j])
            out.append(f'<mark class="{cls[flags[i]]}">{seg}</mark>' if flags[i] else seg)
            i = j
    if windows[-1][1] < len(passage):
        out.append("…")
    text = "".join(out)
    if golds and not any(g and g in passage for g in golds):
        text += ' <span class="muted">(no gold answer in this passage)</span>'
    return text


def worst_misses(rows: list[dict], n: int = 15, false_answers: int = 5) -> list[dict]:
    """Answerable questions with the lowest F1 (confident misses first), then confident answers to unanswerable ones."""
    misses = sorted((r for r in rows if r["answers"] and r["f1"] < 1), key=lambda r: (r["f1"], -r["score"]))[:n]
    wrong_unans = sorted((r for r in rows if not r["answers"] and not r["abstained"]),
                         key=lambda r: -r["score"])[:false_answers]
    return misses + wrong_unans


def _miss_row(r: dict) -> str:
    if not r["abstained"]:
        pred = _e(r["prediction"])
    else:
        pred = '<span class="muted">(abstained)</span>'
        if r["best_span"]:
            pred += f"<br>best span: {_e(r['best_span'])}"
            if r["answers"] and r.get("best_em", 0) >= 1:
                pred += "<br><b>right, but below the threshold</b>"
    gold = " | ".join(_e(a) for a in dict.fromkeys(r["answers"])) or '<span class="muted">(unanswerable)</span>'
    rank = ""
    if "retrieved_doc_ids" in r and r.get("gold_doc_id") and r["answers"]:
        where = r["gold_rank"] if r.get("gold_rank") else f"&gt;{len(r['retrieved_doc_ids'])}"
        rank = f"<br><span class='muted'>gold rank: {where}</span>"
    return (f"<tr><td>{_e(r['id'])}<br><span class='muted'>{_e(r.get('qtype', ''))}</span></td>"
            f"<td class='q'>{_e(r['question'])}</td><td class='pr'>{pred}</td><td>{gold}</td>"
            f"<td class='num'>{r['f1'] * 100:.0f}</td><td class='num'>{r['score']:.3g}{rank}</td>"
            f"<td class='passage'>{highlight(r.get('passage') or '', list(r['answers']), r['best_span'])}</td></tr>")


def write_report(out_dir: str | Path, result: EvalResult, meta: dict | None = None) -> Path:
    """Write ``index.html`` and the PNG plots into ``out_dir``; return the HTML path."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    rows, summary = result.rows, result.summary
    plots = _plots(out, rows, summary) if rows else {}

    h: list[str] = ["<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>",
                    f"<title>qa eval · {_e(meta.get('set', ''))}</title><style>{CSS}</style></head><body>",
                    f"<h1>Evaluation: {_e(meta.get('set', 'question set'))}</h1>",
                    f"<div class='sub'>{_e(time.strftime('%Y-%m-%d %H:%M'))} · {_e(meta.get('corpus', ''))}</div>"]
    if result.interrupted:
        h.append(f"<p class='warn'>Interrupted: {len(rows)} of {result.total} questions were answered; "
                 "all figures cover those only.</p>")
    if not rows:
        h.append("<p class='warn'>No questions were evaluated.</p>")

    # metrics and configuration side by side
    h.append("<h2>Summary</h2><div class='cols'><table><tr><th>metric</th><th>value</th><th>meaning</th></tr>")
    for key, label, note in METRIC_LABELS:
        if key in summary:
            val = summary[key]
            if key == "threshold" and val is None:
                val = "off (best span always taken)"
            h.append(f"<tr><td>{_e(label)}</td><td class='num'>{_num(val)}</td>"
                     f"<td class='note'>{_e(note or '')}</td></tr>")
    h.append("</table><table><tr><th>setting</th><th>value</th></tr>")
    for key in ("dataset", "format", "corpus", "mode", "top_k", "rank_decay", "encoder", "reader", "chunk_size",
                "abstention"):
        if meta.get(key) is not None:
            h.append(f"<tr><td>{_e(key)}</td><td>{_num(meta[key])}</td></tr>")
    h.append("</table></div>")

    if rows:
        # threshold advice
        import numpy as np

        grid = np.unique(np.concatenate([[0.0], [r["score"] for r in rows]]))
        sw = threshold_sweep(rows, grid)
        best_i = int(np.argmax(sw["overall_f1"]))
        h.append(f"<p class='note'>On this set the overall F1 would peak at {sw['overall_f1'][best_i]:.2f} "
                 f"with threshold {grid[best_i]:.3g} (coverage {sw['coverage'][best_i]:.1f}%). Tuning the threshold on the set you "
                 "report is optimistic; use it to calibrate on a development set.</p>")

        h.append("<h2>By question type</h2><table><tr><th>type</th><th>cue words</th><th>n</th><th>EM</th>"
                 "<th>F1</th><th>abstained %</th></tr>")
        for t in by_type(rows):
            h.append(f"<tr><td>{_e(t['type'])}</td><td>{_e(t['cues'])}</td><td class='num'>{t['n']}</td>"
                     f"<td class='num'>{t['em']:.1f}</td><td class='num'>{t['f1']:.1f}</td>"
                     f"<td class='num'>{t['abstained']:.1f}</td></tr>")
        h.append("</table>")

        captions = {
            "f1_by_type": "EM and F1 per question type (first matching cue word decides the type).",
            "score_hist": "Best-span score of questions whose best span is right, wrong, or that have no answer. "
                          "Good calibration puts right answers to the right of the threshold, the rest to its left.",
            "threshold": "Raising the threshold answers fewer questions (coverage) more accurately. Overall F1 counts "
                         "an abstention as correct on unanswerable questions and wrong on answerable ones.",
            "recall_at_k": "How often the gold paragraph is among the first k retrieved passages "
                           "(the reader sees the first top-k).",
        }
        h.append("<h2>Plots</h2><div class='plots'>")
        for key in ("f1_by_type", "score_hist", "threshold", "recall_at_k"):
            if key in plots:
                h.append(f"<figure><img src='{_e(plots[key])}' alt='{_e(key)}'>"
                         f"<figcaption>{_e(captions[key])}</figcaption></figure>")
        h.append("</div>")

        misses = worst_misses(rows)
        h.append("<h2>Worst misses</h2><p class='note'>Lowest F1 first (most confident first among equals), "
                 "then confident answers to unanswerable questions. Passage: <mark class='gold'>gold answer</mark> "
                 "<mark class='pred'>prediction (best span)</mark> <mark class='both'>both</mark>.</p>")
        if misses:
            h.append("<table><tr><th>id</th><th>question</th><th>prediction</th><th>gold</th><th>F1</th>"
                     "<th>score</th><th>passage</th></tr>")
            h.extend(_miss_row(r) for r in misses)
            h.append("</table>")
        else:
            h.append("<p>None: every question was answered exactly.</p>")
    h.append("</body></html>")
    path = out / "index.html"
    path.write_text("\n".join(h), encoding="utf-8")
    return path


def load_details(path: str | Path) -> list[dict]:
    """Rows from a ``--details`` JSON-lines file."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    return rows


def main(argv: list[str] | None = None) -> int:
    """Re-render a report from a details file: ``python -m qa.evaluation.report DETAILS.jsonl OUT_DIR``."""
    ap = argparse.ArgumentParser(prog="python -m qa.evaluation.report", description=main.__doc__)
    ap.add_argument("details", help="a JSON-lines file written by qa eval --details")
    ap.add_argument("out", help="report folder")
    ap.add_argument("--threshold", type=float, help="the threshold used (for the plots' marker)")
    args = ap.parse_args(argv)
    try:
        rows = load_details(args.details)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    wall = sum(r.get("latency_ms", 0.0) for r in rows) / 1000
    summary = summarize(rows, wall, retrieval=any("retrieved_doc_ids" in r for r in rows))
    summary["threshold"] = args.threshold
    path = write_report(args.out, EvalResult(rows, summary, False, len(rows)),
                        {"set": Path(args.details).name, "corpus": f"re-rendered from {args.details}"})
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
