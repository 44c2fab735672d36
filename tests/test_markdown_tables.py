"""Markdown pipe tables are read as rows of fields, as the other formats' tables are
(index/readers/markdown_tables.py)."""
from index.ingest import read_file
from index.readers.markdown_tables import with_tables_as_rows

REPORT = """# 远峰新材2023年年度报告
## 二、主要会计数据
|项目| 2023年| 2022年|本年比上年增减|
|---|---:|:---:|---|
|营业收入（亿元）| 186.42 | 162.57 | 14.67% |
|归母净利润（亿元）| 14.36 | 17.92 | -19.87% |

公司持续推进研发，a | b 这样的竖线不是表格。
"""


def test_a_pipe_table_becomes_a_header_line_and_rows_of_fields():
    lines = with_tables_as_rows(REPORT).split("\n")
    assert lines[2] == "项目 | 2023年 | 2022年 | 本年比上年增减"
    assert lines[3] == "项目：营业收入（亿元）；2023年：186.42；2022年：162.57；本年比上年增减：14.67%"
    assert lines[4] == "项目：归母净利润（亿元）；2023年：14.36；2022年：17.92；本年比上年增减：-19.87%"
    assert lines[:2] == REPORT.split("\n")[:2] and lines[-2:] == REPORT.split("\n")[-2:]


def test_text_without_a_separator_row_is_kept_as_it_is():
    for text in ("a | b\nc | d", "|a|b|\n|c|d|", "正文 | 竖线", "| a | b |\n|---|\n| c | d |", "无表格的文字。"):
        assert with_tables_as_rows(text) == text


def test_escaped_pipes_stay_in_their_cell_and_a_markdown_file_is_read_with_its_table_as_rows(tmp_path):
    assert with_tables_as_rows("|名称|说明|\n|---|---|\n|A\\|B|两者之一|") == "名称 | 说明\n名称：A|B；说明：两者之一"
    p = tmp_path / "report.md"
    p.write_text(REPORT, encoding="utf-8")
    doc = read_file(p).documents[0]
    assert "2023年：186.42" in doc.text and "| 186.42 |" not in doc.text
    assert doc.title == "远峰新材2023年年度报告"


def test_an_empty_corner_names_the_row_labels():
    rows = with_tables_as_rows("| | 2023年 | 2022年 |\n|---|---|---|\n| 营业收入（亿元）| 186.42 | 162.57 |").split("\n")
    assert rows[1] == "项目：营业收入（亿元）；2023年：186.42；2022年：162.57"
