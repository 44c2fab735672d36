"""Time agreement (qa/reader/time_agreement.py): spans read from a document about other years than asked."""
from dataclasses import dataclass

import pytest

from qa.reader.time_agreement import about_other_years, agreeing, asked_years, mentions


@pytest.mark.parametrize("question, years", [
    ("2024财年阿里巴巴带动平台生态减碳多少万吨？", {"2024"}),
    ("2019年阿里巴巴派出了多少位乡村振兴特派员？", {"2019"}),
    ("2023 年度研发投入是多少？", {"2023"}),
    ("2022財年淘寶服務了多少用戶？", {"2022"}),
    ("2022年到2023年增长了多少？", {"2022", "2023"}),
    ("What was Alibaba's revenue in fiscal 2022?", {"2022"}),
    ("How many users did DingTalk have in 2023, according to the report?", {"2023"}),
    # no year asked: counts, decades, thousands, ranges written without 年 on the first year
    ("有2000多人参加吗？", set()),
    ("Which bands of the 1980s played there?", set()),
    ("How many of the 2,019 schools joined?", set()),
    ("2023/24财年的收入是多少？", set()),
    ("２０１９年阿里巴巴派出了多少位乡村振兴特派员？", {"2019"}),   # typed with full-width digits
    ("What was the revenue in FY2024?", {"2024"}),
    ("2019至2020年公司营收是多少？", {"2019", "2020"}),   # both ends of a span or list are asked
    ("2019、2020年公司营收分别是多少？", {"2019", "2020"}),
    ("2019-2020年公司营收是多少？", {"2019", "2020"}),
    ("2019至2021年间，公司在哪一年上市？", {"2019", "2020", "2021"}),   # every year of a span
    ("2019、2020和2021年公司营收分别是多少？", {"2019", "2020", "2021"}),
    ("What was the revenue in fy2024?", {"2024"}),
    ("哪一種藝術形式在1950年代的東德被官方鼓勵？", set()),   # a decade
    ("公益幸福团有多少个？", set()),
])
def test_asked_years(question, years):
    assert asked_years(question) == frozenset(years)


def test_a_year_is_mentioned_only_as_a_number_of_its_own():
    assert mentions("截至2023年3月31日", "2023") and mentions("记者查询了解到,2016年全国", "2016")
    assert mentions("in 2019 and 2020", "2019") and mentions("2023 财年", "2023")
    assert not mentions("编号12023号", "2023") and not mentions("增长2023.5万元", "2023")
    assert not mentions("共1,2019人", "2019")
    # in Chinese numerals, and as the second year of a range
    assert mentions("於二零零五年七月一日", "2005") and mentions("二〇二三年", "2023")
    assert mentions("2015/16年球季", "2016") and mentions("2022-23财年", "2023") and mentions("2015至16年", "2016")
    assert not mentions("2015/17年", "2016") and not mentions("1915/16年", "2016")
    # zero written ○ or 0 in Chinese numerals; a year of two digits
    assert mentions("二○一九年，全县脱贫", "2019") and mentions("二0一九年", "2019") and mentions("23年营收达120亿元", "2023")
    # a date's month is no span's end: 2023/05/16 does not name 2005
    assert not mentions("2023/05/16", "2005") and not mentions("发布日期：2023-10-19", "2010")


