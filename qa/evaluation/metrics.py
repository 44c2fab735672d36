"""Answer and retrieval metrics: the CMRC2018 EM/F1, a whitespace-insensitive variant, recall@k, MRR.

Why: published CMRC2018 and DRCD figures come from the official evaluation script
(``cmrc2018_evaluate.py``); to be comparable ours must score exactly like it. It lower-cases,
drops a fixed set of punctuation, cuts Chinese text into single characters and other runs into
NLTK word tokens, and takes F1 from the *longest common substring* of those segment lists (not the
bag-of-tokens overlap SQuAD uses). NLTK is not a dependency, so :func:`word_tokenize` ports the
part of ``nltk.word_tokenize`` (the Treebank rules) that answers ever exercise.

Quirks of the official script kept on purpose:

* ``'……'`` is in its punctuation list as a two-character string, so it never matches a single
  character: a lone ``…`` is *not* removed.
* "Chinese" means ``[\\u4e00-\\u9fa5]``; anything else (full-width digits, rare CJK extensions)
  joins the non-Chinese run and goes through the word tokenizer.
* EM compares punctuation-stripped strings, so inner whitespace counts ("110 个" ≠ "110个"),
  while F1 ignores it (the tokenizer splits on it). OCR text has stray spaces, hence the
  ``*_nospace`` variant, which deletes all whitespace from both sides first.

Not in the official script (whose sets have no unanswerable questions): an empty reference
list marks an unanswerable question; the empty prediction (abstaining) scores EM = F1 = 1 on it,
any other prediction 0, and the empty prediction scores 0 on an answerable question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

# The official list, verbatim (including the two-character '……', which never matches).
SP_CHAR = ['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=',
           '，', '。', '：', '？', '！', '“', '”', '；', '’', '《', '》', '……', '·', '、',
           '「', '」', '（', '）', '－', '～', '『', '』']
_SP_SET = frozenset(SP_CHAR)
_CHINESE_RE = re.compile(r"[\u4e00-\u9fa5]")
_SPACE_RE = re.compile(r"\s+")

# ---------------------------------------------------------------- nltk.word_tokenize, ported
# The rules of NLTK's NLTKWordTokenizer (nltk 3.9, improved Treebank), in the order it applies them.
_STARTING_QUOTES = [
    (re.compile("([«“‘„]|[`]+)", re.U), r" \1 "),
    (re.compile(r"^\""), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)", re.U), r"\1 "),
]
_ENDING_QUOTES = [
    (re.compile("([»”’])", re.U), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_PUNCTUATION = [
    (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$", re.U), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}", re.U), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r"[\u2012-\u2015]", re.U), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]", re.U), r" \g<0> "),
]
_PARENS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
_CONTRACTIONS = [re.compile(p) for p in (
    r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b",
    r"(?i)\b(gon)(?#X)(na)\b", r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b",
    r"(?i)\b(more)(?#X)('n)\b", r"(?i)\b(wan)(?#X)(na)(?=\s)", r"(?i) ('t)(?#X)(is)\b",
    r"(?i) ('t)(?#X)(was)\b")]


def word_tokenize(text: str) -> list[str]:
    """Tokenize a non-Chinese run like ``nltk.word_tokenize`` (Treebank rules, one sentence).

    Differences from NLTK: no Punkt sentence splitting first (a period is split off only at the
    end of the run, as NLTK does for a single sentence), which only matters for runs with several
    sentences, something answer strings do not have.
    """
    for regexp, sub in _STARTING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp, sub in _PUNCTUATION:
        text = regexp.sub(sub, text)
    text = _PARENS[0].sub(_PARENS[1], text)
    text = _DOUBLE_DASHES[0].sub(_DOUBLE_DASHES[1], text)
    text = " " + text + " "
    for regexp, sub in _ENDING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp in _CONTRACTIONS:
        text = regexp.sub(r" \1 \2 ", text)
    return text.split()


# ---------------------------------------------------------------- the official CMRC2018 functions
def mixed_segmentation(in_str: str, rm_punc: bool = False) -> list[str]:
    """Chinese characters one by one, other runs word-tokenized (``rm_punc`` drops punctuation)."""
    in_str = str(in_str).lower().strip()
    segs_out: list[str] = []
    temp_str = ""
    for char in in_str:
        if rm_punc and char in _SP_SET:
            continue
        if _CHINESE_RE.match(char) or char in _SP_SET:
            if temp_str != "":
                segs_out.extend(word_tokenize(temp_str))
                temp_str = ""
            segs_out.append(char)
        else:
            temp_str += char
    if temp_str != "":
        segs_out.extend(word_tokenize(temp_str))
    return segs_out


def remove_punctuation(in_str: str) -> str:
    """Lower-case, strip and drop the official punctuation characters."""
    return "".join(ch for ch in str(in_str).lower().strip() if ch not in _SP_SET)


def find_lcs(s1: Sequence, s2: Sequence) -> tuple[Sequence, int]:
    """Longest common contiguous run of ``s1`` and ``s2``: ``(run, length)``; the first one found wins."""
    mmax = p = 0
    prev = [0] * (len(s2) + 1)
    for i in range(len(s1)):
        cur = [0] * (len(s2) + 1)
        a = s1[i]
        for j in range(len(s2)):
            if a == s2[j]:
                v = prev[j] + 1
                cur[j + 1] = v
                if v > mmax:
                    mmax, p = v, i + 1
        prev = cur
    return s1[p - mmax:p], mmax


def _strip_space(text: str) -> str:
    return _SPACE_RE.sub("", str(text))


def _prepare(prediction: str, answers: Iterable[str], ignore_space: bool) -> tuple[str, list[str]]:
    """Shared by EM and F1: optional whitespace removal on both sides."""
    answers = list(answers)
    if ignore_space:
        return _strip_space(prediction), [_strip_space(a) for a in answers]
    return prediction, answers


def _unanswerable_score(prediction: str) -> float:
    """No references: an empty prediction (abstention) is right, anything else wrong."""
    return 1.0 if not str(prediction).strip() else 0.0


def f1_score(prediction: str, answers: Iterable[str], ignore_space: bool = False) -> float:
    """Best F1 (0..1) of ``prediction`` over the reference ``answers``; see the module notes."""
    prediction, answers = _prepare(prediction, answers, ignore_space)
    if not answers:
        return _unanswerable_score(prediction)
    pred_segs = mixed_segmentation(prediction, rm_punc=True)
    best = 0.0
    for ans in answers:
        ans_segs = mixed_segmentation(ans, rm_punc=True)
        _, lcs_len = find_lcs(ans_segs, pred_segs)
        if lcs_len == 0:
            continue
        precision = lcs_len / len(pred_segs)
        recall = lcs_len / len(ans_segs)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(prediction: str, answers: Iterable[str], ignore_space: bool = False) -> float:
    """1.0 when the punctuation-stripped prediction equals a punctuation-stripped reference."""
    prediction, answers = _prepare(prediction, answers, ignore_space)
    if not answers:
        return _unanswerable_score(prediction)
    pred = remove_punctuation(prediction)
    return 1.0 if any(remove_punctuation(a) == pred for a in answers) else 0.0


@dataclass(frozen=True)
class AnswerScore:
    """One prediction's scores, each in 0..1."""

    em: float
    f1: float
    em_nospace: float
    f1_nospace: float


