"""Extractive reader: picks answer spans from passages with any HF question-answering model.

Why: answers must be exact spans of the user's text. Each passage is cut into overlapping token
windows; a span's score is p_start · p_end under the window's softmax, so scores are comparable
across windows and passages, and the window's null (CLS) probability tells when it lacks an answer. A reader may ship an answerability
verifier (:mod:`qa.reader.verifier`); then each span also gets P(answerable) of its window, and spans are
ranked by ``confidence`` = score × P.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.bert import BertForSpans, hold_linear_weights_in, padded_to_multiple, prepare_for_bf16_cpu
from index.hardware import resolve_dtype
from qa.reader.answer_type import TypeCheck, check_candidates
from qa.reader.bounds import answer_bounds, is_function_word
from qa.reader.loading import ReaderLoadError, load_reader_model, reader_calibration, reader_folder
from qa.reader.time_agreement import YearFilter, asked_years
from qa.reader.verifier import Verifier, VerifierLoadError, has_verifier, reader_fingerprint


@dataclass(frozen=True)
class Span:
    """A candidate answer: ``start``/``end`` are character offsets into passage ``passage``."""

    passage: int
    start: int
    end: int
    text: str
    score: float
    null_score: float
    answerable: float = 1.0   # the verifier's P(answerable) for the span's window; 1.0 without a verifier

    @property
    def confidence(self) -> float:
        """What the bot thresholds and reports: span score × P(answerable)."""
        return self.score * self.answerable


@dataclass
class WindowPass:
    """One forward pass over a question's windows: tokenization, span probabilities and, when asked,
    the states entering the reader's last layers (what the verifier reads)."""

    encoding: object
    p_start: np.ndarray
    p_end: np.ndarray
    states: list[np.ndarray] = field(default_factory=list)   # per window, [length, hidden] (unpadded)
    answerable: np.ndarray | None = None                      # per window, the verifier's P
    answer_from: Sequence[int] | None = None                  # per passage, where answers may start (see read)

@dataclass(frozen=True)
class SpanLengthPrior:
    """Ranks spans by confidence × exp(-beta × characters beyond ``free``); beta 0 ranks by confidence.

    Why: a quarter of the reader's wrong spans hold the answer plus a clause, an apposition or the
    neighbouring list items, while the shorter span is among its candidates. A span keeps its own
    confidence (what the threshold reads); only the order changes.
    """

    beta: float = 0.0
    free: int = 0

    @classmethod
    def from_calibration(cls, calibration: dict) -> "SpanLengthPrior":
        raw = calibration.get("span_length_prior")
        try:
            return cls(float(raw["beta"]), int(raw["free"])) if isinstance(raw, dict) else cls()
        except (KeyError, TypeError, ValueError):
            return cls()

    def weight(self, chars: int) -> float:
        return math.exp(-self.beta * max(0, chars - self.free)) if self.beta else 1.0


