"""Time agreement: a document that never names the year a question asks about, and names others, cannot answer it.

Why: asked 「2019年阿里巴巴派出了多少位乡村振兴特派员？」 or 「2024财年阿里巴巴带动平台生态减碳多少万吨？」 of an
article on fiscal 2023, the reader answers with the 2023 figures (「27位」 at 0.90, 「2290.7万吨」 at 0.72): it
scores how well a span fits the passage, not whether the year agrees, and no threshold that keeps its right
answers stops it. So spans are set aside when the year the question names is nowhere in their passage and
its whole document, while the document states a fact for another year (「2023财年」, 「2022年7月」). Both
conditions are needed: a question's year is often only implied (「2015年黑豹队…」 over a paragraph on that
season that never writes 2015, and names no other year either). A document that names the asked year
somewhere is never judged: which of its passages speaks of which year is the reader's to tell.

Gold answers it would set aside, each question's paragraph as its document (``python
benchmarks/answer_types.py``): CMRC2018 dev 0 of the 207 questions naming a year, train 3 of 599 (each
asks a year its paragraph gets wrong: 2001 for 2011), DRCD dev 1 of 278; see README, "Time agreement".
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# a year as a Chinese question names it: 「2024财年」 「2019年」 「2023年度」 (traditional 財年 too)
_ASKED_ZH = re.compile(r"(?<!\d)(?<!\d[.,])((?:1[6-9]|20)\d\d)(?=\s*(?:年(?!代)|财年|財年))")
# a year in an English question: "in 2019", "fiscal 2024"; not 1980s, 2,019, 2019.5 or 2019%
_ASKED_EN = re.compile(r"(?<!\w)(?<!\d[.,])((?:1[6-9]|20)\d\d)(?!\d|[.,]\d|%|s\b)")
# a year a document states a fact for: 「2023财年，」 「2022年7月」
_STATED = re.compile(r"(?<!\d)(?<!\d[.,])((?:1[6-9]|20)\d\d)(?=\s*(?:年(?!代)|财年|財年))")
_HAS_LATIN = re.compile(r"[A-Za-z]{2}")


def asked_years(question: str) -> frozenset[str]:
    """The years ``question`` asks about (as four digits); empty when it names none."""
    years = set(_ASKED_ZH.findall(question))
    if _HAS_LATIN.search(question):
        years.update(_ASKED_EN.findall(question))
    return frozenset(years)


_HAN_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


def mentions(text: str, year: str) -> bool:
    """Whether ``text`` names ``year``: as a number of its own (not inside 12023 or 2023.5), in Chinese
    numerals (「二〇〇五年」, 「二零零五年」) or as the second year of a range (「2015/16年」 names 2016)."""
    han = year.translate(_HAN_DIGITS)
    pattern = (rf"(?<!\d)(?<!\d[.,]){year}(?!\d|[.,]\d)|{han}|{han.replace('〇', '零')}"
               rf"|(?<!\d){year[:2]}\d\d\s*[/／\-–—~～至到]\s*{year[2:]}(?!\d)")
    return re.search(pattern, text) is not None


def states_another_year(years: frozenset[str], text: str) -> bool:
    """Whether ``text`` states a fact for a year (「2023财年」, 「2022年」) other than ``years``."""
    return any(y not in years for y in _STATED.findall(text))


def about_other_years(years: frozenset[str], passage: str, document: str = "") -> bool:
    """Whether neither ``passage`` nor its ``document`` names any of ``years`` while one of them states
    another year: the text is about other years than those asked."""
    if not years or any(mentions(passage, y) or mentions(document, y) for y in years):
        return False
    return states_another_year(years, passage) or states_another_year(years, document)


def agreeing(question: str, spans: Iterable[T], passages: Sequence[str], scope: Callable[[int], str] | None = None,
             passage_of: Callable[[T], int] = lambda span: span.passage) -> Iterator[T]:
    """``spans`` (in their order) less those read from a passage about other years than ``question`` asks.

    ``passage_of(span)`` is the span's passage number in ``passages``; ``scope(i)``, when given, is passage
    i's whole document (only asked for when the question names a year)."""
    years = asked_years(question)
    if not years:
        yield from spans
        return
    other = [about_other_years(years, text, scope(i) if scope is not None else "") for i, text in enumerate(passages)]
    for span in spans:
        if not other[passage_of(span)]:
            yield span
