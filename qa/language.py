"""The language a question is written in, as far as the reader's confidence cares: English or not.

Why: the reader scores spans for an English question over Chinese text far lower than for the same
question in Chinese (on the XQuAD pairs, the median best-span score is under 1% of the Chinese
one), so one threshold would withhold nearly every English answer; the calibration keeps a
separate threshold for English questions (``threshold_english`` in ``calibration.json``).
"""
from __future__ import annotations

import re

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_english_question(question: str) -> bool:
    """True when the question has more Latin letters than CJK characters' worth of words: each CJK
    character counts as one, each Latin letter as a quarter (a word of about four letters)."""
    latin = len(_LATIN.findall(question))
    cjk = len(_CJK.findall(question))
    return latin > 0 and latin / 4 > cjk
