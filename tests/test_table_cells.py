"""A question naming a table row and one of its columns is answered with their cell
(qa/reader/table_cells.py), and the bot puts that cell first."""
import pytest

from qa.reader.table_cells import TABLE_CELL_CONFIDENCE, find_cell, with_table_cell

KPI = ("公司近三年主要会计数据如下。\n"
       "指标：营业收入（亿元）；2021年：982.3；2022年：1,136.7；2023年：1,234.5\n"
       "指标：净利润（亿元）；2021年：80.1；2022年：90.2；2023年：99.9\n"
       "指标：归母净利润（亿元）；2021年：71.2；2022年：85.4；2023年：96.8\n"
       "指标：员工人数（人）；2021年：9,872；2022年：11,031；2023年：12,345\n"
       "报告期内，公司实现营业收入1,234.5亿元，同比增长8.6%。")


@pytest.mark.parametrize("question, value", [
    ("2022年归母净利润是多少？", "85.4"),            # the longer row name wins over 「净利润」
    ("2022年净利润是多少？", "90.2"),
    ("2022年营业收入是多少？", "1,136.7"),
    ("2021年公司员工人数是多少？", "9,872"),
    ("2023年營業收入是多少？", "1,234.5"),           # traditional characters fold
    ("本公司报告期内2022年营业收入是多少？", "1,136.7"),   # words about the report itself are no obstacle
])
def test_the_cell_where_the_named_row_and_column_cross(question, value):
    cell = find_cell(question, [KPI])
    assert cell is not None and cell.text == value and KPI[cell.start:cell.end] == value


@pytest.mark.parametrize("question", [
    "营业收入是多少？",                      # no column named
    "2022年研发投入是多少？",                # no such row
    "2022年营业收入同比增长多少？",          # a change, not a cell
    "2022年和2023年营业收入分别是多少？",    # two cells of different values
    "2022年员工人数是多少亿元？",            # a count asked in money
    "哪一年营业收入最高？",
    "比亚迪2022年营业收入是多少？",            # a company the passage does not mention
    "2023年营业收入和净利润分别是多少？",      # two rows
    "2023年营业收入与净利润相差多少？", "2023年营业收入比去年多多少？", "2023年营业收入与净利润之和是多少？",
    "2023年营业收入不是多少？",
    "2023年人均营业收入是多少？", "2023年营业收入目标是多少？",   # another measure holding the row's name
    "2022年营业收入是多少美元？",              # another unit than the row's
    "BYD2022年营业收入是多少？", "2023年第一季度营业收入是多少？", "2023年海外营业收入是多少？",
    "苹果公司2022年营业收入是多少？", "竞争对手2022年营业收入是多少？", "2022年全球营业收入是多少？",
    "2022年营业收入的两倍是多少？",   # whatever the passage does not say stops a lookup
])
def test_no_cell_where_the_question_names_none_or_several_or_asks_another_thing(question):
    assert find_cell(question, [KPI]) is None


def test_rows_of_spreadsheets_sentences_with_colons_and_titles_read_before_a_passage():
    sheet = "地区：华东；营收：12亿元；员工：1200人\n地区：华南；营收：8亿元；员工：800人"
    assert find_cell("华南的营收是多少？", [sheet]).text == "8亿元"
    staff = "序号：1；姓名：张三；部门：市场部；入职：2019年\n序号：2；姓名：李四；部门：研发部；入职：2021年"
    assert find_cell("李四的部门是什么？", [staff]).text == "研发部"   # the row named by any of its values
    assert find_cell("研发部是谁？", [staff]) is None                     # no column named
    assert find_cell("2019年入职的是哪个部门？", [staff]).text == "市场部"   # 2019年 names the row too
    assert find_cell("2019年入职的员工在哪个部门？", [staff]) is None   # 「员工」: the passage never says it
    assert find_cell("谁和张三同一个部门？", [staff]) is None
    prose = "董事长：张三表示，2022年：公司营收增长。"
    assert find_cell("2022年董事长是谁？", [prose]) is None   # a sentence with colons is no row
    titled = "地区：华东；营收：12亿元\n" + "公司业绩平稳。"
    assert find_cell("华东的营收是多少？", [titled], answer_from=[len("地区：华东；营收：12亿元\n")]) is None


def test_placeholders_and_names_inside_other_names_are_no_cells():
    staff = "姓名：张三；职务：部门经理；部门：市场部\n姓名：李四；职务：工程师；部门：研发部"
    assert find_cell("部门经理是谁？", [staff]) is None        # 「部门」 is inside the value 「部门经理」
    assert find_cell("李四的部门是什么？", [staff]).text == "研发部"
    rows = "项目：研发投入（亿元）；2021年：—；2022年：N/A；2023年：9.87"
    assert find_cell("2021年研发投入是多少？", [rows]) is None and find_cell("2022年研发投入是多少？", [rows]) is None
    assert find_cell("2023年研发投入是多少亿元？", [rows]).text == "9.87"
    assert find_cell("2022年员工人数是多少名？", [KPI]).text == "11,031"   # 名 counts people, as the row's 人 does
    assert find_cell("2023年毛利率是多少？", ["项目：毛利率；2023年：21.3%¹"]).text == "21.3%"   # trimmed like any answer


def test_the_cell_comes_first_and_is_not_listed_twice():
    from qa.reader.extractive import Span

    at = KPI.index("85.4")
    first = KPI.index("71.2")
    reader = [Span(0, first, first + 4, "71.2", 0.6, 0.0), Span(0, at, at + 4, "85.4", 0.1, 0.0)]
    spans = with_table_cell("2022年归母净利润是多少？", [KPI], [0], reader)
    assert [(s.text, s.confidence) for s in spans] == [("85.4", TABLE_CELL_CONFIDENCE), ("71.2", 0.6)]
    assert with_table_cell("归母净利润是多少？", [KPI], [0], reader) == reader


def test_the_bot_answers_the_cell_and_can_be_told_not_to(tiny_encoder_path, tiny_qa_model, tmp_path, monkeypatch):
    from qa.bot import QABot
    from qa.config import Config
    from qa.reader.answer_type import TypeCheck
    from qa.reader.extractive import Span

    path = tmp_path / "kpi.txt"
    path.write_text(KPI, encoding="utf-8")
    for cells, expected in ((True, "85.4"), (False, "71.2")):
        config = Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model), threshold=0.0, top_k=1,
                        table_cells=cells)
        bot = QABot.from_corpus([path], config)

        def first_figure(question, texts, *args, answer_from, **kw):   # as the reader did: the row's first figure
            at = texts[0].index("71.2")
            return TypeCheck(None, [Span(0, at, at + 4, "71.2", 0.6, 0.0)])

        monkeypatch.setattr(bot.reader, "read_ranked", first_figure)
        a = bot.ask("2022年归母净利润是多少？")
        assert a.text == expected and KPI[a.start:a.end] == expected
        assert a.score == (TABLE_CELL_CONFIDENCE if cells else 0.6)
