"""Answer-type agreement: the measure a question asks for, and whether a span can be one.

Why: the reader scores how well a span fits the passage around it, not whether it is the kind of
thing asked. Asked 「阿里巴巴2023财年的营业收入是多少？」 over an article that never states revenue,
it picks the most salient figure, 「超110个」 (a count), with confidence 0.57, and no threshold that
keeps its right answers can stop it. Yet a sum of money cannot be 110 of anything. Like the lexical
answer type of classic QA systems, this module reads the measure a question names (多少人, 多少亿元,
几倍, 占比, 营业收入 → money) and the measures a span's figures carry (个, 元, %, 吨, 年 ...); a span
whose figures all carry another measure is no answer. Spans without a unit (「6亿」, 「唐朝」) and
questions without an expected measure are never judged, so the rule only removes clear
contradictions: measured on CMRC2018 and DRCD gold answers, it rejects well under 1% of them
(see ``python benchmarks/answer_types.py``).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Generic, Iterable, TypeVar

from index.simplified import to_simplified


class Measure(str, Enum):
    MONEY = "money"
    PERCENT = "percent"
    COUNT = "count"
    WEIGHT = "weight"
    LENGTH = "length"
    AREA = "area"
    VOLUME = "volume"
    TIME = "time"
    AGE = "age"
    MULTIPLE = "multiple"


# units written after a figure, by measure (simplified Chinese; traditional text is converted first)
UNITS: dict[Measure, tuple[str, ...]] = {
    Measure.MONEY: ("元", "美元", "美金", "欧元", "英镑", "日元", "日圆", "港元", "港币", "韩元", "人民币", "块钱",
                    "卢布", "法郎", "马克", "澳元", "加元", "新台币", "台币", "银元", "令吉", "新币", "比索", "铢", "泰铢",
                    "卢比", "里拉", "先令", "披索", "克朗"),
    Measure.PERCENT: ("%", "％", "个百分点", "百分点"),
    Measure.COUNT: ("个", "人次", "人", "名", "位", "次", "家", "所", "场", "座", "件", "项", "部", "本", "首",
                    "台", "辆", "架", "艘", "条", "只", "头", "匹", "种", "款", "届", "支", "张", "间", "户", "枚",
                    "颗", "篇", "集", "章", "册", "卷", "栋", "幢", "处", "票", "份", "批", "套", "株", "棵"),
    Measure.WEIGHT: ("吨", "千克", "公斤", "克", "斤", "磅", "盎司", "毫克"),
    Measure.LENGTH: ("公里", "千米", "米", "厘米", "毫米", "英里", "英尺", "英寸", "海里", "光年"),
    Measure.AREA: ("平方公里", "平方千米", "平方米", "平方英里", "平米", "公顷", "亩"),
    Measure.VOLUME: ("立方米", "升", "毫升", "立方公里"),
    Measure.TIME: ("年", "财年", "財年", "年度", "月", "日", "天", "时", "小时", "钟头", "分钟", "秒", "周", "星期", "礼拜", "世纪", "年代",
                   "工作日", "交易日", "赛季", "季度", "学期", "个月", "个多月", "个半月", "个小时", "个多小时",
                   "个半小时", "个钟头", "个多钟头", "个星期", "个多星期", "个礼拜", "个世纪", "个多世纪",
                   "个工作日", "个交易日", "个赛季", "个季度", "个学期"),
    Measure.AGE: ("岁", "周岁"),
    Measure.MULTIPLE: ("倍",),
}
# how messages name each measure (Chinese, English)
MEASURE_NAMES: dict[str, tuple[str, str]] = {
    "money": ("金额", "a sum of money"), "percent": ("百分比", "a percentage"), "count": ("数量", "a count"),
    "weight": ("重量", "a weight"), "length": ("长度", "a length"), "area": ("面积", "an area"),
    "volume": ("体积", "a volume"), "time": ("时间", "a time"), "age": ("年龄", "an age"),
    "multiple": ("倍数", "a multiple")}
_UNIT_MEASURE = {u: m for m, us in UNITS.items() for u in us}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNIT_MEASURE, key=len, reverse=True))
# 「468.1」, 「1亿2000」 (digits and magnitudes mixed), 「三千」
_NUMERAL = r"(?:\d+(?:[.,]\d+)*(?:[十百千万亿]+\d+(?:[.,]\d+)*)*|[零〇一二两三四五六七八九十百千万亿]+)"
_MAGNITUDE = r"[十百千万亿]*"
_APPROX = r"(?:多|余|几|来)?"
# a figure and the unit right after it: 「超110个」, 「1300亿元」, 「12.9%」, 「2015年」, 「3万多名」 (or after a space, as
# a passage not normalized writes it: 「5,500,000 平方公里」)
# (an ordinal, 「第二次」, is no amount; nor is a lone 「一」 as in 「一首现场独唱」)
_ANY_NUMERAL = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿兩萬億]")
_FIGURE = re.compile(rf"(?<![第\d.零〇一二两三四五六七八九十百千万亿])(?P<num>{_NUMERAL}){_MAGNITUDE}{_APPROX} ?(?P<unit>{_UNIT_ALT})")
# the question names its unit: 「多少人」, 「多少亿元」, 「几个」, 「多少个百分点」, 「百分之几」
_ASKED_UNIT = re.compile(rf"(?<!第)(?:多少|几){_MAGNITUDE}(?P<unit>{_UNIT_ALT})")
_ASKS_FIGURE = re.compile(r"多少|几|多大|多高|多长|多重|多远|多久|若干")
_ASKS_TIME = re.compile(r"什么时候|何时|多久|多长时间|多少时间|哪一?年|哪一?天|哪个月|几月|几号|什么时间|什么年代|哪个世纪|何年")
_ASKS_MONEY = re.compile(r"多少钱|什么价(?!值)|价钱|价值多少|花费多少|花了多少")
_ASKS_PERCENT = re.compile(r"百分之几|百分之多少|多少%|多少％|几成|多少(?:的)?百分比|多少比例")
# nouns whose value is a sum of money or a ratio; checked only when the question asks for a figure
_MONEY_NOUNS = re.compile(
    r"收入|营收|营业额|利润|净利|盈利|亏损|销售额|成交额|交易额|市值|估值|价格|售价|票价|房价|票房|资产|负债|"
    r"费用|成本|造价|投资|融资|工资|薪水|薪酬|年薪|月薪|奖金|奖金额|罚款|罚金|赔偿金|身价|转会费|预算|"
    r"拨款|捐款|善款|金额|收益|税收|生产总值|GDP|产值|总额|经费|租金|学费|稿费|片酬|开支|支出|花费|报价")
_PERCENT_NOUNS = re.compile(r"占比|比例|比重|百分比|份额|(?<![功速频汇辨效心倍])率(?![领先军队部])")
# English asks, for mixed-language questions ("What was Alibaba's revenue in 2023?")
_EN_TIME = re.compile(r"(?i)\b(?:when|what year|which year|what date)\b")
_EN_PERCENT = re.compile(r"(?i)\b(?:what|which) (?:percentage|percent|share|proportion)\b")
_EN_MONEY = re.compile(r"(?i)\b(?:money|revenues?|income|profits?|prices?|costs?|salary|budget)\b")
_EN_ASKS = re.compile(r"(?i)\b(?:how much|what (?:was|is|were|are))\b")
_EN_CHANGE = re.compile(r"(?i)\b(?:increase|decrease|grow|grew|growth|rise|rose|fall|fell|drop|decline|change)")
# "how many stations" asks a count, "how many years" a time, "how many billion US dollars" a sum; "how many
# times" (a multiple or a count of events) and "how many more" (a difference) are left alone
_EN_HOW_MANY = re.compile(r"(?i)\bhow many (?!times?\b|more\b|fewer\b|less\b)(?P<words>[a-z.\-]+(?: [a-z.\-]+){0,3})")
_EN_UNIT_NOUNS = {
    Measure.TIME: "years months days hours minutes seconds weeks decades centuries seasons quarters",
    Measure.LENGTH: "kilometers kilometres km miles meters metres feet inches yards centimeters centimetres "
                    "millimeters millimetres",
    Measure.WEIGHT: "tons tonnes kilograms kilos kg grams ounces",
    Measure.AREA: "hectares acres mu sq",
    Measure.VOLUME: "liters litres milliliters millilitres",
    Measure.MONEY: "dollars yuan rmb cny hkd usd euros yen won rupees pesos francs baht ringgit rubles roubles",
    Measure.PERCENT: "percent percentage",
}
_EN_UNIT_MEASURE = {noun: m for m, nouns in _EN_UNIT_NOUNS.items() for noun in nouns.split()}
# words before the counted noun that say nothing of its measure: magnitudes, "US dollars", "metric tons"
_EN_BEFORE_NOUN = frozenset("billion million thousand hundred billions millions thousands hundreds tens of us u.s. "
                            "hk american chinese hong kong metric nautical new taiwan".split())
# "pounds" may weigh or pay, "light years" measure a length, "square/cubic …" an area or a volume; "how many of
# them": of what, the question may not say
_EN_NO_MEASURE = frozenset("of pounds".split())
STOPWORDS_EN = frozenset("in on at to for by with from and or the a an did do does was were is are".split())
_EN_AGE = re.compile(r"(?i)\bhow old\b|\bat what age\b")
# "how tall / wide" ask a length; "how high / far / deep" are asked of rates, prices and travel times too
_EN_LENGTH = re.compile(r"(?i)\bhow (?:tall|wide)\b")
# 「有多少的国民生产总值…」, 「占全国多少」, 「收入中有多少来自海外」 ask a share, not the sum
_SHARE_OF = re.compile(r"多少的|占(?!比)[^，。？?]*多少|中有?多少|多少来自")
# a change (「收入增长了多少」) may be a percentage or a sum: no expectation then
CHANGE = re.compile(r"增长|增加|下降|减少|提高|提升|上涨|下跌|降低|同比|环比|翻|变化|增幅|降幅|涨幅")

# an age answers "when" (「9岁时」); 「几倍」 may be answered 「增长了200%」; a count may be given as a
# share (「多少人口是汉族」 → 「91.5%」) and a ratio as a multiple (市盈率 → 25倍). A ratio given as two
# counts (师生比例 → 「1名教师对20名学生」) is not accepted: 「利润率」 answered 「超110个」 is the likelier case.
_ACCEPTS = {Measure.TIME: {Measure.TIME, Measure.AGE}, Measure.AGE: {Measure.AGE, Measure.TIME}, Measure.MULTIPLE: {Measure.MULTIPLE, Measure.PERCENT},
            Measure.COUNT: {Measure.COUNT, Measure.PERCENT}, Measure.PERCENT: {Measure.PERCENT, Measure.MULTIPLE}}
# 「1200个亿」 is 1200亿, not 1200 things; 「二次大战」 names a war, it counts nothing
_NOT_A_FIGURE = re.compile(r"个(?=[万亿])|[一二]次(?:世界)?大战")

T = TypeVar("T")


def expected_measure(question: str) -> Measure | None:
    """The measure ``question`` asks for, or None when it names none (then no span is judged)."""
    q = _NOT_A_FIGURE.sub("", to_simplified(question))
    if _ASKS_TIME.search(q):
        return Measure.TIME
    if _ASKS_PERCENT.search(q):
        return Measure.PERCENT
    asked = _ASKED_UNIT.search(q)
    if asked and q[max(0, asked.start() - 1):asked.start()] == "哪":
        asked = None   # 「哪几个乡镇」 asks which ones, by name
    if asked:
        unit = asked.group("unit")
        if unit.startswith("个") and _UNIT_MEASURE[unit] is Measure.TIME:
            return None   # 「几个季度」 may be answered 「4个」 or 「4个季度」
        return _UNIT_MEASURE[unit]
    if _ASKS_MONEY.search(q):
        return Measure.MONEY
    if _EN_TIME.search(q):
        return Measure.TIME
    if _EN_PERCENT.search(q):
        return Measure.PERCENT
    if _EN_MONEY.search(q) and _EN_ASKS.search(q) and not (CHANGE.search(q) or _EN_CHANGE.search(q)):
        return Measure.MONEY
    english = _english_measure(q)
    if english is not None:
        return english
    if not _ASKS_FIGURE.search(q) or CHANGE.search(q) or _SHARE_OF.search(q):
        return None
    if _PERCENT_NOUNS.search(q):
        return Measure.PERCENT
    if _MONEY_NOUNS.search(q):
        return Measure.MONEY
    return None


def _english_measure(question: str) -> Measure | None:
    """The measure an English question's "how many …", "how old", "how tall" asks for; None otherwise."""
    if _EN_AGE.search(question):
        return Measure.AGE
    if _EN_LENGTH.search(question):
        return Measure.LENGTH
    many = _EN_HOW_MANY.search(question)
    if many is None or _EN_CHANGE.search(question):
        return None
    words = many.group("words").lower().split()
    while len(words) > 1 and words[0] in _EN_BEFORE_NOUN:
        words.pop(0)
    noun = words[0]
    if noun in _EN_NO_MEASURE or noun in _EN_BEFORE_NOUN or noun in STOPWORDS_EN:
        return None   # "how many billion in revenue": the measure is not named
    if noun in ("square", "cubic"):
        return Measure.AREA if noun == "square" else Measure.VOLUME
    if noun in ("light-years", "light-year") or (noun == "light" and len(words) > 1 and words[1].startswith("year")):
        return Measure.LENGTH   # "light years", "light-years"
    return _EN_UNIT_MEASURE.get(noun, _EN_UNIT_MEASURE.get(noun + "s", Measure.COUNT))   # "meter" as "meters"


