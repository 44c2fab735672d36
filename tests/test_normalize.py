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


def test_a_figure_or_latin_run_wrapped_inside_chinese_text_joins_without_a_space():
    """A Chinese PDF wraps at the column edge, mid-figure: 「营业收入为1,23」 / 「4.5亿元」 is 1,234.5亿元."""
    assert normalize("营业收入为1,23\n4.5亿元。").text == "营业收入为1,234.5亿元。"
    assert normalize("欧洲市场收入为1\n56.2亿元。").text == "欧洲市场收入为156.2亿元。"
    # letters alone are words, even between Chinese characters (「Apple」 / 「Inc.」), so a unit wrapped
    # mid-word keeps a space (「18.7GW h」): the lesser harm
    assert normalize("公司与Apple\nInc.签订合同").text == "公司与Apple Inc.签订合同"
    assert normalize("出货量为18.7GW\nh，同比增长").text == "出货量为18.7GW h，同比增长"
    # a caption's number is no figure wrapped into the next line's year
    assert normalize("表1\n2023年公司主要会计数据和财务指标如下所示，单位为人民币亿元").text.startswith("表1\n2023年")
    assert normalize("图3\n2019年至2023年公司营业收入及增长率变化情况一览表").text.startswith("图3\n2019年")
    # English words keep their space: written between spaces, or not closed by Chinese on both sides
    assert normalize("采用 Tunnel Oxide\nPassivated Contact 技术").text == "采用Tunnel Oxide Passivated Contact技术"
    assert normalize("英文名称为Alibaba\nGroup Holding Limited").text == "英文名称为Alibaba Group Holding Limited"


def test_a_space_before_a_percent_sign_is_dropped():
    assert normalize("毛利率为 21.3 %，").text == "毛利率为21.3%，"
    assert normalize("grew 12 % in 2023").text == "grew 12% in 2023"


def test_full_width_forms_are_folded():
    assert normalize("２０２３年ＥＳＧ占比４９．１％").text.startswith("2023年ESG占比49")
    assert normalize("占比４９％").text == "占比49%"


