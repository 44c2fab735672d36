"""Span boundaries: a token span's characters made into a clean answer.

Why: token offsets carry the sentence's spaces, punctuation and quotation marks with them, and a
reader's span often runs one token past the answer (a trailing 「的」 or comma, a half-open
bracket). An answer is the thing itself, so the reader trims these before it scores or shows a span:
a shipped answer never starts or ends with punctuation, an unbalanced mark or a dangling particle.
"""
from __future__ import annotations

from index.normalize import is_cjk
from index.simplified import to_simplified


def _strip_spaces(passage: str, start: int, end: int) -> tuple[int, int]:
    text = passage[start:end]
    return start + len(text) - len(text.lstrip()), end - (len(text) - len(text.rstrip()))


def answer_bounds(passage: str, start: int, end: int) -> tuple[int, int]:
    """A token span's character bounds as an answer: without surrounding spaces (tokens with a
    leading metaspace report the space too), one pair of enclosing quotation marks, punctuation at
    either end, unbalanced brackets or quotation marks, or a dangling particle (see :func:`tidy`)."""
    bounds = _strip_spaces(passage, *unquote(passage, *_strip_spaces(passage, start, end)))
    while True:   # each pass trims one thing; stop when nothing changes or nothing would be left
        tidier = _strip_spaces(passage, *unquote(passage, *_strip_spaces(passage, *tidy(passage, *bounds))))
        if tidier == bounds or tidier[1] <= tidier[0]:
            return bounds
        bounds = tidier


_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"'}


# brackets that wrap a whole span are the sentence's aside marks (「(118)」 → 「118」); title marks 《》 are not
_BRACKETS = {"（": "）", "(": ")", "【": "】", "[": "]", "〔": "〕"}


def unquote(passage: str, start: int, end: int) -> tuple[int, int]:
    """The span without one pair of quotation marks or brackets around all of it (「“1+6+N”」 →
    「1+6+N」, 「(118)」 → 「118」): the marks belong to the sentence, not to the answer. Title marks
    《》 stay, as they are part of the name they enclose."""
    text = passage[start:end]
    if len(text) > 2:
        for marks in (_QUOTES, _BRACKETS):
            if marks.get(text[0]) == text[-1] and not any(
                    ch in marks or ch in marks.values() for ch in text[1:-1]):
                return start + 1, end - 1
    return start, end


# marks that open/close a quotation, bracket or title; a span holds both of a pair or neither
_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", "（": "）", "(": ")", "《": "》", "【": "】", "[": "]",
          "〈": "〉", "〔": "〕", "{": "}"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}
# sentence punctuation that never begins or ends an answer ("-" and "+" may sign a figure, "." may end "Inc.")
_EDGE_PUNCT = set("，。、；：！？,;:!?…·～~—_/\\|　 \t\n") | {'"'}
# a footnote's mark after a figure (「12%¹」, 「156.2亿元²」, 「营收※」), not a power (m², 3×10⁵)
_SUPERSCRIPT_DIGITS = set("⁰¹²³⁴⁵⁶⁷⁸⁹")
_FOOTNOTE_MARKS = _SUPERSCRIPT_DIGITS | set("※†‡")
_TRAILING_PARTICLES = "的了着吗呢吧啊"
_PARTICLE_WORDS = {"目的", "有的", "别的", "真的", "似的", "是的", "的的", "为了", "除了", "罢了", "好了", "接着", "随着",
                   "沿着", "朝着", "顺着", "意味着", "本着", "向着", "紧接着"}
_LEADING_PARTICLES = "是"
_LEADING_WORDS = ("是否", "是非", "的确", "的士", "的哥", "的姐", "的话", "的卢", "的的")


# a preposition, conjunction or adverb alone answers nothing: asked 「阿里云的碳排放优化核算平台叫什么名字？」, the
# reader's best span was 「通过」, the word before the name 「能耗宝」. No gold answer of the visible sets, the
# training sets or DRCD is one of these (26,795 answers). 「是」 and 「有」 stay, as they answer yes-no questions, and
# so do one-character words that are also surnames or nouns (于, 向, 由, 和, 将 the chess piece, 在, 把, 被 …).
FUNCTION_WORDS = frozenset("""
通过 经过 由于 对于 关于 按照 根据 随着 随著 作为 为了 及其 以及 或者 并且 而且 但是 因为 所以 因此 于是 等等
的 了 着 之 其 等 及 与 并 而 但 则 即 就 也 都 还 又 却 或
""".split())


