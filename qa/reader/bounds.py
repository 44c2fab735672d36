"""Span boundaries: a token span's characters made into a clean answer.

Why: token offsets carry the sentence's spaces and quotation marks with them; an answer is the
thing itself, so the reader trims them before it scores or shows a span.
"""
from __future__ import annotations


def _strip_spaces(passage: str, start: int, end: int) -> tuple[int, int]:
    text = passage[start:end]
    return start + len(text) - len(text.lstrip()), end - (len(text) - len(text.rstrip()))


def answer_bounds(passage: str, start: int, end: int) -> tuple[int, int]:
    """A token span's character bounds as an answer: without surrounding spaces (tokens with a
    leading metaspace report the space too) and without one pair of enclosing quotation marks."""
    return _strip_spaces(passage, *unquote(passage, *_strip_spaces(passage, start, end)))


_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"'}


def unquote(passage: str, start: int, end: int) -> tuple[int, int]:
    """The span without one pair of quotation marks around all of it (「“1+6+N”」 → 「1+6+N」):
    the marks belong to the sentence, not to the answer. Title marks 《》 stay, as they are part of
    the name they enclose."""
    text = passage[start:end]
    if len(text) > 2 and _QUOTES.get(text[0]) == text[-1] and not any(
            ch in _QUOTES or ch in _QUOTES.values() for ch in text[1:-1]):
        return start + 1, end - 1
    return start, end