def test_table_list_and_form_lines_keep_their_line_breaks():
    form = "员工报销单\n申请人：郑小红\n部门：市场部\n报销金额：3860元"
    assert normalize(form).text == "员工报销单申请人：郑小红\n部门：市场部\n报销金额：3860元"
    # a form's last field keeps its line before a line of text, not before its own value wrapped
    wrapped = "部门：市场部\n注册地址：北京市海淀区中关村大街1号华辰大厦股份有\n限公司"
    assert normalize(wrapped).text == "部门：市场部\n注册地址：北京市海淀区中关村大街1号华辰大厦股份有限公司"
    assert normalize("社会责任\n包括：参与公益").text == "社会责任包括：参与公益"   # a field line is no text under a heading
    assert normalize("详见附表1\n2023年公司实现营业收入100亿元，同比增长。").text.startswith("详见附表1\n2023年")
    # a two-column table read from a PDF: long labels, and the form ends where its last field does
    staff = "第七节 员工情况\n项目：人数\n母公司在职员工的数量（人）：2,113\n主要子公司在职员工的数量（人）：6,529\n截至年末，公司在职员工合计8,642人。"
    assert normalize(staff).text.split("\n") == ["第七节员工情况项目：人数", "母公司在职员工的数量（人）：2,113",
                                                 "主要子公司在职员工的数量（人）：6,529", "截至年末，公司在职员工合计8,642人。"]
    rows = "地区|负责人|营收\n地区：华东；负责人：张伟；营收：12.5亿元\n地区：华北；负责人：李娜；营收：9.8亿元"
    assert normalize(rows).text.split("\n") == ["地区|负责人|营收", "地区：华东；负责人：张伟；营收：12.5亿元",
                                                "地区：华北；负责人：李娜；营收：9.8亿元"]
    md = "# 人员名单\n| 姓名 | 职位 |\n| 孙悦 | 架构师 |\n## 联系方式\n- 部门经理：钱多多\n1. 办公电话\n（2）地点"
    assert len(normalize(md).text.split("\n")) == 7
    # one field-like OCR line between sentence pieces is still a broken sentence
    ocr = "确定了七个长期战略方向作为核心社会责任，\n包括：参与应对气候变化等重大\n生态环境问题。"
    assert normalize(ocr).text == "确定了七个长期战略方向作为核心社会责任，包括：参与应对气候变化等重大生态环境问题。"
    assert normalize("减碳\n2.5万吨").text == "减碳2.5万吨"   # a figure is no list number
    # a Markdown heading keeps its line before a line of any length
    assert normalize("## 二、主要会计数据和财务指标\n公司是否需追溯调整：否。").text == "##二、主要会计数据和财务指标\n公司是否需追溯调整：否。"
    # a line of digits alone is a figure wrapped at its start, no heading over the longer line
    assert normalize("资本开支为\n1\n20亿元，主要用于新建产能和技术改造项目的建设。").text == "资本开支为120亿元，主要用于新建产能和技术改造项目的建设。"
    assert normalize("公司预计资本开支为1\n20亿元，主要用于新建产能和技术改造项目的建设。").text == "公司预计资本开支为120亿元，主要用于新建产能和技术改造项目的建设。"
    # prose that begins like a row of fields but runs on with commas is a wrapped sentence
    prose = "一、经营情况：报告期内实现100亿元；其中：主营业务收入90亿元，\n其他业务收入10亿元。"
    assert normalize(prose).text == prose.replace("\n", "")
    # a numbered clause wrapped onto the next line is one sentence; markers need their space; a stray 「|」
    wrapped = "条款如下：\n1、申请人应当在收到通知之日起十五日内\n向有关部门提交书面材料，逾期视为放弃。\n2、其他。"
    assert normalize(wrapped).text == "条款如下：\n1、申请人应当在收到通知之日起十五日内向有关部门提交书面材料，逾期视为放弃。\n2、其他。"
    for broken in ("规划期为2020\n-2023年", "主讲人是约翰\n·史密斯教授", "增长率为\n+5%", "参见\n#3号文件", "营业收入为|\n12.5亿元"):
        assert "\n" not in normalize(broken).text, broken


def test_a_heading_over_longer_text_keeps_its_line_but_an_ocr_column_does_not():
    body = "远山茶厂位于云南省普洱市，创办于1998年。茶厂的厂长是罗家明。"
    assert normalize("远山茶厂概况\n" + body).text == "远山茶厂概况\n" + body
    column = "带动更多中小企业\n低碳转型\n财报是企业的财务成绩单，\n被正式确立为阿里巴巴的基石\n战略之一。"
    assert "\n" not in normalize(column).text   # lines of one width, broken mid-sentence
    assert normalize("公司概况，\n" + body).text == "公司概况，" + body   # punctuated: a broken sentence
    assert normalize("一、集团概况\n" + body).text == "一、集团概况\n" + body   # a numbered section heading


def test_invisible_characters_are_dropped_and_full_width_decimal_points_folded():
    text = "护士长李\u200b秀华\ufeff，投入１．２亿元，第一．二"
    n = normalize(text)
    assert n.text == "护士长李秀华，投入1.2亿元，第一．二"
    i = n.text.index("李秀华")
    s, e = n.to_original(i, i + 3)
    assert text[s:e] == "李\u200b秀华"


def test_offsets_point_back_into_the_original():
    n = normalize(OCR)
    i = n.text.index("2021年年底")
    s, e = n.to_original(i, i + len("2021年年底"))
    assert OCR[s:e] == "2021 年年底"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("超 110个\n\n年ab，。ＡＢ１２％\u3000\r\t公益．\u200b\ufeff：|-")), max_size=60))
def test_offset_map_round_trip(text):
    n = normalize(text)
    assert len(n.offsets) == len(n.text)
    assert list(n.offsets) == sorted(set(n.offsets)), "offsets must strictly increase"
    for ch, off in zip(n.text, n.offsets):
        orig = text[off]
        if ch in " \n":
            assert orig.isspace() or orig in "\u3000"
        else:
            assert _fold(orig) == ch or (orig == "\uff0e" and ch == ".")
    # no character other than whitespace and invisible ones is ever dropped
    kept = {off for off in n.offsets}
    for i, ch in enumerate(text):
        if not (ch.isspace() or ch in "\u3000\u200b\ufeff"):
            assert i in kept