class ExtractiveReader:
    def __init__(self, model_name: str | None = None, max_length: int = 384, stride: int = 128,
                 max_answer_chars: int = 64, batch_size: int = 16, dtype: str = "auto",
                 device: str = "cpu", verifier: bool | None = False, answer_types: bool = True,
                 length_prior: SpanLengthPrior | None = None, lean: bool = True):
        """``lean``: a compact reader (the shipped one) runs as index/bert.py's module, without importing
        transformers, unless a verifier is used (it reads transformers' layers) or ``lean`` is False
        (what verifier training needs)."""
        if verifier is None:   # auto: the verifier stored beside the reader, if there is one
            folder = reader_folder(model_name)
            verifier = folder is not None and has_verifier(folder)
        model, tokenizer = load_reader_model(model_name, lean=lean and not verifier)
        self._setup(model, tokenizer, model_name or "embedded", max_length, stride, max_answer_chars,
                    batch_size, dtype, device, answer_types)
        if isinstance(model, BertForSpans) and self.dtype == self._torch.bfloat16 and self.device.type == "cpu":
            prepare_for_bf16_cpu(model)   # weights laid out once for the bf16 kernels (index/bert.py)
        elif isinstance(model, BertForSpans) and self.dtype == self._torch.bfloat16:
            hold_linear_weights_in(model, self.dtype)   # what autocast would cast them to at each call
        # the reader's own, chosen with its thresholds (calibration.json), unless one is given
        self.length_prior = length_prior or SpanLengthPrior.from_calibration(reader_calibration(model_name))
        if verifier:
            self.verifier = load_verifier_for(model_name, model)
            if self.verifier is not None:
                self.verifier.to(self.device)

    @classmethod
    def from_model(cls, model, tokenizer, name: str = "in-memory", **options) -> "ExtractiveReader":
        """Wrap an already-loaded QA model (e.g. the one being trained, for its dev evaluation). The
        answer-type rule is off unless ``answer_types=True``: training figures measure the model alone."""
        reader = cls.__new__(cls)
        defaults = dict(max_length=384, stride=128, max_answer_chars=64, batch_size=16, dtype="auto",
                        device="cpu", answer_types=False)
        reader._setup(model, tokenizer, name, **{**defaults, **options})
        return reader

    def _setup(self, model, tokenizer, name: str, max_length: int, stride: int, max_answer_chars: int,
               batch_size: int, dtype: str, device: str, answer_types: bool = True) -> None:
        import torch

        self.model, self.tokenizer, self.name = model, tokenizer, name
        from index.e5_convert import tokenizer_lock

        self._tokenizer_lock = tokenizer_lock(tokenizer)  # shared with the encoder when the tokenizer is
        self.max_length = min(max_length, getattr(self.tokenizer, "model_max_length", 512) or 512, 512)
        self.stride = min(stride, self.max_length // 2)
        self.max_answer_chars = max_answer_chars
        self.batch_size = batch_size
        dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
        if dtype not in dtypes and dtype != "auto":
            raise ReaderLoadError(f"reader dtype must be auto or one of {sorted(dtypes)}, not {dtype!r}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.device = torch.device(device)
            if self.device.type == "cuda" and not torch.cuda.is_available():
                raise RuntimeError("CUDA is not available on this machine")
        except RuntimeError as exc:
            raise ReaderLoadError(f"reader device {device!r}: {exc}") from exc
        self.dtype = dtypes[resolve_dtype(dtype, self.device.type)]  # auto: bf16 where it is native
        self.model.to(self.device)
        self._torch = torch
        self.verifier: Verifier | None = None
        self.length_prior = SpanLengthPrior()
        self._pad_id = getattr(tokenizer, "pad_token_id", None) or 0
        # drop spans whose figures contradict the measure the question asks for (qa/reader/answer_type.py)
        self.answer_types = answer_types

    def forward_windows(self, question: str, passages: list[str], states_layers: int = 0,
                        answer_from: Sequence[int] | None = None) -> WindowPass:
        """Tokenize into windows and run the reader; with ``states_layers`` = k > 0, also keep each
        window's states entering the last k layers. The verifier, if any, scores every window.
        ``answer_from``: see :meth:`read`."""
        _check_answer_from(answer_from, passages)
        torch = self._torch
        with self._tokenizer_lock:  # a fast tokenizer is not safe to call from two threads at once
            question = self._fit_question(question)
            enc = self.tokenizer([question] * len(passages), passages, truncation="only_second",
                                 max_length=self.max_length, stride=self.stride, return_overflowing_tokens=True,
                                 return_offsets_mapping=True, padding="longest", return_tensors="pt")
        n = enc["input_ids"].shape[0]
        verifier = self.verifier
        need_states = verifier is not None or states_layers > 0
        starts, ends, states, probs = [], [], [], []
        if need_states:
            self._forward_with_states(enc, states_layers, starts, ends, states, probs)
        else:
            for i in range(0, n, self.batch_size):
                start, end = self._span_logits(enc["input_ids"][i:i + self.batch_size],
                                               enc["attention_mask"][i:i + self.batch_size])
                starts.append(start)
                ends.append(end)
        mask = enc["attention_mask"].bool()
        p_start = torch.softmax(torch.cat(starts).masked_fill(~mask, -1e4), -1).numpy()
        p_end = torch.softmax(torch.cat(ends).masked_fill(~mask, -1e4), -1).numpy()
        answerable = torch.cat(probs).numpy() if probs else None
        return WindowPass(enc, p_start, p_end, states, answerable, answer_from)

    def _forward_with_states(self, enc, states_layers: int, starts: list, ends: list, states: list,
                             probs: list) -> None:
        """The forward pass that also keeps hidden states, for the verifier or for ``states_layers``."""
        torch, verifier, n = self._torch, self.verifier, enc["input_ids"].shape[0]
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.dtype == torch.bfloat16):
            for i in range(0, n, self.batch_size):
                ids = enc["input_ids"][i:i + self.batch_size].to(self.device)
                am = enc["attention_mask"][i:i + self.batch_size].to(self.device)
                out = self.model(input_ids=ids, attention_mask=am, output_hidden_states=True)
                starts.append(out.start_logits.float().cpu())
                ends.append(out.end_logits.float().cpu())
                if verifier is not None:
                    h = out.hidden_states[-(verifier.n_layers + 1)]
                    probs.append(torch.sigmoid(verifier(h, am).float()).cpu())
                if states_layers:
                    h = out.hidden_states[-(states_layers + 1)]
                    lengths = am.sum(1).tolist()
                    states.extend(h[j, :lengths[j]].float().cpu().numpy() for j in range(len(lengths)))

    def _span_logits(self, input_ids, attention_mask) -> tuple:
        """Start and end logits (fp32, on the CPU) of a batch of windows.

        Concurrent askers run theirs at the same time: passing them through one worker that batches
        them (index/batching.py, as the encoder does) gave 1.14-1.24x the questions/s of one asker
        with 8 askers, against 1.29-1.32x for this (medians of 5 rounds, 2-core CPU)."""
        torch = self._torch
        length = input_ids.shape[1]
        input_ids, attention_mask = padded_to_multiple(input_ids, attention_mask, self._pad_id, self.max_length)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.dtype == torch.bfloat16):
            out = self.model(input_ids=input_ids.to(self.device), attention_mask=attention_mask.to(self.device))
            return out.start_logits[:, :length].float().cpu(), out.end_logits[:, :length].float().cpu()

    def _fit_question(self, question: str) -> str:
        """The question cut to at most a third of a window's tokens (its head and tail kept: the topic
        and the question word), so that every window still holds passage text."""
        limit = max(4, self.max_length // 3)
        enc = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= limit:
            return question
        head, tail = offsets[:limit // 2], offsets[-(limit - limit // 2):]
        return question[:head[-1][1]] + " " + question[tail[0][0]:]

    def read(self, question: str, passages: list[str], top_n: int = 5, asked: str | None = None,
             passage_weights: Sequence[float] | None = None, answer_from: Sequence[int] | None = None,
             scope: Callable[[int], str] | None = None) -> list[Span]:
        """Best ``top_n`` spans over all passages, highest confidence first (deduplicated by position).
        ``asked``: the question as the user wrote it, for the answer-type rule, when the model is given
        an expanded one (an English question with Chinese words appended). ``passage_weights``: one a
        passage; spans are then ranked by confidence × their passage's weight (their confidence stays
        what it is), e.g. to favour passages retrieval ranked higher. ``answer_from``: one a passage, the
        character before which it is context only (a document title put in front of it): no span starts
        there. ``scope(i)``: more text (passage i's whole document) in which the time-agreement rule
        (:mod:`qa.reader.time_agreement`) looks for the year the question asks about; by default the
        passage alone."""
        return self.read_checked(question, passages, top_n, asked, passage_weights, answer_from, scope).kept

    def read_checked(self, question: str, passages: list[str], top_n: int = 5, asked: str | None = None,
                     passage_weights: Sequence[float] | None = None,
                     answer_from: Sequence[int] | None = None,
                     scope: Callable[[int], str] | None = None) -> TypeCheck[Span]:
        """Like :meth:`read`, also saying what the answer-type rule expected and how many spans it dropped."""
        if not passages:
            return TypeCheck(None, [])
        wp = self.forward_windows(question, passages, answer_from=answer_from)
        return self.select_checked(asked or question, wp, passages, top_n, passage_weights, scope)

    def read_ranked(self, question: str, passages: list[str], top_n: int = 5, asked: str | None = None,
                    passage_weights: Sequence[float] | None = None,
                    answer_from: Sequence[int] | None = None,
                    scope: Callable[[int], str] | None = None) -> TypeCheck[Span]:
        """:meth:`read_checked` over passages whose weights fall after the first (retrieval's order): the
        first passage is read alone, and the others only if one of their spans could still rank first,
        that is when the first passage's best span ranks below the largest of their weights (a span's
        confidence is at most 1). The best span, so the answer and whether to abstain, is the one
        reading them all at once gives; when the others are not read, the other candidates come from
        the first passage alone, and the count of spans the answer-type rule dropped is its alone.

        Why: the reader's forward pass is most of an answer's time, and a window alone takes about 20 ms
        against 47 for three (2-core CPU, bf16). With weights 1, 0.5, 0.25 the first passage's best span
        reaches 0.5 for 34-49% of CMRC2018, news and XQuAD questions and for most on the bundled
        article; the rest pay about 8 ms more."""
        weights = list(passage_weights) if passage_weights is not None else [1.0] * len(passages)
        if len(weights) != len(passages):
            raise ValueError(f"{len(weights)} passage weights for {len(passages)} passages")
        _check_answer_from(answer_from, passages)   # before a pass: the first passage alone may settle it
        bound = max(weights[1:], default=0.0)
        if len(passages) < 2 or bound >= weights[0]:   # nothing could be left unread
            return self.read_checked(question, passages, top_n, asked, weights, answer_from, scope)
        asked = asked or question
        starts = list(answer_from) if answer_from is not None else None
        # the first passage's spans, kept as they are reached: checked alone, then merged if need be
        first_pass = self.forward_windows(question, passages[:1], answer_from=starts and starts[:1])
        first_ranked, first_again = itertools.tee(self._ranked(first_pass, passages[:1], weights, 0))
        first = self._checked(asked, (span for _, span in first_ranked), top_n, passages, scope)
        if first.kept and -self._rank_key(first.kept[0], weights) >= bound:
            return first
        rest = self._ranked(self.forward_windows(question, passages[1:], answer_from=starts and starts[1:]),
                            passages[1:], weights, 1)
        return self._checked(asked, (span for _, span in heapq.merge(first_again, rest, key=lambda pair: pair[0])),
                             top_n, passages, scope)

    def _rank_key(self, span: Span, weights: Sequence[float]) -> float:
        """What :meth:`iter_spans` orders by, negated (smaller first): confidence × passage weight × length prior."""
        return -span.confidence * weights[span.passage] * self.length_prior.weight(len(span.text))

    def _ranked(self, wp: WindowPass, passages: list[str], weights: list[float],
                offset: int) -> Iterator[tuple[float, Span]]:
        """(rank key, span) pairs of a pass over ``passages`` = all passages[offset:], best first, each span's
        passage numbered among all passages."""
        for span in self.iter_spans(wp, passages, weights[offset:offset + len(passages)]):
            span = dataclasses.replace(span, passage=span.passage + offset)
            yield self._rank_key(span, weights), span

    def select(self, question: str, wp: WindowPass, passages: list[str], top_n: int) -> list[Span]:
        """The best ``top_n`` spans of a forward pass that can answer ``question``: with
        ``answer_types`` on, those whose figures are of another measure than it asks for are dropped."""
        return self.select_checked(question, wp, passages, top_n).kept

    def select_checked(self, question: str, wp: WindowPass, passages: list[str], top_n: int,
                       passage_weights: Sequence[float] | None = None,
                       scope: Callable[[int], str] | None = None) -> TypeCheck[Span]:
        return self._checked(question, self.iter_spans(wp, passages, passage_weights), top_n, passages, scope)

    def _checked(self, question: str, spans: Iterator[Span], top_n: int, passages: Sequence[str],
                 scope: Callable[[int], str] | None = None) -> TypeCheck[Span]:
        """The first ``top_n`` of ``spans`` (best first) that the answer-type rule keeps, when it is on: of
        the measure asked (:mod:`qa.reader.answer_type`) and not stated for another year than the one
        asked (:mod:`qa.reader.time_agreement`)."""
        if not self.answer_types:
            return TypeCheck(None, list(itertools.islice(spans, top_n)))
        years = YearFilter(asked_years(question), passages, scope)
        checked = check_candidates(question, years(spans), limit=top_n)
        if years.set_aside and not checked.kept:   # every span read was of a passage about other years
            return dataclasses.replace(checked, other_years=tuple(sorted(years.years)))
        return checked

    def iter_spans(self, wp: WindowPass, passages: list[str],
                   passage_weights: Sequence[float] | None = None) -> Iterator[Span]:
        """Candidate spans of a forward pass, each with its window's P(answerable) when there is one,
        one position once, best first (by confidence × the passage's weight, when weights are given).
        Without a length prior they are tidied (:func:`qa.reader.bounds.answer_bounds`) as they are
        reached: a caller that stops after a few leaves the other of up to 400 candidates a window
        untouched."""
        weights = list(passage_weights) if passage_weights is not None else [1.0] * len(passages)
        if len(weights) != len(passages):
            raise ValueError(f"{len(weights)} passage weights for {len(passages)} passages")
        distinct = self._distinct_spans(wp, passages, weights)
        prior = self.length_prior
        if prior.beta:
            yield from sorted(distinct, key=lambda sp: -sp.confidence * weights[sp.passage]
                              * prior.weight(len(sp.text)))
        else:
            yield from distinct

    def _distinct_spans(self, wp: WindowPass, passages: list[str], weights: list[float]) -> Iterator[Span]:
        """Each window's 20 likeliest starts × 20 likeliest ends inside its passage, by confidence × the
        passage's weight (ties in window, start and end order), each position once, at its best."""
        enc, p_start, p_end = wp.encoding, wp.p_start, wp.p_end
        sample_map = enc["overflow_to_sample_mapping"].tolist()
        offsets = np.asarray(enc["offset_mapping"])
        n_windows, length = p_start.shape
        answerable = [float(a) for a in wp.answerable] if wp.answerable is not None else [1.0] * n_windows
        found = []
        for w in range(n_windows):
            seq = enc.sequence_ids(w)
            ctx = np.zeros(length, dtype=bool)
            ctx[:len(seq)] = [s == 1 for s in seq[:length]]
            if wp.answer_from is not None and wp.answer_from[sample_map[w]]:   # a title in front: context only
                # by the token's end: the passage's first word is read with the title's line break («▁公司»
                # spans 「\n公司」), and answer_bounds trims that break off a span starting there
                ctx &= offsets[w, :, 1] > wp.answer_from[sample_map[w]]
            ps = np.where(ctx, p_start[w], 0.0)
            pe = np.where(ctx, p_end[w], 0.0)
            cand_s = np.argsort(-ps)[:20]
            cand_e = np.argsort(-pe)[:20]
            c0 = offsets[w, cand_s, 0][:, None]
            c1 = offsets[w, cand_e, 1][None, :]
            ok = ((ps[cand_s] > 0)[:, None] & (pe[cand_e] > 0)[None, :] & (cand_e[None, :] >= cand_s[:, None])
                  & (c1 > c0) & (c1 - c0 <= self.max_answer_chars))
            s_rank, e_rank = np.nonzero(ok)
            if not len(s_rank):
                continue
            score = ps[cand_s[s_rank]] * pe[cand_e[e_rank]]
            found.append((np.full(len(s_rank), w), s_rank, e_rank, c0[s_rank, 0], c1[0, e_rank], score,
                          score.astype(np.float64) * answerable[w] * weights[sample_map[w]]))
        if not found:
            return
        w_of, s_rank, e_rank, c0s, c1s, scores, ranked_by = (np.concatenate(parts) for parts in zip(*found))
        seen: set[tuple[int, int, int]] = set()
        for k in np.lexsort((e_rank, s_rank, w_of, -ranked_by)):
            w = int(w_of[k])
            pid = sample_map[w]
            if any(ch in _BORDERS for ch in passages[pid][int(c0s[k]):int(c1s[k])].strip()):
                continue   # across a line break or a table cell's border: no answer, the next best may be
            c0, c1 = answer_bounds(passages[pid], int(c0s[k]), int(c1s[k]))
            if (c1 <= c0 or (pid, c0, c1) in seen or (wp.answer_from is not None and c0 < wp.answer_from[pid])
                    or is_function_word(passages[pid][c0:c1])):
                continue
            seen.add((pid, c0, c1))
            yield Span(pid, c0, c1, passages[pid][c0:c1], float(scores[k]), float(p_start[w, 0] * p_end[w, 0]),
                       answerable[w])


# a span never crosses a paragraph's or a table row's line break, or a cell's border 「|」: 「9.87 | 8.14 |
# 21.25%」 and 「21.25%↵项目：占营业收入比例；…」 are no answers. Which side would be one the reader says, not a rule:
# cutting such a span at the break kept the wrong side of 「声音↵↵恐怖主义」 (a heading before the answer).
_BORDERS = set("\n|")


def _check_answer_from(answer_from: Sequence[int] | None, passages: list[str]) -> None:
    if answer_from is not None and len(answer_from) != len(passages):
        raise ValueError(f"{len(answer_from)} answer starts for {len(passages)} passages")


def load_verifier_for(model_name: str | None, model) -> Verifier:
    """The verifier stored beside a local reader, checked against its weights (ReaderLoadError if none)."""
    folder = reader_folder(model_name)
    if folder is None or not has_verifier(folder):
        raise ReaderLoadError(f"the answerability verifier was asked for, but reader '{model_name or 'embedded'}' "
                              f"has none (see qa.training.verifier); run without --verifier / ZHQA_VERIFIER")
    try:
        return Verifier.load(folder, model.config, reader_fingerprint(folder))
    except (VerifierLoadError, OSError) as exc:
        raise ReaderLoadError(str(exc)) from exc
