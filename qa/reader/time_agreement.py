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
benchmarks/answer_types.py``): CMRC2018 dev 0 of the 210 questions naming a year, train 3 of 599 (each
asks a year its paragraph gets wrong: 2001 for 2011), DRCD dev 1 of 278; see README, "Time agreement".
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from index.normalize import FULL_WIDTH_DIGITS

T = TypeVar("T")

_YEAR = r"(?:1[6-9]|20)\d\d"
# a year as a Chinese question names it: 「2024财年」 「2019年」 「2023年度」 (traditional 財年 too), and every year of
# a span or list: 「2019至2021年」 (2019, 2020, 2021), 「2019、2020和2021年」
_ASKED_ZH = re.compile(rf"(?<!\d)(?<!\d[.,])({_YEAR}(?:\s*[-–—~～至到、和与及/,，]\s*{_YEAR})*)(?=\s*(?:年(?!代)|财年|財年))")
_SPAN_OF_YEARS = re.compile(rf"({_YEAR})\s*[-–—~～至到]\s*({_YEAR})")
MAX_SPAN_OF_YEARS = 20   # a span longer than this asks its ends only
# a year in an English question: "in 2019", "fiscal 2024", "FY2024"; not 1980s, 2,019, 2019.5 or 2019%
_ASKED_EN = re.compile(rf"(?:(?<=FY)|(?<=FY )|(?<!\w))(?<!\d[.,])({_YEAR})(?!\d|[.,]\d|%|[sS]\b)")
# a year a document states a fact for: 「2023财年，」 「2022年7月」; not a span of years: 「已有1700年历史」,
# 「有1700年的历史」, 「1700年之久」, 「建寺1700年来」 (before 1900: after, 「2019年来」 means since 2019)
_STATED = re.compile(rf"(?<!\d)(?<!\d[.,])(?<!已有)(?<!长达)(?<!距今)(?<!历时)(?<!已經有)({_YEAR})"
                     rf"(?=\s*(?:年(?!代|的?历史|的?歷史|之久|(?<=1[6-8]\d\d年)来)|财年|財年))")
_HAS_LATIN = re.compile(r"[A-Za-z]{2}")
_HAN_DIGIT = {"0": "〇○零0０OＯ", "1": "一1１", "2": "二2２", "3": "三3３", "4": "四4４", "5": "五5５", "6": "六6６",
              "7": "七7７", "8": "八8８", "9": "九9９"}


def asked_years(question: str) -> frozenset[str]:
    """The years ``question`` asks about (as four digits); empty when it names none."""
    q = question.translate(FULL_WIDTH_DIGITS)   # 「２０１９年」 typed with a full-width keyboard
    years: set[str] = set()
    for named in _ASKED_ZH.findall(q):
        years.update(re.findall(_YEAR, named))
        for first, last in _SPAN_OF_YEARS.findall(named):
            if 0 < int(last) - int(first) <= MAX_SPAN_OF_YEARS:
                years.update(str(y) for y in range(int(first), int(last) + 1))
    if _HAS_LATIN.search(q):
        years.update(_ASKED_EN.findall(q.upper()))   # "fy2024" as "FY2024"
    return frozenset(years)


_MEMO: OrderedDict = OrderedDict()   # (what, len(text), hash(text), year) → result; keys hold no text
_MEMO_LOCK = threading.Lock()
MEMO_SIZE = 4096


def _memo(what: str, text: str, year: str, compute: Callable[[], object]):
    """``compute()``, remembered for this text and year: a document is read once for each year asked, however
    many questions ask it, and a removed document is not kept alive by the memo."""
    key = (what, len(text), hash(text), year)
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    value = compute()
    with _MEMO_LOCK:
        _MEMO[key] = value
        if len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def mentions(text: str, year: str) -> bool:
    """Whether ``text`` names ``year``: as a number of its own (not inside 12023 or 2023.5); in Chinese
    numerals, zero written 〇, ○, 零 or 0 (「二〇〇五年」, 「二0一九年」); as two digits starting a clause
    (「23年营收…」, not 「创立24年以来」); or as the
    second year of a span (「2015/16年」, 「2022-23财年」 name 2016 and 2023)."""
    return _memo("mentions", text, year, lambda: _mentions(text, year))


def _mentions(text: str, year: str) -> bool:
    han = "".join(f"[{_HAN_DIGIT[d]}]" for d in year)
    before = str(int(year) - 1)
    pattern = (rf"(?<!\d)(?<!\d[.,]){year}(?!\d|[.,]\d)|{han}(?=\s*年)"
               rf"|(?:^|(?<=[\s，。；：、（(“「]))(?<!\d[.,/／\-–—~～至到]){year[2:]}"
               rf"(?=\s*(?:年(?!代|以来|来|之久|历史|前|多|余)|财年|財年))"
               rf"|(?<!\d){before}\s*[/／\-–—~～至到]\s*{year[2:]}(?!\d|\s*[-/／.]\s*\d)")
    return re.search(pattern, text) is not None


def stated_years(text: str) -> frozenset[str]:
    """The years ``text`` states a fact for (「2023财年」, 「2022年」), remembered like :func:`mentions`."""
    return _memo("stated", text, "", lambda: frozenset(_STATED.findall(text)))


def states_another_year(years: frozenset[str], text: str) -> bool:
    """Whether ``text`` states a fact for a year (「2023财年」, 「2022年」) other than ``years``."""
    return bool(stated_years(text) - years)


def about_other_years(years: frozenset[str], passage: str, document: str = "") -> bool:
    """Whether neither ``passage`` nor its ``document`` names any of ``years`` while one of them states
    another year: the text is about other years than those asked."""
    if not years or any(mentions(passage, y) or mentions(document, y) for y in years):
        return False
    return states_another_year(years, passage) or states_another_year(years, document)


@dataclass
class YearFilter:
    """Spans less those read from a passage about other years than ``years``, counting what it sets aside.

    ``scope(i)``, when given, is passage i's whole document (only asked for when the question names a year)."""

    years: frozenset[str]
    passages: Sequence[str]
    scope: Callable[[int], str] | None = None
    set_aside: int = 0

    def __call__(self, spans: Iterable[T], passage_of: Callable[[T], int] = lambda span: span.passage) -> Iterator[T]:
        if not self.years:
            yield from spans
            return
        other: dict[int, bool] = {}   # judged when a span of the passage is first reached
        for span in spans:
            p = passage_of(span)
            if p not in other:
                other[p] = about_other_years(self.years, self.passages[p], self.scope(p) if self.scope else "")
            if other[p]:
                self.set_aside += 1
            else:
                yield span


def agreeing(question: str, spans: Iterable[T], passages: Sequence[str], scope: Callable[[int], str] | None = None,
             passage_of: Callable[[T], int] = lambda span: span.passage) -> Iterator[T]:
    """``spans`` (in their order) less those read from a passage about other years than ``question`` asks."""
    return YearFilter(asked_years(question), passages, scope)(spans, passage_of)