def is_function_word(text: str) -> bool:
    """Whether ``text`` is a function word alone (「通过」, 「以及」, traditional 「通過」): never an answer."""
    return to_simplified(text.strip()) in FUNCTION_WORDS


def tidy(passage: str, start: int, end: int) -> tuple[int, int]:
    """One pass of trimming: edge punctuation, a mark whose partner lies outside the span (cut at it), a trailing particle (「…的」, 「…了」), a leading
    copula (「是张勇」) or 「的」. Words that end in
    such a character (目的, 随着), words that begin with one (的确, 是否, 的黎波里: jieba's words) and
    spans of two characters or fewer keep it; a leading 「的」 that is a word of its own is the tail of
    the clause before the answer (「的时间和空间」)."""
    text = passage[start:end]
    if not text:
        return start, end
    if text[0] in _EDGE_PUNCT:
        return start + 1, end
    if text[-1] in _EDGE_PUNCT or _footnote_mark_at_end(text):
        return start, end - 1
    cut = _unbalanced_mark(text)
    if cut is not None:
        i, opener = cut
        if i == 0:
            return start + 1, end
        if i == len(text) - 1:
            return start, end - 1
        # an aside opened and not closed (「张勇（Daniel」) goes; of a stray closer's sides, the longer stays
        if opener or i >= len(text) - 1 - i:
            return start, start + i
        return start + i + 1, end
    if len(text) > 2 and text[-1] in _TRAILING_PARTICLES and not any(text.endswith(w) for w in _PARTICLE_WORDS):
        return start, end - 1
    if len(text) > 2 and text[0] in _LEADING_PARTICLES and not text.startswith(_LEADING_WORDS):
        return start + 1, end
    if len(text) > 2 and text[0] == "的" and not text.startswith(_LEADING_WORDS) and _lone_de(passage, start, end):
        return start + 1, end
    return start, end


def _footnote_mark_at_end(text: str) -> bool:
    """Whether ``text`` ends in a footnote's mark: 「※」, 「†」, 「‡」, or superscript digits after 「%」, 「‰」, a
    Chinese character or a closing bracket (「12%¹」, 「156.2亿元²」). After a digit or a letter they are a power
    (3×10⁵, m²)."""
    if text[-1] not in _FOOTNOTE_MARKS or len(text) < 2:
        return False
    if text[-1] not in _SUPERSCRIPT_DIGITS:
        return True
    before = text.rstrip("".join(_SUPERSCRIPT_DIGITS))[-1:]
    return bool(before) and (before in "%‰）)]】」" or is_cjk(before)) and before not in "⁻⁺"


def _lone_de(passage: str, start: int, end: int) -> bool:
    """Whether the 「的」 at ``start`` is not the first character of a word (「首都|的黎波里」): a word
    of its own (「所需的|时间」) or the tail of a word before the span (「目的|是」), by jieba's
    segmentation of the text around it."""
    from index.bm25 import words

    left = max(0, start - 6)
    at = left
    for word in words(passage[left:end]):
        if at == start:
            return word == "的"
        at += len(word)
        if at > start:   # a word that began before the span ends in this 的
            return True
    return False


def _unbalanced_mark(text: str) -> tuple[int, bool] | None:
    """The first mark without its partner in ``text``: (index, True) for an opener, (index, False)
    for a closer; None when all pair up."""
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch in _PAIRS and not (ch in _CLOSERS and stack and stack[-1][0] == _CLOSERS[ch]):
            stack.append((ch, i))
        elif ch in _CLOSERS:
            if stack and stack[-1][0] == _CLOSERS[ch]:
                stack.pop()
            else:
                return i, False
    if stack:
        return stack[0][1], True
    return None