def test_only_text_that_never_names_the_year_and_states_another_is_about_other_years():
    years = frozenset({"2024"})
    article = "2023财年，阿里巴巴带动平台生态减碳达2290.7万吨。"
    assert about_other_years(years, article)
    # the year named anywhere, in the passage or its document: the reader decides
    assert not about_other_years(years, article + "2024年将继续推进。")
    assert not about_other_years(years, "带动平台生态减碳达2290.7万吨。", "计划于2024年…")
    # another year stated in the document only still counts
    assert about_other_years(years, "带动平台生态减碳达2290.7万吨。", "2023财年，阿里巴巴…")
    # no year stated at all: the year asked may be implied (a paragraph on that season)
    assert not about_other_years(years, "黑豹队的防守有24次拦截。")
    # a year the text only counts with (2023.5) or numbers (12023) is no year stated
    assert not about_other_years(years, "共12023年。增长2023.5万元。")
    assert not about_other_years(frozenset(), article)
    # a decade stated is no year: 「1980年代」, nor is a span of years: 「已有1700年历史」
    assert not about_other_years(years, "1980年代的作品。")
    assert not about_other_years(frozenset({"2019"}), "灵隐寺已有1700年历史。去年接待游客300万人次。")
    assert not about_other_years(frozenset({"2019"}), "寺院距今1700年之久。")
    for said in ("灵隐寺有1700年的历史。", "靈隱寺有1700年的歷史。", "灵隐寺建寺1700年来香火不断。"):
        assert not about_other_years(frozenset({"2019"}), said + "去年接待游客300万人次。"), said
    assert about_other_years(frozenset({"2018"}), "自2019年来，公司营收增长。")   # since 2019: a year stated
    # the document is read once for each year asked: a second question over it costs nothing new
    from qa.reader.time_agreement import _MEMO
    long_document = "公司2023年实现营业收入。" * 1000
    about_other_years(frozenset({"2017"}), "段落", long_document)
    size = len(_MEMO)
    assert about_other_years(frozenset({"2017"}), "另一段落", long_document) and len(_MEMO) == size + 2


@dataclass(frozen=True)
class _Span:
    passage: int
    text: str


def test_agreeing_drops_the_spans_of_passages_about_other_years_and_keeps_the_order():
    passages = ["2023财年减碳2290.7万吨。", "2024年计划减碳3000万吨。", "带动409个品牌。"]
    spans = [_Span(1, "3000万吨"), _Span(0, "2290.7万吨"), _Span(2, "409个"), _Span(0, "2290.7")]
    kept = list(agreeing("2024年减碳多少？", spans, passages))
    assert kept == [spans[0], spans[2]]
    # no year asked: everything, and the document is never asked for
    assert list(agreeing("减碳多少？", spans, passages, scope=lambda i: pytest.fail("read"))) == spans
    # the whole document names 2024: nothing is dropped
    assert list(agreeing("2024年减碳多少？", spans, passages, scope=lambda i: "…2024年…")) == spans


def test_the_filter_counts_what_it_sets_aside_and_judges_only_passages_it_reaches():
    from qa.reader.time_agreement import YearFilter

    passages = ["2023财年减碳2290.7万吨。", "2024年计划减碳3000万吨。", "不读的段落"]
    asked: list[int] = []
    years = YearFilter(frozenset({"2024"}), passages, scope=lambda i: asked.append(i) or "")
    spans = [_Span(1, "3000万吨"), _Span(0, "2290.7万吨"), _Span(0, "2290.7")]
    assert list(years(spans)) == [spans[0]] and years.set_aside == 2
    assert asked == [1, 0], "the third passage's document is never asked for"


def test_the_reader_sets_aside_spans_about_other_years_and_its_switch_turns_that_off(tiny_qa_model):
    from qa.reader.extractive import ExtractiveReader

    typed = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8)
    plain = ExtractiveReader(str(tiny_qa_model), max_length=64, stride=16, max_answer_chars=8, answer_types=False)
    passages = ["2023财年，公益幸福团超110个。", "钉钉用户超6亿，服务企业超2300万家。"]
    q = "2019年钉钉怎么样？"   # no measure asked: the answer-type rule keeps every span
    every = plain.read(q, passages, top_n=500)
    assert {s.passage for s in every} == {0, 1}
    assert typed.read(q, passages, top_n=500) == [s for s in every if s.passage == 1]
    # the document of the second passage states another year: its spans go too
    assert typed.read(q, passages, top_n=500, scope=lambda i: "2023财年报告") == []
    # …unless it names the year asked
    assert typed.read(q, passages, top_n=500, scope=lambda i: "2019年至2023年") == every
    # the first-passage-alone path of read_ranked applies the rule as well
    ranked = typed.read_ranked(q, passages, top_n=500, passage_weights=[1.0, 0.5])
    assert ranked.kept and all(s.passage == 1 for s in ranked.kept) and ranked.other_years == ()
    assert typed.read_checked("钉钉怎么样？", passages, top_n=500).other_years == ()
    # said only when every span was set aside: here the second passage's spans were kept
    assert typed.read_checked(q, passages, top_n=500).other_years == ()
    assert typed.read_checked(q, passages[:1], top_n=500).other_years == ("2019",)