def score_answer(prediction: str, answers: Iterable[str]) -> AnswerScore:
    answers = list(answers)
    return AnswerScore(exact_match(prediction, answers), f1_score(prediction, answers),
                       exact_match(prediction, answers, True), f1_score(prediction, answers, True))


def evaluate_predictions(references: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> dict:
    """Aggregate like the official script: percentages over *all* references; a missing prediction scores 0.

    Returns ``{"n", "em", "f1", "em_nospace", "f1_nospace", "missing"}`` (em/f1 in percent).
    """
    totals = dict(em=0.0, f1=0.0, em_nospace=0.0, f1_nospace=0.0)
    missing = 0
    for qid, answers in references.items():
        if qid not in predictions:
            missing += 1
            continue
        s = score_answer(predictions[qid], answers)
        for k in totals:
            totals[k] += getattr(s, k)
    n = len(references)
    out = {"n": n, **{k: (100.0 * v / n if n else 0.0) for k, v in totals.items()}, "missing": missing}
    return out


# ---------------------------------------------------------------- retrieval
def gold_rank(ranked_doc_ids: Sequence[str], gold: str | Iterable[str]) -> int | None:
    """1-based rank of the first retrieved passage from a gold document, or None."""
    golds = {gold} if isinstance(gold, str) else set(gold)
    for i, d in enumerate(ranked_doc_ids):
        if d in golds:
            return i + 1
    return None


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Fraction of questions whose gold document is among the first ``k`` passages (0..1)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at_k(ranks: Sequence[int | None], k: int = 10) -> float:
    """Mean reciprocal rank, counting ranks beyond ``k`` (and misses) as 0."""
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0
