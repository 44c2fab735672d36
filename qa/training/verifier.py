"""Train the answerability verifier (:mod:`qa.reader.verifier`) on the frozen reader's states.

Why: the reader learned to abstain on unrelated passages, not on passages about the right thing that
lack the asked fact. Each training question gives single-paragraph cases, read by the shipped reader
as at answer time:

- ``gold``: its own paragraph; the window holding the answer is answerable, and now and then
  another window of it (``gold-other``) is not;
- ``cut``: its own paragraph with the sentences holding the answer removed (same topic, same
  entities and numbers, no answer: the case the reader gets wrong);
- ``bm25``: the BM25-closest other paragraph without the answer;
- ``real``: a question the data set itself marks unanswerable over its paragraph (CAIL2019's court
  judgments hold 1,420 such questions): the only negatives a person wrote, not made here;
- ``swap``: its own paragraph, but one noun of the question that the paragraph contains is replaced
  by a noun of another question that it does not contain (「…公益幸福团有多少个？」 →
  「…营业收入有多少个？」): the passage still matches everything else the question says.

A share of the questions is also asked with English question words (「有多少个」 → "how many"),
answerable and not alike, so that mixed-language questions are not taken for unanswerable ones.
For the negatives the window with the highest max p(start) · max p(end) is kept (where the reader's
most confident span lies).

``states`` stores, per window, the reader's states entering its last layers (fp16 ``.npz`` shards,
no pickle; a stopped run resumes at the next shard). ``fit`` trains a copy of those layers plus a
[CLS] head, keeps the epoch with the best held-out AUC and writes ``verifier.safetensors`` beside
the reader.

    python -m qa.training.verifier states --data ../shared/data/cmrc2018/cmrc2018_train.json \
        --data ../shared/data/drcd/DRCD_dev.json --per-file 3000 --out runs/verifier/train
    python -m qa.training.verifier states --data ../shared/data/cmrc2018/cmrc2018_dev.json \
        --per-file 400 --out runs/verifier/dev
    python -m qa.training.verifier fit --states runs/verifier/train --eval runs/verifier/dev
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.hardware import DTYPES, bf16_is_fast
from index.readers.squad import load_squad, locate_answer
from qa.training.negatives import (ENGLISH_FORMS, cut_answer_sentences, english_question, question_nouns,
                          swap_question)
from qa.reader.loading import EMBEDDED_READER_NAME
from qa.reader.verifier import Verifier, reader_fingerprint

KINDS = ("gold", "gold-other", "cut", "bm25", "swap", "real")
BUILT_KINDS = ("gold", "cut", "bm25", "swap", "real")


@dataclass(frozen=True)
class VerifierExample:
    question_id: str
    question: str
    context: str
    kind: str                 # gold | cut | bm25 | swap | real
    answer: str = ""          # gold: the answer text
    answer_start: int = -1    # gold: its character offset in ``context``


def build_examples(path: str, limit: int, rng: random.Random, bm25_depth: int = 8,
                   english_share: float = 0.2, kinds: tuple[str, ...] = BUILT_KINDS,
                   english_forms: tuple[str, ...] = ENGLISH_FORMS, english_only: bool = False
                   ) -> list[VerifierExample]:
    """Up to ``limit`` answerable questions of ``path`` (a random sample), each as gold / cut / bm25 / swap
    cases, plus (kind ``real``) up to ``limit`` of the questions the set marks unanswerable."""
    from index.bm25 import BM25Index, tokenize

    data = load_squad(path)
    contexts = {p.id: p.context for p in data.paragraphs}
    ids = list(contexts)
    questions = [q for q in data.questions if q.answers and not q.is_impossible]
    rng.shuffle(questions)
    questions = questions[:limit]
    unanswerable = [q for q in data.questions if q.is_impossible] if "real" in kinds else []
    rng.shuffle(unanswerable)
    unanswerable = unanswerable[:limit]
    bm25 = BM25Index([tokenize(contexts[i]) for i in ids])
    pool = sorted({w for q in questions for w in question_nouns(q.question)}) if "swap" in kinds else []
    out: list[VerifierExample] = []
    for q in questions:
        gold = contexts[q.paragraph_id]
        asks = [] if english_only else [q.question]
        english = english_question(q.question, rng.choice(english_forms))
        if english and rng.random() < english_share:
            asks.append(english)
        start = locate_answer(gold, q.answers[0], q.answer_starts[0] if q.answer_starts else -1)
        cut = cut_answer_sentences(gold, q.answers, q.answer_starts)
        other = next((contexts[ids[r]] for r, _ in bm25.search(tokenize(q.question), bm25_depth)
                      if ids[r] != q.paragraph_id and not any(a in contexts[ids[r]] for a in q.answers)), None)
        swapped = swap_question(q.question, gold, q.answers, pool, rng) if pool else None
        for ask in asks:
            qid = q.id if ask == q.question else f"{q.id}#en"
            if start >= 0 and "gold" in kinds:
                out.append(VerifierExample(qid, ask, gold, "gold", q.answers[0], start))
            if cut and "cut" in kinds:
                out.append(VerifierExample(qid, ask, cut, "cut"))
            if other and "bm25" in kinds:
                out.append(VerifierExample(qid, ask, other, "bm25"))
        if swapped and not english_only:
            out.append(VerifierExample(f"{q.id}#swap", swapped, gold, "swap"))
    for q in unanswerable:
        english = english_question(q.question, rng.choice(english_forms))
        asks = ([] if english_only else [q.question]) + ([english] if english and rng.random() < english_share else [])
        for ask in asks:
            qid = q.id if ask == q.question else f"{q.id}#en"
            out.append(VerifierExample(qid, ask, contexts[q.paragraph_id], "real"))
    return out


@dataclass
class WindowSet:
    """Verifier training windows: the states entering the reader's last layers, with labels."""

    states: list[np.ndarray]   # each [length, hidden], float16
    labels: np.ndarray         # 1 = the window answers the question
    kinds: np.ndarray
    qids: np.ndarray
    layers: int | None = None    # the reader layers the states enter (None: not recorded)
    reader_sha256: str = ""      # the reader that made them ("" : not recorded)

    def __len__(self) -> int:
        return len(self.states)


