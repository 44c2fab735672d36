"""How much should retrieval's order weigh when spans from several passages compete? An offline sweep.

    python benchmarks/rank_decay.py SETS --limit 400 --k 5 --spans DIR    # selection: first 400 a set
    python benchmarks/rank_decay.py SETS --skip 400 --k 5 --spans DIR     # check: the rest

Why: the reader's span scores are comparable across passages, but not enough to ignore where retrieval
put each passage (reading 5 passages scored below reading 3). The bot ranks a span from the r-th
passage (0 first) by score × decay**r (× the reader's span-length prior, when it has one;
``Config.rank_decay``). This runs the full pipeline once per question (each set's own paragraphs
indexed, the first ``--k`` passages read, every span kept), writes those spans to ``--spans DIR`` (read
back instead of answering again when they are there, for the same reader, encoder and retrieval
settings), then scores each decay for 3 passages read and for ``--k``, with the CMRC2018 F1 with
abstention, per set and on the mean. Choose on the visible evaluation sets only, and report every set.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DECAYS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)


def settings_key(config) -> str:
    """What the recorded spans depend on besides the set and the questions: reader, encoder, retrieval."""
    fields = (config.reader, config.encoder, config.mode, config.fusion, config.dense_weight,
              config.query_translation, config.chunk_size, config.chunk_overlap, config.threshold,
              config.reader_dtype, config.answer_types, config.max_answer_chars)
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:10]


def collect(path: str, config, skip: int, limit: int | None) -> list[dict]:
    """Per question: its answers, threshold and every span (passage rank, score, text, length-prior
    weight) over ``config.top_k`` passages."""
    from tqdm import tqdm

    from qa.evaluation.datasets import load_eval_set
    from qa.evaluation.runner import make_bot
    from qa.reading_context import reading_input

    eval_set = load_eval_set(path)
    bot = make_bot(eval_set, config, progress=False)
    prior = bot.reader.length_prior
    questions = eval_set.questions[skip:skip + limit if limit else None]
    rows = []
    for q in tqdm(questions, desc=eval_set.name, unit="q", file=sys.stderr):
        question = q.question.strip()   # as QABot.ask reads it
        chunks = [h.chunk for h in bot.retriever.retrieve(question, config.top_k)]
        read = reading_input(question, chunks, bot.retriever.reading_question, config.read_titles)   # as QABot.ask
        # every span, unweighted: the sweep below weighs them (spans of one passage do not depend on another's)
        spans = bot.reader.read_checked(read.question, read.texts, top_n=10_000, asked=question,
                                        answer_from=read.heads,
                                        scope=lambda i: bot.store.documents[chunks[i].doc_id].norm.text).kept
        rows.append({"id": q.id, "answers": list(q.answers), "threshold": bot.threshold_for(question),
                     "spans": [[s.passage, s.confidence, s.text, prior.weight(len(s.text))] for s in spans]})
    return rows


def f1_with_abstention(rows: list[dict], decay: float, read: int) -> float:
    """Mean F1 when the first ``read`` passages are read and spans ranked by score × prior × decay**rank."""
    from qa.evaluation.metrics import f1_score

    total = 0.0
    for row in rows:
        spans = [s for s in row["spans"] if s[0] < read]
        best = max(spans, key=lambda s: s[1] * s[3] * decay ** s[0], default=None)
        prediction = best[2] if best is not None and best[1] >= row["threshold"] else ""
        total += f1_score(prediction, row["answers"])
    return 100 * total / max(1, len(rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", help="SQuAD-style evaluation sets (their own paragraphs are the corpus)")
    ap.add_argument("--k", type=int, default=3, help="passages recorded (default 3); 3 and k are scored")
    ap.add_argument("--skip", type=int, default=0, help="leave out each set's first N questions")
    ap.add_argument("--limit", type=int, help="at most N questions a set (after --skip)")
    ap.add_argument("--decays", type=float, nargs="+", default=list(DECAYS))
    ap.add_argument("--spans", type=Path, required=True, help="folder for the recorded spans (one JSONL a set)")
    args = ap.parse_args()
    if args.k < 1:
        ap.error("--k must be at least 1")
    from qa.config import Config

    config = replace(Config.from_env(), top_k=args.k)
    args.spans.mkdir(parents=True, exist_ok=True)
    rows_of = {}
    for path in args.sets:
        cached = args.spans / (f"{Path(path).stem}.{settings_key(config)}.k{args.k}.skip{args.skip}"
                               f".limit{args.limit}.jsonl")
        if cached.exists():
            rows = [json.loads(line) for line in cached.read_text(encoding="utf-8").splitlines()]
        else:
            rows = collect(path, config, args.skip, args.limit)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            tmp.replace(cached)
        rows_of[Path(path).stem] = rows
    names = list(rows_of)
    for read in sorted({min(3, args.k), args.k}):
        print(f"\nF1 with abstention (CMRC2018 metric), {read} passages read; rows: rank decay")
        print(f"{'decay':>6} " + " ".join(f"{n[:14]:>14}" for n in names) + f" {'mean':>7}")
        print(f"{'n':>6} " + " ".join(f"{len(rows_of[n]):>14}" for n in names))
        for d in args.decays:
            scores = [f1_with_abstention(rows_of[n], d, read) for n in names]
            print(f"{d:>6g} " + " ".join(f"{s:>14.2f}" for s in scores) + f" {sum(scores) / len(scores):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