def span_measures(text: str) -> set[Measure]:
    """The measures of the figures in ``text`` (empty when none carries a known unit)."""
    if not _ANY_NUMERAL.search(text):
        return set()
    simple = _NOT_A_FIGURE.sub("", to_simplified(text))
    return {_UNIT_MEASURE[m.group("unit")] for m in _FIGURE.finditer(simple) if m.group("num") != "一"}


# a unit with no figure (「亿元」 read from a table's row label 「归母净利润（亿元）」) is no amount
# a time may be said in words (「去年」, 「明朝」, 「春节期间」), and a price may be 「免费」; other measures need a figure,
# in digits or numerals (「数十个」, 「半数」, 「过半」 count)
_WORDS_ANSWER = {Measure.TIME}
_ANY_AMOUNT = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿兩萬億半]|[数數几幾][十百千万亿萬億]|免费|免費"
                         r"|(?i:\b(?:zero|none|no|one|once|twice|two|three|four|five|six|seven|eight|nine|ten|eleven"
                         r"|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?"
                         r"|millions?|billions?|dozens?|half|several|few|both|all|free)\b)")   # an English document's figures
_BARE_UNIT = re.compile(rf"{_MAGNITUDE}(?:{_UNIT_ALT})")


def agrees(expected: Measure | None, text: str) -> bool:
    """False when ``text`` is a unit alone, holds no figure at all where an amount is asked (a time may be
    words), or has figures with units none of which is of the ``expected`` measure; True whenever no
    measure is expected."""
    if expected is None:
        return True
    if expected not in _WORDS_ANSWER and _BARE_UNIT.fullmatch(to_simplified(text.strip())):
        return False   # not for a time: 「元」 is the dynasty
    if expected not in _WORDS_ANSWER and not _ANY_AMOUNT.search(text):
        return False   # asked how much, answered with no figure at all: 「马晓婷」 for a salary
    found = span_measures(text)
    return not found or bool(found & _ACCEPTS.get(expected, {expected}))


@dataclass(frozen=True)
class TypeCheck(Generic[T]):
    """Candidates after the rule: ``kept`` in their order, and how many were ``dropped`` before the
    last one kept (all the rejected ones, when fewer than the limit were kept)."""

    expected: Measure | None
    kept: list[T]
    dropped: int = 0
    other_years: tuple[str, ...] = ()   # the years asked, when every span was set aside as about other years


def check_candidates(question: str, candidates: Iterable[T], limit: int | None = None,
                     text_of: Callable[[T], str] = lambda c: c.text) -> TypeCheck[T]:
    """The first ``limit`` (all, when None) of ``candidates`` whose figures do not contradict the
    measure ``question`` asks for; stops reading ``candidates`` once ``limit`` are kept."""
    expected = expected_measure(question)
    if expected is None:
        return TypeCheck(None, list(itertools.islice(candidates, limit)))
    kept: list[T] = []
    dropped = 0
    if limit is not None and limit <= 0:
        return TypeCheck(expected, kept)
    for c in candidates:
        if agrees(expected, text_of(c)):
            kept.append(c)
            if len(kept) == limit:
                break
        else:
            dropped += 1
    return TypeCheck(expected, kept, dropped)

