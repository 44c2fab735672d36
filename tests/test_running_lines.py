"""Running headers and footers of multi-page documents: found by repetition at a page's edges, digits
folded, figures that follow the page number (index/readers/running_lines.py)."""
from index.readers.running_lines import edge_indices, line_key, running_lines



def text(page: int, k: int) -> str:
    """A line of body text, its own on every page."""
    return f"{'甲乙丙丁戊己庚辛壬癸'[page]}{'子丑寅卯辰巳'[k]}段：公司持续推进绿色发展，营业收入同比增长。"


def _report(pages: int, header=lambda n: "华辰新能源科技股份有限公司 2023年年度报告",
            footer=lambda n: f"第 {n} 页 共 8 页") -> list[list[str]]:
    return [[header(n), text(n, 0), text(n, 1), footer(n)] for n in range(1, pages + 1)]


def test_headers_and_page_number_footers_repeated_on_most_pages_are_running():
    found = running_lines(_report(5))
    assert found[0] == {3}                       # the first page keeps its header: often the title
    assert all(f == {0, 3} for f in found[1:])
    assert line_key("第 3 页 共 8 页") == line_key("第12页共8页") == "第#页共#页"


def test_bare_page_numbers_dashes_and_numbers_after_a_cover_are_running_too():
    for footer in (lambda n: str(n), lambda n: f"— {n} —", lambda n: f"{n} / 8", lambda n: f"- {n - 1} -",
                   lambda n: f"第{n + 2}页"):
        found = running_lines(_report(4, header=lambda n: text(n, 2), footer=footer))
        assert all(f == {3} for f in found), footer(1)


def test_headers_alternating_between_odd_and_even_pages_still_count():
    pages = _report(6, header=lambda n: "华辰新能源" if n % 2 else "2023年年度报告")
    assert all(0 in f for f in running_lines(pages)[1:])


def test_figures_that_rise_a_page_at_a_time_but_are_no_page_numbers_stay():
    """Years, quarters and certificate numbers one a page fold to one key and follow the page's number,
    but their lines are no page numbers: text."""
    rows = ["2020年：951.0", "2021年：982.7", "2022年：1002.3", "2023年：1034.5"]
    assert running_lines([[text(n, 0), text(n, 1), text(n, 2), rows[n]] for n in range(4)]) == [set()] * 4
    assert running_lines([[f"{2020 + n}年主要经营数据"] + [text(n, k) for k in range(4)] for n in range(4)]) == [set()] * 4
    quarters = running_lines([[f"2023年第{n + 1}季度报告", "营业收入：100亿元"] for n in range(4)])
    assert not any(0 in f for f in quarters)   # (the same field on every page is kept once: see below)
    certificates = [[f"证书编号：ZS2023{100 + n}", f"兹证明张{n}同学完成全部课程学习，成绩合格，准予结业。",
                     f"发证日期：2023年7月{n + 1}日"] for n in range(5)]
    assert running_lines(certificates) == [set()] * 5


def test_a_repeated_line_that_says_something_stays_once_where_it_first_stands():
    for line in ("单位：万元 币种：人民币", "本页无正文，为签字页。", "证券代码：600000 证券简称：华辰新能"):
        found = running_lines([[line] + [text(n, k) for k in range(3)] for n in range(4)])
        assert found == [set(), {0}, {0}, {0}], line


def test_page_numbers_inside_running_lines_and_running_lines_with_commas():
    for footer in (lambda n: f"华辰新能源2023年年度报告 第 {n} 页", lambda n: f"公司名 {n} / 5", lambda n: f"共5页 第{n}页"):
        pages = [["Huachen New Energy Co., Ltd."] + [text(n, k) for k in range(2)] + [footer(n + 1)] for n in range(4)]
        assert running_lines(pages) == [{3}] + [{0, 3}] * 3, footer(1)
    years = [[text(n, 0), text(n, 1), f"{2019 + n}"] for n in range(4)]   # a year a page: no page number
    assert running_lines(years) == [set()] * 4


def test_ocr_lines_are_looked_at_top_to_bottom():
    # reading order put the header after the footer; the order by height finds both ends
    pages = [[text(n, 0), f"第{n + 1}页", "年度报告"] for n in range(3)]
    edges = [edge_indices(3, [2, 0, 1])] * 3   # top to bottom: 年度报告, the text, 第n页
    found = running_lines(pages, edges)
    assert found[0] == {1} and found[1] == found[2] == {1, 2}
