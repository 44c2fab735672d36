"""Traditional characters folded to simplified (OpenCC's t2s), skipped for text holding none it changes.

Why: BM25 (index/bm25.py) and the answer-type rule (qa/reader/answer_type.py) read text in simplified
characters: 「臺北」 and 「台北」 must give the same tokens. OpenCC's converter here is pure Python, about
0.5 ms a passage, and most text holds no character it would change; for that text the check is a
regular expression, and the text comes back as it is.
"""
from __future__ import annotations

import re
import threading

_converter = None
_changes: re.Pattern | None = None
_LOCK = threading.Lock()


def to_simplified(text: str) -> str:
    """``text`` with traditional characters as OpenCC's t2s writes them; the same text when it holds none."""
    converter, changes = loaded()
    if changes is not None and not changes.search(text):
        return text
    return converter.convert(text)


TRADITIONAL_SHARE = 0.1   # of a text's Chinese characters that t2s changes, from which it is in traditional script
_to_traditional = None


def is_traditional(text: str) -> bool:
    """Whether ``text`` is written in traditional characters: at least three of them, and a tenth of its
    Chinese characters (a simplified text may hold a stray one, 「乾隆」)."""
    simple = to_simplified(text)
    if simple == text:
        return False
    if len(simple) != len(text):   # a phrase of it changed length (none does in OpenCC's tables today)
        return True
    changed = sum(a != b for a, b in zip(text, simple))
    chinese = sum("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)
    return changed >= 3 and changed >= TRADITIONAL_SHARE * chinese


def to_traditional(text: str) -> str:
    """``text`` in traditional characters (OpenCC's s2t), for a question asked of a traditional passage."""
    global _to_traditional
    if _to_traditional is None:
        with _LOCK:
            if _to_traditional is None:
                from opencc import OpenCC

                _to_traditional = OpenCC("s2t")
    return _to_traditional.convert(text)


def loaded():
    """The converter (dictionaries loaded) and the class of characters it changes (None: always convert)."""
    global _converter, _changes
    if _converter is None:
        with _LOCK:
            if _converter is None:
                from opencc import OpenCC

                converter = OpenCC("t2s")
                converter.convert("")   # loads its dictionaries
                try:
                    _changes = _changing_characters(converter)
                except Exception:   # another layout of the converter's internals: always convert
                    _changes = None
                _converter = converter
    return _converter, _changes


def _changing_characters(converter) -> re.Pattern | None:
    """A character class every text that ``converter`` changes matches: each character it maps to
    another, and for each longer entry that holds none of those, the characters it changes. None
    where the dictionaries are not laid out as opencc-python-reimplemented 0.1.7 lays them out, or
    change nothing.

    Why sound: the converter replaces dictionary keys by their value's first candidate; text that
    changes holds a key whose replacement differs, and every such key holds a character of the class."""
    entries: list[dict[str, str]] = []

    def collect(node) -> bool:
        if isinstance(node, tuple) and len(node) == 3 and isinstance(node[2], dict):
            entries.append(node[2])
            return True
        return isinstance(node, list) and all(collect(n) for n in node)

    if not collect(getattr(converter, "_dict_chain_data", None)) or not entries:
        return None
    changed = [(key, value.split(" ")[0]) for mapping in entries for key, value in mapping.items()
               if value.split(" ")[0] != key]
    chars = {key for key, _ in changed if len(key) == 1}
    for key, value in changed:
        if len(key) > 1 and not chars.intersection(key):
            differing = [a for a, b in zip(key, value) if a != b] if len(key) == len(value) else list(key)
            chars.update(differing or key)
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]") if chars else None
