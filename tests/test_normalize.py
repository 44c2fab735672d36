from hypothesis import given, settings
from hypothesis import strategies as st

from index.normalize import _fold, normalize

OCR = "据了解，2021 年年底，ESG\n被正式确立为阿里巴巴的基石\n\n战略之一。报告指出，为确保\n\nESG战略的实施\n"


def test_stray_spaces_between_cjk_and_digits_are_dropped():
    assert normalize("公益幸福团超 110个").text == "公益幸福团超110个"
    assert normalize("2021 年年底").text == "2021年年底"
    assert normalize("减碳 141.9 万吨").text == "减碳141.9万吨"


def test_mid_sentence_line_breaks_are_joined_and_sentence_ends_break():
    n = normalize(OCR)
    assert n.text == "据了解，2021年年底，ESG被正式确立为阿里巴巴的基石战略之一。报告指出，为确保ESG战略的实施"
    assert normalize("构建信任。\n\n带动更多\n中小企业").text == "构建信任。\n带动更多中小企业"
    assert normalize("他说：“好。”\n下一段").text == "他说：“好。”\n下一段"
    assert normalize("实现了“双降”\n\n目标。").text == "实现了“双降”目标。"


def test_a_byline_is_its_own_paragraph_but_body_text_about_reporters_is_not():
    assert normalize(" ■ 本报记者 皮磊\n\n阿里巴巴发布\n2023年报告").text == "■本报记者皮磊\n阿里巴巴发布2023年报告"
    assert normalize("上文\n本报记者 张三\n正文开始").text == "上文\n本报记者张三\n正文开始"
    assert normalize("记者了解到，阿里公益打通\n\n价值链").text == "记者了解到，阿里公益打通价值链"
    assert normalize("本报记者了解到，数据\n显示").text == "本报记者了解到，数据显示"


def test_latin_words_split_by_a_line_break_keep_a_space():
    assert normalize("Alibaba\nGroup 发布").text == "Alibaba Group发布"
    assert normalize("Jean  Phillippe").text == "Jean Phillippe"


def test_full_width_forms_are_folded():
    assert normalize("２０２３年ＥＳＧ占比４９．１％").text.startswith("2023年ESG占比49")
    assert normalize("占比４９％").text == "占比49%"


def test_offsets_point_back_into_the_original():
    n = normalize(OCR)
    i = n.text.index("2021年年底")
    s, e = n.to_original(i, i + len("2021年年底"))
    assert OCR[s:e] == "2021 年年底"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("超 110个\n\n年ab，。ＡＢ１２％\u3000\r\t公益")), max_size=60))
def test_offset_map_round_trip(text):
    n = normalize(text)
    assert len(n.offsets) == len(n.text)
    assert list(n.offsets) == sorted(set(n.offsets)), "offsets must strictly increase"
    for ch, off in zip(n.text, n.offsets):
        orig = text[off]
        if ch in " \n":
            assert orig.isspace() or orig in "\u3000"
        else:
            assert _fold(orig) == ch
    # no character other than whitespace is ever dropped
    kept = {off for off in n.offsets}
    for i, ch in enumerate(text):
        if not (ch.isspace() or ch == "\u3000"):
            assert i in kept
