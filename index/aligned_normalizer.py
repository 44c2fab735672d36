"""A tokenizer.json normalizer (a sequence of regex replacements and NFKC) run in Python, with each
output character's place in the input, as the `tokenizers` library aligns them.

Why: answering tokenizes through SentencePiece (index/lean_tokenizer.py), whose 250k-piece model
loads in a fraction of the time and memory that `tokenizers` needs; this module gives it the same
normalized text and the same offsets back into the original. Alignment rules, as `tokenizers` has
them: a replacement's characters stand where the last matched character stood; NFKC's expansions
stand where their source character stood; characters composed together stand where their first one
stood (a combining mark after a compatibility character, or marks NFKC reorders, may be placed one
character off).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass
class Normalized:
    """Normalized text and, for each of its characters, the range ``[starts[i], ends[i])`` of the
    input characters it came from."""

    text: str
    starts: list[int]
    ends: list[int]


class UnsupportedNormalizer(ValueError):
    """The tokenizer.json normalizer holds a step this module does not run."""


@dataclass(frozen=True)
class _Replace:
    pattern: re.Pattern
    content: str


@dataclass(frozen=True)
class _NFKC:
    pass


def _steps_of(spec: dict | None) -> list:
    if spec is None:
        return []
    kind = spec.get("type")
    if kind == "Sequence":
        return [step for part in spec.get("normalizers", []) for step in _steps_of(part)]
    if kind == "NFKC":
        return [_NFKC()]
    if kind == "Replace":
        pattern = spec.get("pattern", {})
        if "Regex" in pattern:
            try:
                compiled = re.compile(pattern["Regex"])
            except re.error as e:
                raise UnsupportedNormalizer(f"regex {pattern['Regex']!r} does not compile in Python: {e}") from e
        elif "String" in pattern:
            compiled = re.compile(re.escape(pattern["String"]))
        else:
            raise UnsupportedNormalizer(f"Replace pattern {pattern!r}")
        if compiled.fullmatch(""):
            raise UnsupportedNormalizer(f"Replace pattern {pattern!r} matches the empty string")
        return [_Replace(compiled, str(spec.get("content", "")))]
    raise UnsupportedNormalizer(f"normalizer {kind!r}")


def _composes(c: str) -> bool:
    """A character NFKC may join to the one before it: a combining mark, or a Hangul vowel or final."""
    return unicodedata.combining(c) != 0 or "\u1161" <= c <= "\u11c2"


class AlignedNormalizer:
    """``normalize(text)`` with offsets; ``normalize_text(text)`` without, faster."""

    def __init__(self, spec: dict | None):
        self.steps = _steps_of(spec)
        self._nfkc_cache: dict[str, str] = {}

    def normalize_text(self, text: str) -> str:
        for step in self.steps:
            if isinstance(step, _NFKC):
                text = unicodedata.normalize("NFKC", text)
            else:
                text = step.pattern.sub(step.content.replace("\\", "\\\\"), text)
        return text

    def normalize(self, text: str) -> Normalized:
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
        for step in self.steps:
            if isinstance(step, _NFKC):
                text, starts, ends = self._nfkc(text, starts, ends)
            else:
                text, starts, ends = self._replace(step, text, starts, ends)
        return Normalized(text, starts, ends)

    @staticmethod
    def _replace(step: _Replace, text: str, starts: list[int], ends: list[int]):
        pieces, new_starts, new_ends, last = [], [], [], 0
        for m in step.pattern.finditer(text):
            a, b = m.span()
            if a == b:
                continue
            pieces.append(text[last:a])
            new_starts += starts[last:a]
            new_ends += ends[last:a]
            pieces.append(step.content)
            new_starts += [starts[b - 1]] * len(step.content)
            new_ends += [ends[b - 1]] * len(step.content)
            last = b
        if not pieces:
            return text, starts, ends
        pieces.append(text[last:])
        return "".join(pieces), new_starts + starts[last:], new_ends + ends[last:]

    def _nfkc(self, text: str, starts: list[int], ends: list[int]):
        if unicodedata.is_normalized("NFKC", text):
            return text, starts, ends
        whole = unicodedata.normalize("NFKC", text)
        cache = self._nfkc_cache
        chars, new_starts, new_ends = [], [], []
        for c, a, b in zip(text, starts, ends):
            n = cache.get(c)
            if n is None:
                n = cache[c] = unicodedata.normalize("NFKC", c)
            chars.append(n)
            new_starts += [a] * len(n)
            new_ends += [b] * len(n)
        if "".join(chars) == whole:
            return whole, new_starts, new_ends
        return self._nfkc_composed(text, starts, ends, whole)

    @staticmethod
    def _nfkc_composed(text: str, starts: list[int], ends: list[int], whole: str):
        """NFKC that joins characters (e + U+0301 → é, Tamil ெ + ா → ொ): run by runs of a base and
        the marks after it, a run merged with the next ones where NFKC joins across them; the i-th
        output character of a run stands where its i-th input character stood."""
        runs: list[list[int]] = []
        for k, c in enumerate(text):
            if runs and _composes(c):
                runs[-1].append(k)
            else:
                runs.append([k])
        chars, new_starts, new_ends = [], [], []
        i, at = 0, 0
        while i < len(runs):
            j = i + 1
            while True:
                run = [k for r in runs[i:j] for k in r]
                n = unicodedata.normalize("NFKC", "".join(text[k] for k in run))
                if whole.startswith(n, at) or j == len(runs) or j - i >= 8:
                    break
                j += 1
            if not whole.startswith(n, at):
                break
            for m, o in enumerate(n):
                k = run[min(m, len(run) - 1)]
                chars.append(o)
                new_starts.append(starts[k])
                new_ends.append(ends[k])
            at += len(n)
            i = j
        if "".join(chars) == whole:
            return whole, new_starts, new_ends
        # a composition this module does not model: right text, coarse offsets
        a, b = (starts[0], ends[-1]) if text else (0, 0)
        return whole, [a] * len(whole), [b] * len(whole)
