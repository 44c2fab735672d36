"""Choice questions (qa/reader/choice.py): 「…是A还是B？」 answered with the option the passages state."""
import pytest

from qa.reader.choice import choice_in, with_choice
from qa.reader.extractive import Span


@pytest.mark.parametrize("question, options, cores", [
    ("2023财年阿里巴巴自身运营二氧化碳净排放是上升了还是下降了？", ("上升", "下降"), ("上升", "下降")),
    ("与菜鸟签署绿色战略合作协议的是伊利还是蒙牛？", ("伊利", "蒙牛"), ("伊利", "蒙牛")),
    ("“能耗宝”是阿里云的平台还是菜鸟的平台？", ("阿里云的平台", "菜鸟的平台"), ("阿里云", "菜鸟")),
    ("张勇认为ESG越来越成为一道必答题还是选择题？", ("一道必答题", "选择题"), ("一道必答", "选择")),
    ("價值鏈實現的是碳排放總量下降還是碳排放強度下降呢？", ("碳排放总量下降", "碳排放强度下降"), ("总量", "强度")),
])
def test_choice_questions_and_their_options(question, options, cores):
    choice = choice_in(question)
    assert choice is not None and choice.options == options and choice.cores == cores


@pytest.mark.parametrize("question", [
    "教堂内除了举办定期的弥撒外，还是一个什么场所？",   # 还是 as "also"
    "为什么AVI已经属于老旧的技术却还是使用广泛？",
    "刘定国为何还是没能成为苗栗县县长？",
    "澄海县还是谁的家乡？",
    "先涂精华还是乳液",                               # no copula: where the first option starts is unknown
    "恢复的磁带能否添加颜色以增强画面，还是仍旧保持黑白?",
    "公益幸福团有多少个？",
])
def test_other_questions_are_no_choice(question):
    assert choice_in(question) is None


def _best(passage: str, text: str, score: float = 0.3) -> Span:
    start = passage.index(text)
    return Span(0, start, start + len(text), text, score, 0.0)


def test_the_stated_option_answers_at_the_readers_confidence():
    passage = "2023财年，阿里巴巴自身运营二氧化碳净排放为468.1万吨，同比下降12.9%。"
    spans = [_best(passage, "12.9%", 0.17), _best(passage, "468.1万吨", 0.05)]
    out = with_choice("2023财年净排放是上升了还是下降了？", [passage], None, spans)
    assert out[0].text == "下降" and passage[out[0].start:out[0].end] == "下降"
    assert out[0].confidence == spans[0].confidence and out[1:] == spans   # the threshold decides as before


def test_a_negated_option_is_ruled_out_and_a_shared_tail_is_kept():
    passage = "张勇表示，ESG越来越成为一道必答题，而非选择题。"
    out = with_choice("张勇认为ESG越来越成为一道必答题还是选择题？", [passage], None, [_best(passage, "而非选择题")])
    assert out[0].text == "一道必答题"
    chem = "乙二醛是一个有机化合物，化学式为OHC-CHO。"
    assert with_choice("乙二醛是有机还是无机化合物？", [chem], None, [_best(chem, "乙二醛")])[0].text == "有机化合物"


def test_of_two_stated_options_the_one_near_the_best_span_answers():
    passage = "菜鸟建设了超1460个县级共同配送中心。阿里云通过“能耗宝”这一碳排放优化核算平台服务企业。"
    out = with_choice("“能耗宝”是阿里云的平台还是菜鸟的平台？", [passage], None, [_best(passage, "“能耗宝”这一碳排放优化核算平台")])
    assert out[0].text == "阿里云"
    # neither in the best span's passage: retrieval's order decides among the passages the kept spans come from
    passages = ["伊利与菜鸟签署协议。", "蒙牛发布了新品。", "菜鸟发布年报。"]
    spans = [Span(2, 4, 6, "年报", 0.2, 0.0), Span(0, 3, 5, "菜鸟", 0.1, 0.0), Span(1, 0, 2, "蒙牛", 0.05, 0.0)]
    out = with_choice("签署协议的是伊利还是蒙牛？", passages, None, spans)
    assert (out[0].passage, out[0].text, out[0].confidence) == (0, "伊利", spans[0].confidence)


def test_nested_negated_and_unread_options_are_no_answer():
    """Review 15b: 「合法」 inside 「不合法」, 「热带」 inside 「亚热带」, an option negated a few words before, and an
    option only in a passage none of the reader's kept spans comes from."""
    law = "用人单位安排加班却不支付加班费，属于不合法行为。"
    assert with_choice("不支付加班费是合法还是不合法？", [law], None, [_best(law, "加班费")])[0].text == "不合法"
    climate = "海南岛属于亚热带季风气候。"
    assert with_choice("海南岛属于热带还是亚热带？", [climate], None, [_best(climate, "季风气候")])[0].text == "亚热带"
    for said in ("碳排放未能下降", "碳排放没能下降", "碳排放并未出现下降", "碳排放不再下降"):
        text = f"{said}，同比增长了5%。"
        spans = [_best(text, "同比增长了5%")]
        assert with_choice("碳排放是上升了还是下降了？", [text], None, spans) == spans, said
    passages = ["2023财年碳排放同比下降12.9%。", "2019年碳排放510万吨。"]
    spans = [Span(1, 7, 12, "510万吨", 0.07, 0.0)]   # the year rule set the first passage's spans aside
    assert with_choice("2019年碳排放是上升了还是下降了？", passages, None, spans) == spans
    teacher = "张三大学毕业后成为了一名教师。他的父亲是一名医生。"
    assert with_choice("张三大学毕业后成为了教师还是医生？", [teacher], None, [_best(teacher, "一名教师")])[0].text == "教师"


def test_nothing_changes_without_a_stated_option_a_title_or_a_span():
    passage = "钉钉服务的企业组织超过2300万家。"
    spans = [_best(passage, "2300万家")]
    assert with_choice("钉钉用户是个人还是政府？", [passage], None, spans) == spans
    titled = "伊利年报\n协议由菜鸟签署，另一方未公布。"   # only the title states an option
    spans = [Span(0, 8, 10, "菜鸟", 0.2, 0.0)]
    assert with_choice("签署协议的是伊利还是蒙牛？", [titled], [5], spans) == spans   # a title is context, never an answer
    assert with_choice("签署协议的是伊利还是蒙牛？", [titled], None, spans)[0].text == "伊利"
    assert with_choice("签署协议的是伊利还是蒙牛？", [titled], [5], []) == []
    assert with_choice("钉钉有多少用户？", [passage], None, spans) == spans
