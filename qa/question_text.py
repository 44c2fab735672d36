"""A question's text without the characters that show nothing at its ends.

Why: questions are pasted from web pages, PDFs and chats with byte-order marks, zero-width spaces and
direction marks around them; one made only of such characters is empty, whether it is asked of the bot
or read from a question set.
"""
from __future__ import annotations

import re
import unicodedata

# characters that show nothing besides spaces: Unicode's format and control characters (zero-width
# space and joiners, byte-order mark, direction marks, soft hyphen), combining marks with nothing to
# combine with, and the blank "letters" (Hangul fillers, the empty Braille pattern)
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _blank(ch: str) -> bool:
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in _BLANK_CATEGORIES


def without_blank_ends(text: str) -> str:
    """``text`` without blank characters at either end ("" when it holds nothing else); a combining
    mark at the end stays, since it belongs to the character before it."""
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]) and unicodedata.category(text[end - 1]) not in ("Mn", "Me"):
        end -= 1
    return text[start:end]


# lone UTF-16 surrogates: no UTF-8 can carry them (a JSON reply holding one is refused)
SURROGATES = re.compile("[\ud800-\udfff]")


def showable(text: str) -> str:
    """``text`` with lone surrogates shown as U+FFFD, so that echoing a bad question back still works."""
    return SURROGATES.sub("\ufffd", text)
