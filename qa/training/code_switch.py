"""Code-switched questions: some words of a Chinese question replaced by their English dictionary glosses.

Why: users ask in English (or half in English) about Chinese documents, and no training set pairs
English questions with Chinese passages; SQuAD gives English questions over English text only. Asking
a training question again with a share of its words in English (「2023财年阿里活跃的公益幸福团有多少个？」
→ "2023 fiscal year 阿里 active public welfare happiness 团 how many个?") makes the reader match
English words to the Chinese passage through the multilingual encoder's shared space: the dictionary
code-switching of CoSDA-ML (Qin et al., 2020), which helped zero-shot cross-lingual reading most.

The glosses come from CC-CEDICT (:mod:`qa.glossary`); nothing of the dictionary goes into the reader.
"""
from __future__ import annotations

import random
import re

from qa.glossary import MAX_WORD, PARTICLES, Glossary

# question words in the English an asker would use (the dictionary's glosses are word for word)
QUESTION_WORDS = {"有多少": "how many", "多少": "how many", "几": "how many", "什么时候": "when", "何时": "when",
                  "哪一年": "which year", "哪年": "which year", "哪里": "where", "哪儿": "where", "在哪": "where",
                  "哪个": "which", "哪些": "which", "哪": "which", "谁": "who", "什么": "what", "为什么": "why",
                  "怎么": "how", "如何": "how", "怎样": "how", "是否": "whether",
                  "何处": "where", "何地": "where", "多久": "how long", "多长": "how long", "几次": "how many times",
                  "多大": "how big"}


def segment(text: str, glossary: Glossary) -> list[str]:
    """Forward maximum matching on the glossary's words (and the question words): the longest known word
    at each position, so 「首席执行官」 and 「钉钉」 stay whole; other characters stand alone."""
    out, i = [], 0
    while i < len(text):
        for n in range(min(MAX_WORD, len(text) - i), 0, -1):
            piece = text[i:i + n]
            if n == 1 or piece in QUESTION_WORDS or piece in glossary.glosses:
                out.append(piece)
                i += n
                break
    return out


def code_switch(question: str, glossary: Glossary, rng: random.Random, rate: float) -> str | None:
    """``question`` with each word of two or more characters (and each question word) replaced by an
    English gloss with probability ``rate``.

    Single characters other than question words stay Chinese (their glosses are mostly senses of
    another use: 「有」 "there is", 「由」 "because of"), as do figures, Latin text and punctuation.
    Returns None when nothing was replaced (the question would be a duplicate). With half or more of
    the words replaced the particles go too, and the question ends in "?" as an English one would.
    """
    words = segment(question, glossary)
    out: list[str] = []
    switched = chinese = 0
    for word in words:
        gloss = None
        if not word.isascii() and not word.isspace():
            chinese += word not in PARTICLES
            if rng.random() < rate:
                gloss = QUESTION_WORDS.get(word) or (glossary.english(word, rng) if len(word) > 1 else None)
        if gloss:
            out.append(f" {gloss} ")
            switched += 1
        else:
            out.append(word)
    if not switched:
        return None
    english_share = switched / max(1, chinese)
    if english_share >= 0.5:
        out = [w for w in out if w not in PARTICLES]
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    text = re.sub(r"\s*[？?。]+$", "", text)
    if english_share >= 0.5:
        return text[:1].upper() + text[1:] + "?"
    return text + ("？" if question.rstrip().endswith(("？", "?")) else "")