def select_windows(reader, ex: VerifierExample, n_layers: int, rng: random.Random, other_keep: float = 0.3):
    """(states, label, kind) of the windows of ``ex`` that train the verifier."""
    wp = reader.forward_windows(ex.question, [ex.context], states_layers=n_layers)
    enc = wp.encoding
    picked = []
    if ex.kind == "gold":
        a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer)
        inside = []
        for w in range(len(wp.states)):
            ctx = [o for o, s in zip(enc["offset_mapping"][w].tolist(), enc.sequence_ids(w)) if s == 1]
            inside.append(bool(ctx) and ctx[0][0] <= a0 and a1 <= ctx[-1][1])
        answer_windows = [w for w, ok in enumerate(inside) if ok]
        if not answer_windows:
            return []
        picked.append((answer_windows[0], 1, "gold"))
        others = [w for w, ok in enumerate(inside) if not ok]
        if others and rng.random() < other_keep:
            picked.append((rng.choice(others), 0, "gold-other"))
    else:
        best = [float(np.max(wp.p_start[w, 1:]) * np.max(wp.p_end[w, 1:])) for w in range(len(wp.states))]
        picked.append((int(np.argmax(best)), 0, ex.kind))
    return [(wp.states[w].astype(np.float16), label, kind) for w, label, kind in picked]