def test_lines_that_are_blocks_keep_every_break():
    text = "南溪市地铁3号线正式开通运营\n2024-06-28 来源：南溪日报\n6月28日上午，3号线开通\n运营"
    assert normalize(text).text.count("\n") == 0
    assert normalize(text, lines_are_blocks=True).text == \
        "南溪市地铁3号线正式开通运营\n2024-06-28来源：南溪日报\n6月28日上午，3号线开通\n运营"


def test_which_documents_have_lines_that_are_blocks():
    from index.ingest import lines_are_blocks

    assert all(map(lines_are_blocks, ["/d/a.docx", "upload:b.PPTX", "/d/c.html", "/d/d.xlsx", "e.csv"]))
    assert not any(map(lines_are_blocks, ["/d/a.pdf", "/d/scan.png", "/d/notes.txt", "/d/readme.md", "mem"]))


TYPED_NEWS = ("澜州地铁5号线今日开通 全长27.6公里设站19座\n\n"
              "澜州日报讯（记者 郑晓岚）12月28日上午10时，澜州地铁5号线一期工程正式开通初期运营。\n\n"
              "5号线一期北起临江大道站，南至翠屏山站，全长27.6公里。\n\n"
              "“5号线串起了城北老工业区和南部大学城。”董事长周启明说。\n")


def test_typed_text_whose_blank_lines_follow_sentence_ends_has_paragraphs_but_ocr_columns_do_not():
    from index.normalize import blank_lines_end_paragraphs
    from tests.conftest import SAMPLE

    assert blank_lines_end_paragraphs(TYPED_NEWS)   # 2 of the 3 blank lines follow a sentence end
    article = SAMPLE.read_text(encoding="utf-8")
    assert not blank_lines_end_paragraphs(article)   # 20 of 148
    assert not blank_lines_end_paragraphs("标题\n\n正文第一段。")   # one blank line says nothing
    assert not blank_lines_end_paragraphs("第一段被\n\n折断了。\n\n第二段也被\n\n折断了。")   # 1 of 3
    assert not blank_lines_end_paragraphs("无空行。\n第二行。\n第三行。")


def test_a_blank_line_that_ends_a_paragraph_keeps_a_headline_off_the_text_after_it():
    glued = normalize(TYPED_NEWS).text
    assert "设站19座澜州日报讯" in glued   # the headline read into the lede (a span ran across both)
    kept = normalize(TYPED_NEWS, blank_lines_are_breaks=True)
    assert kept.text.split("\n")[0] == "澜州地铁5号线今日开通全长27.6公里设站19座"
    assert kept.text.count("\n") == 3 and "\n\n" not in kept.text
    # a single line break inside a paragraph is still reflowed, and offsets still point back
    wrapped = normalize("第一段被\n折断了。\n\n无句号的标题\n\n第二段。", blank_lines_are_breaks=True)
    assert wrapped.text == "第一段被折断了。\n无句号的标题\n第二段。"
    assert [TYPED_NEWS[o] for o in kept.offsets[:3]] == list(kept.text[:3])


def test_which_documents_end_paragraphs_at_blank_lines():
    from index.ingest import blank_lines_are_breaks

    ocr_like = "被正式确立为阿里巴巴的基石\n\n战略之一。报告指出\n\n为确保\n\n实施"
    assert blank_lines_are_breaks("/d/news.txt", TYPED_NEWS) and blank_lines_are_breaks("upload:n.TXT", TYPED_NEWS)
    assert not blank_lines_are_breaks("/d/scan.txt", ocr_like)
    assert blank_lines_are_breaks("/d/readme.md", ocr_like)   # Markdown's own rule: a blank line ends a paragraph
    assert not any(blank_lines_are_breaks(s, TYPED_NEWS) for s in ("/d/a.pdf", "/d/a.docx", "/d/s.png", "mem"))
