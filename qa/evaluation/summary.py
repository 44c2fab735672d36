"""Summary figures of an evaluation run: EM/F1, abstention, no-answer accuracy, recall, latency.

Why: the runner, the terminal table and the HTML report all read one summary dict.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.evaluation.metrics import mrr_at_k, recall_at_k

RETRIEVAL_DEPTH = 10          # passages ranked per question for recall@k / MRR
RECALL_KS = (1, 5, 10)


@dataclass
class EvalResult:
    rows: list[dict]
    summary: dict
    interrupted: bool = False
    total: int = 0                        # questions selected (rows < total when interrupted)
    details_error: str | None = None      # why the details file stopped being written (the run went on)


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def mean_of(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def summarize(rows: list[dict], wall_s: float, retrieval: bool) -> dict:
    """The summary dict (its keys are listed in :mod:`qa.evaluation.runner`)."""
    n = len(rows)
    pct = lambda xs: round(100.0 * mean_of(xs), 3)  # noqa: E731
    s: dict[str, Any] = {"n": n}
    for key in ("em", "f1", "em_nospace", "f1_nospace"):
        s[key] = pct(r[key] for r in rows)
    s["em_best_span"] = pct(r["best_em"] for r in rows)
    s["f1_best_span"] = pct(r["best_f1"] for r in rows)
    s["answered"] = sum(1 for r in rows if not r["abstained"])
    s["abstained"] = n - s["answered"]
    unans = [r for r in rows if not r["answers"]]
    if unans:
        has = [r for r in rows if r["answers"]]
        s["n_unanswerable"] = len(unans)
        s["no_answer_accuracy"] = pct(1.0 if r["abstained"] else 0.0 for r in unans)
        # None, not 0, for a set of unanswerable questions only: nothing was measured
        s["has_answer_em"] = pct(r["em"] for r in has) if has else None
        s["has_answer_f1"] = pct(r["f1"] for r in has) if has else None
    ranks = [r["gold_rank"] for r in rows if r.get("gold_in_index")]
    if retrieval and ranks:
        s["n_retrieval"] = len(ranks)
        for k in RECALL_KS:
            s[f"recall@{k}"] = round(100.0 * recall_at_k(ranks, k), 3)
        s["mrr@10"] = round(mrr_at_k(ranks, 10), 4)
    lat = [r["latency_ms"] for r in rows]
    s["latency_ms_p50"] = round(_percentile(lat, 50), 2)
    s["latency_ms_p95"] = round(_percentile(lat, 95), 2)
    s["questions_per_s"] = round(n / wall_s, 3) if wall_s > 0 and n else 0.0
    return s