def store_states(examples: list[VerifierExample], reader, n_layers: int, out_dir: Path, seed: int,
                 shard_size: int = 400, reader_sha256: str = "") -> None:
    """Windows of every example into ``out_dir/shard-NNNN.npz`` (existing shards are kept). Each shard
    also records the layer count, the reader's fingerprint and the precision that made it."""
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    shards = [examples[i:i + shard_size] for i in range(0, len(examples), shard_size)]
    for n, shard in enumerate(tqdm(shards, desc=f"verifier states {out_dir.name}", file=sys.stderr)):
        target = out_dir / f"shard-{n:04d}.npz"
        if target.exists():
            continue
        rng = random.Random(seed * 100_003 + n)
        states, labels, kinds, qids = [], [], [], []
        for ex in shard:
            for st, label, kind in select_windows(reader, ex, n_layers, rng):
                states.append(st)
                labels.append(label)
                kinds.append(kind)
                qids.append(ex.question_id)
        hidden = reader.model.config.hidden_size
        tmp = out_dir / f"shard-{n:04d}.tmp.npz"
        np.savez(tmp, states=np.concatenate(states) if states else np.zeros((0, hidden), np.float16),
                 lengths=np.array([len(s) for s in states], dtype=np.int64), labels=np.array(labels, dtype=np.int8),
                 kinds=np.array(kinds, dtype=str), qids=np.array(qids, dtype=str), layers=np.array(n_layers),
                 reader_sha256=np.array(reader_sha256), dtype=np.array(str(reader.dtype).replace("torch.", "")))
        tmp.replace(target)


def load_windows(folder: str | Path) -> WindowSet:
    """All shards under ``folder`` (a shard folder, or a folder of them)."""
    root = Path(folder)
    files = sorted(root.glob("shard-*.npz")) or sorted(root.glob("*/shard-*.npz"))
    files = [f for f in files if not f.name.endswith(".tmp.npz")]
    if not files:
        raise FileNotFoundError(f"no verifier window shards in {folder}")
    states, labels, kinds, qids, made_by = [], [], [], [], set()
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            if "layers" in z:
                made_by.add((int(z["layers"]), str(z["reader_sha256"])))
            if len(z["lengths"]) == 0:
                continue
            bounds = np.cumsum(z["lengths"])[:-1]
            states.extend(np.split(z["states"], bounds))
            labels.append(z["labels"])
            kinds.append(z["kinds"])
            qids.append(z["qids"])
    if len(made_by) > 1:
        raise ValueError(f"{folder}: shards made with different layer counts or readers: {sorted(made_by)}")
    if not states:
        raise FileNotFoundError(f"no verifier windows in {folder}")
    layers, sha = made_by.pop() if made_by else (None, "")
    return WindowSet(states, np.concatenate(labels), np.concatenate(kinds), np.concatenate(qids), layers, sha)


def _batches(ws: WindowSet, batch_size: int, rng: random.Random | None):
    """Index batches of similar length (less padding); shuffled when ``rng`` is given."""
    order = sorted(range(len(ws)), key=lambda i: len(ws.states[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _pad(ws: WindowSet, idx: list[int]):
    import torch

    length = max(len(ws.states[i]) for i in idx)
    hidden = ws.states[idx[0]].shape[1]
    x = torch.zeros(len(idx), length, hidden)
    mask = torch.zeros(len(idx), length, dtype=torch.long)
    for row, i in enumerate(idx):
        n = len(ws.states[i])
        x[row, :n] = torch.from_numpy(ws.states[i].astype(np.float32))
        mask[row, :n] = 1
    return x, mask


def predict(verifier: Verifier, ws: WindowSet, batch_size: int = 64) -> np.ndarray:
    """P(answerable) for every window of ``ws``."""
    import torch

    verifier.eval()
    out = np.zeros(len(ws), dtype=np.float32)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_is_fast("cpu")):
        for idx in _batches(ws, batch_size, None):
            x, mask = _pad(ws, idx)
            out[idx] = torch.sigmoid(verifier(x, mask).float()).numpy()
    return out


def report(ws: WindowSet, p: np.ndarray) -> dict:
    """AUC of P(answerable) and its mean per kind."""
    from sklearn.metrics import roc_auc_score

    both = len(set(ws.labels.tolist())) == 2
    out = {"windows": int(len(ws)), "auc": round(float(roc_auc_score(ws.labels, p)), 4) if both else None}
    for kind in KINDS:
        m = ws.kinds == kind
        if m.any():
            out[f"mean_p_{kind}"] = round(float(p[m].mean()), 4)
    english = np.char.endswith(ws.qids.astype(str), "#en")
    if english.any() and len(set(ws.labels[english])) == 2:
        out["auc_english"] = round(float(roc_auc_score(ws.labels[english], p[english])), 4)
    return out


def fit(train: WindowSet, held: WindowSet | None, verifier: Verifier, epochs: int = 2, batch_size: int = 32,
        lr: float = 3e-5, head_lr: float = 1e-3, seed: int = 13, log=None) -> dict:
    """Train ``verifier`` (AdamW, linear decay; bf16 autocast where the CPU runs bf16 natively); keep the epoch
    with the best held-out AUC."""
    import copy

    import torch
    from tqdm import tqdm

    rng = random.Random(seed)
    torch.manual_seed(seed)
    bf16 = bf16_is_fast("cpu")
    pos = float(train.labels.mean())
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - pos) / max(pos, 1e-6)))
    optimizer = torch.optim.AdamW([{"params": verifier.layers.parameters(), "lr": lr},
                                   {"params": verifier.head.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = epochs * math.ceil(len(train) / batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / max(steps, 1)))
    history, best, best_state = [], -1.0, None
    for epoch in range(epochs):
        verifier.train()
        t0, total = time.perf_counter(), 0.0
        batches = _batches(train, batch_size, rng)
        for idx in tqdm(batches, desc=f"verifier epoch {epoch + 1}/{epochs}", file=sys.stderr, mininterval=10):
            x, mask = _pad(train, idx)
            y = torch.from_numpy(train.labels[idx].astype(np.float32))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = verifier(x, mask).float()
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(verifier.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        entry = {"epoch": epoch + 1, "loss": round(total / len(train), 4), "seconds": round(time.perf_counter() - t0)}
        if held is not None:
            entry["held_out"] = report(held, predict(verifier, held))
        history.append(entry)
        if log:
            log(entry)
        score = entry.get("held_out", {}).get("auc") or epoch
        if score > best:
            best, best_state = score, copy.deepcopy(verifier.state_dict())
    verifier.load_state_dict(best_state)
    return {"history": history, "best_epoch": int(np.argmax([h.get("held_out", {}).get("auc") or i
                                                            for i, h in enumerate(history)])) + 1}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the reader's answerability verifier.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("states", help="read gold / answer-cut / BM25 / noun-swap cases, store the verifier's input states")
    f.add_argument("--data", action="append", required=True, help="SQuAD-style JSON (repeatable)")
    f.add_argument("--per-file", type=int, default=3000, help="questions sampled per file")
    f.add_argument("--layers", type=int, default=2, help="reader layers the verifier re-trains (1 to 12)")
    f.add_argument("--english-share", type=float, default=0.2, help="questions also asked with English question words")
    f.add_argument("--kinds", default=",".join(BUILT_KINDS), help="which cases to build (comma-separated)")
    f.add_argument("--english-forms", default=",".join(ENGLISH_FORMS), help="forms of the English variants")
    f.add_argument("--english-only", action="store_true", help="build only the English variants")
    f.add_argument("--reader", default=EMBEDDED_READER_NAME)
    f.add_argument("--dtype", default="auto", choices=DTYPES,
                   help="reader precision (auto: bfloat16 where the CPU runs it natively, else float32)")
    f.add_argument("--seed", type=int, default=13)
    f.add_argument("--out", required=True)
    t = sub.add_parser("fit", help="train the verifier on stored states and save it beside the reader")
    t.add_argument("--states", required=True, help="state folder written by 'states'")
    t.add_argument("--eval", help="held-out state folder: AUC per epoch, best epoch kept")
    t.add_argument("--layers", type=int, help="default: the layer count the states were stored for")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--reader", default=EMBEDDED_READER_NAME)
    t.add_argument("--out", help="folder for the verifier files (default: the reader's folder)")
    args = ap.parse_args(argv)

    from qa.reader.extractive import ExtractiveReader
    from qa.reader.loading import ReaderLoadError, reader_folder

    if args.cmd == "states":
        if not 1 <= args.layers <= 12:
            print("error: --layers must be between 1 and 12", file=sys.stderr)
            return 2
        from qa.training.reader import BadTrainConfig, load_training_file

        for path in args.data:
            if not Path(path).exists():
                print(f"error: {path} not found", file=sys.stderr)
                return 2
            try:   # read now, not after the reader loads (read again, drawn, per file below)
                load_training_file(path)
            except BadTrainConfig as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        unknown = set(kinds) - set(BUILT_KINDS)
        if unknown:
            print(f"error: unknown case kinds {sorted(unknown)}", file=sys.stderr)
            return 2
        forms = tuple(f.strip() for f in args.english_forms.split(",") if f.strip())
        if set(forms) - set(ENGLISH_FORMS):
            print(f"error: English forms are {', '.join(ENGLISH_FORMS)}", file=sys.stderr)
            return 2
        try:
            reader = ExtractiveReader(args.reader, dtype=args.dtype, verifier=False, lean=False)
        except ReaderLoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        folder = reader_folder(args.reader)
        sha = reader_fingerprint(folder) if folder is not None and (folder / "model.safetensors").exists() else ""
        if reader.model.config.num_hidden_layers < args.layers:
            print(f"error: the reader has only {reader.model.config.num_hidden_layers} layers", file=sys.stderr)
            return 2
        rng = random.Random(args.seed)
        out = Path(args.out)
        for path in args.data:
            examples = build_examples(path, args.per_file, rng, english_share=args.english_share, kinds=kinds,
                                      english_forms=forms, english_only=args.english_only)
            print(f"{Path(path).name}: {len(examples)} cases", file=sys.stderr)
            store_states(examples, reader, args.layers, out / Path(path).stem, args.seed, reader_sha256=sha)
        return 0

    if args.epochs < 1:
        print("error: --epochs must be at least 1", file=sys.stderr)
        return 2
    try:
        train = load_windows(args.states)
        held = load_windows(args.eval) if args.eval else None
        reader = ExtractiveReader(args.reader, verifier=False, lean=False)
    except (OSError, ValueError, KeyError, ReaderLoadError) as exc:  # missing, damaged or mixed shards
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folder = reader_folder(args.reader)
    if folder is None or not (folder / "model.safetensors").exists():
        print(f"error: {args.reader} is not a local reader folder with model.safetensors", file=sys.stderr)
        return 2
    sha = reader_fingerprint(folder)
    layers = args.layers or train.layers or 2
    for name, ws in (("--states", train), ("--eval", held)):
        if ws is None:
            continue
        problem = ("made by another reader's weights" if ws.reader_sha256 and ws.reader_sha256 != sha else
                   f"stored for {ws.layers} layers, not {layers}" if ws.layers and ws.layers != layers else
                   "of another hidden size" if ws.states[0].shape[1] != reader.model.config.hidden_size else "")
        if problem:
            print(f"error: the {name} states were {problem}", file=sys.stderr)
            return 2
    verifier = Verifier.from_reader(reader.model, layers, sha)
    result = fit(train, held, verifier, args.epochs, args.batch_size, args.lr,
                 log=lambda entry: print(json.dumps(entry), file=sys.stderr, flush=True))
    meta = {"train_windows": int(len(train)), "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
            "train_states": str(args.states), **result}
    verifier.save(Path(args.out) if args.out else folder, meta)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
