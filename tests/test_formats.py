"""Documents people have: PDF, Word, slides, spreadsheets, web pages and scans, built in the test.

Each format's text and location map (page; OCR line boxes), OCR with the network unavailable,
bad files named with their reason, and one end-to-end question answered from a two-column scan.
"""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from index.ingest import read_file, read_paths
from index.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (ROOT / "qa" / "samples" / "alibaba_esg_2023.txt").read_text(encoding="utf-8")
FLAT = "".join(ARTICLE.split())
FACT = "星河公司是一家虚构的航天材料企业。星河公司的创始人是李明远。公司成立于2016年，总部设在青岛。"


def cjk_font_path() -> str:
    """A CJK font file (``tests/system_setup.sh`` installs one); skip, or fail in CI, without one."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    fonts = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    fonts = [f for f in fonts if f.endswith((".ttc", ".ttf", ".otf"))]
    if not fonts:
        reason = ("no CJK font to render test scans: install one with 'apt-get install -y fonts-wqy-microhei', "
                  "then rerun make test")
        if os.environ.get("ZHQA_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " (ZHQA_REQUIRE_SYSTEM_TESTS=1)", pytrace=False)
        pytest.skip(reason)
    return fonts[0]


@pytest.fixture(scope="module")
def font_path() -> str:
    return cjk_font_path()


def render_columns(path: Path, font_path: str, paragraphs: list[str], title: str | None = None,
                   chars_per_line: int = 21) -> list[tuple[str, tuple[int, int, int, int]]]:
    """A white page with ``title`` across the top and one column per paragraph; returns each
    drawn line and its box."""
    from PIL import Image, ImageDraw, ImageFont

    font, big = ImageFont.truetype(font_path, 26), ImageFont.truetype(font_path, 40)
    width = 40 + 610 * len(paragraphs)
    lines_per_col = max(len(textwrap.wrap(p, chars_per_line)) for p in paragraphs)
    img = Image.new("RGB", (width, 130 + 38 * lines_per_col), "white")
    draw = ImageDraw.Draw(img)
    drawn = []
    if title:
        draw.text((40, 30), title, font=big, fill="black")
    for ci, para in enumerate(paragraphs):
        for li, line in enumerate(textwrap.wrap(para, chars_per_line)):
            xy = (40 + ci * 610, 110 + li * 38)
            draw.text(xy, line, font=font, fill="black")
            drawn.append((line, draw.textbbox(xy, line, font=font)))
    img.save(path)
    return drawn


def article_columns() -> tuple[str, str]:
    i = FLAT.find("公益幸福团超110个")
    left, right = FLAT[max(0, i - 260):i - 20], FLAT[i - 20:i + 220]
    return left, right


# ---------------------------------------------------------------- OCR and reading order
@pytest.fixture(scope="module")
def scan(tmp_path_factory, font_path):
    path = tmp_path_factory.mktemp("scan") / "scan.png"
    left, right = article_columns()
    drawn = render_columns(path, font_path, [left, right], title="阿里巴巴发布2023年ESG报告")
    return path, left, right, drawn


def _no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network is unavailable in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_ocr_reads_a_two_column_scan_in_reading_order_offline(scan, monkeypatch):
    import difflib

    _no_network(monkeypatch)
    path, left, right, drawn = scan
    res = read_file(path)
    assert not res.skipped, res.skipped
    doc = res.documents[0]
    flat = "".join(doc.text.split())
    assert doc.title == "阿里巴巴发布2023年ESG报告"
    # the left column entirely before the right one, each nearly exact
    expected = "阿里巴巴发布2023年ESG报告" + left + right
    assert difflib.SequenceMatcher(None, expected, flat).ratio() > 0.98
    assert flat.find(left[-12:]) < flat.find(right[:12])
    # every OCR line is a region on page 1 whose box is where that line was drawn
    assert doc.locations and all(r.page == 1 and r.box is not None for r in doc.locations)
    for region in doc.locations[1:]:
        text = doc.text[region.start:region.end]
        line, box = max(drawn, key=lambda d: difflib.SequenceMatcher(None, d[0], text).ratio())
        x0, y0, x1, y1 = region.box
        assert abs(x0 - box[0]) < 15 and abs(y0 - box[1]) < 15 and abs(y1 - box[3]) < 15, (text, region.box, box)



def test_openvino_and_onnxruntime_read_a_scan_alike_and_an_unknown_engine_is_named(scan, monkeypatch):
    import difflib

    from index.readers.image import drop_ocr_engine, ocr_engine_in_use

    path, left, right, _ = scan
    texts = {}
    try:
        for engine in ("onnxruntime", "openvino"):
            monkeypatch.setenv("ZHQA_OCR_ENGINE", engine)
            drop_ocr_engine()
            texts[engine] = "".join(read_file(path).documents[0].text.split())
            assert ocr_engine_in_use() == engine
        assert difflib.SequenceMatcher(None, texts["onnxruntime"], texts["openvino"]).ratio() > 0.99
        monkeypatch.setenv("ZHQA_OCR_ENGINE", "tesseract")
        drop_ocr_engine()
        (skip,) = read_file(path).skipped
        assert "ZHQA_OCR_ENGINE must be one of auto, openvino, onnxruntime, not 'tesseract'" in skip.reason
    finally:
        drop_ocr_engine()



def test_a_page_openvino_fails_on_is_read_by_onnxruntime_in_auto_mode(scan, monkeypatch):
    import index.readers.image as image_reader

    class Broken:
        def __call__(self, bgr):
            raise RuntimeError("CPU plugin: unsupported instruction")

    path, left, _, _ = scan
    try:
        monkeypatch.setenv("ZHQA_OCR_ENGINE", "auto")
        image_reader.drop_ocr_engine()
        monkeypatch.setattr(image_reader, "_ENGINE", Broken())
        monkeypatch.setattr(image_reader, "_ENGINE_KIND", "openvino")
        doc = read_file(path).documents[0]
        assert left[:12] in "".join(doc.text.split())
        assert image_reader.ocr_engine_in_use() == "onnxruntime"
        monkeypatch.setenv("ZHQA_OCR_ENGINE", "openvino")   # asked for by name: its error is the file's reason
        monkeypatch.setattr(image_reader, "_ENGINE", Broken())
        monkeypatch.setattr(image_reader, "_ENGINE_KIND", "openvino")
        (skip,) = read_file(path).skipped
        assert "unsupported instruction" in skip.reason
    finally:
        image_reader.drop_ocr_engine()

def test_the_openvino_engine_sends_no_telemetry(tmp_path, scan):
    """``import openvino`` posts an event to Google Analytics from a multiprocessing child and writes its
    client id under ~/intel, unless its telemetry module is kept out: neither happens here."""
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(f"""
        import multiprocessing, sys, time
        started = []   # openvino-telemetry sends from a multiprocessing child: none may start
        real = multiprocessing.Process.start
        multiprocessing.Process.start = lambda self: started.append(self.name) or real(self)
        from index.readers.image import ocr_engine_in_use, ocr_image
        from PIL import Image
        ocr_image(Image.open({str(scan[0])!r}))
        time.sleep(1.0)   # the telemetry sender runs in the background
        assert ocr_engine_in_use() == "openvino", ocr_engine_in_use()
        assert sys.modules["openvino_telemetry"] is None
        assert not started, started
        print("ok")
    """)
    env = {**os.environ, "HOME": str(home), "ZHQA_OCR_ENGINE": "openvino", "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)   # its CI check would hide the telemetry this test looks for
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert not (home / "intel").exists(), list((home / "intel").iterdir())

def test_reading_order_takes_columns_before_rows():
    from index.readers.image import OcrLine, reading_order

    def line(text, x0, y0, x1, y1):
        return OcrLine(text, (x0, y0, x1, y1), 1.0)

    lines = [line("右1", 600, 100, 1100, 130), line("左1", 40, 100, 560, 130), line("标题", 40, 20, 900, 60),
             line("左2", 40, 140, 560, 170), line("右2", 600, 140, 1100, 170), line("脚注", 40, 300, 1100, 330)]
    assert [ln.text for ln in reading_order(lines)] == ["标题", "左1", "左2", "右1", "右2", "脚注"]
    # double-spaced columns under a heading: still column by column, not row by row
    spaced = [line("标题", 40, 20, 1100, 50)] + [line(f"{side}{i}", x, 100 + 60 * i, x + 500, 130 + 60 * i)
                                                  for side, x in (("左", 40), ("右", 600)) for i in range(3)]
    assert [ln.text for ln in reading_order(spaced)] == ["标题", "左0", "左1", "左2", "右0", "右1", "右2"]
    # one line that OCR split in two, the right piece 2 px higher: left piece first
    split = [line("右半句", 300, 98, 500, 128), line("左半句", 40, 100, 280, 130), line("下一行", 40, 140, 500, 170)]
    assert [ln.text for ln in reading_order(split)] == ["左半句", "右半句", "下一行"]


# ---------------------------------------------------------------- PDF
def _pdf(path: Path, font_path: str, pages: list[str], encrypt: str | None = None) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    c = canvas.Canvas(str(path), encrypt=encrypt)
    for text in pages:
        c.setFont("CJK", 12)
        for i, line in enumerate(textwrap.wrap(text, 38)):
            c.drawString(40, 800 - 18 * i, line)
        c.showPage()
    c.save()


def test_pdf_text_layer_gives_each_page_its_characters(tmp_path, font_path):
    p = tmp_path / "report.pdf"
    _pdf(p, font_path, ["第一页：" + FACT, "第二页：2023财年，阿里活跃的公益幸福团超110个。"])
    doc = read_file(p).documents[0]
    i = doc.text.find("李明远")
    j = doc.text.find("超110个")
    assert i >= 0 and j > i
    assert [r.page for r in doc.regions_for(i, i + 3)] == [1]
    assert [r.page for r in doc.regions_for(j, j + 6)] == [2]


def test_pdf_running_headers_and_footers_are_left_out_so_a_figure_split_by_a_page_break_is_whole(tmp_path, font_path):
    """Every page draws the company's header and 「第 N 页 共 4 页」; the throughput figure is split by
    the break after page 1 (「1,0」 / 「48.6万标准箱」). Read whole, the footer and the next header sat
    inside the figure."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    p = tmp_path / "csr.pdf"
    c = canvas.Canvas(str(p))
    body = [["公司坚持绿色港口建设，持续推进岸电设施改造。", "2023年，公司全年完成货物吞吐量3.26亿吨，集装箱吞吐量为1,0"],
            ["48.6万标准箱，同比增长7.9%。", "公司全年安全生产投入为4.35亿元。"],
            ["报告期内，公司新增岸电泊位12个。", "港区作业机械电动化比例稳步提高。"],
            ["志愿服务活动惠及周边居民约3.6万人次。", "本报告经董事会审议通过。"]]
    for n, lines in enumerate(body, 1):
        c.setFont("CJK", 9)
        c.drawString(40, 810, "京海港口集团股份有限公司 2023年社会责任报告")
        c.drawString(260, 30, f"第 {n} 页 共 4 页")
        c.setFont("CJK", 12)
        for i, line in enumerate(lines):
            c.drawString(40, 760 - 18 * i, line)
        c.showPage()
    c.save()
    doc = read_file(p).documents[0]
    assert "页 共" not in doc.text and doc.text.count("京海港口集团股份有限公司") == 1   # page 1 keeps its header
    assert doc.title.startswith("京海港口集团股份有限公司")
    text = normalize(doc.text).text
    assert "集装箱吞吐量为1,048.6万标准箱，同比增长7.9%。" in text
    i = doc.text.find("48.6万标准箱")
    assert [r.page for r in doc.regions_for(i, i + 3)] == [2]


LEFT_COLUMN = ["报告期内，公司共召开股东大会3次、董事会会", "议11次、监事会会议7次。董事会由9名董事组", "成，其中独立董事3名。公司聘任天衡会计师", "事务所为2023年度审计机构，审计费用为380", "万元。"]
RIGHT_COLUMN = ["公司面临的主要风险包括国际贸易摩擦、原材", "料价格波动和汇率波动。报告期内，公司汇兑", "损失为2.7亿元。公司已开展远期结售汇业务，", "套期保值规模为15亿美元，以降低汇率波动的", "影响。"]


KPI_ROWS = [("指标", "2022年", "2023年"), ("营业收入（亿元）", "1,136.7", "1,234.5"), ("归母净利润（亿元）", "85.4", "96.8")]


def _two_columns(path: Path, font_path: str, row_by_row: bool) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    c = canvas.Canvas(str(path))
    c.setFont("CJK", 10)
    c.drawString(40, 790, "第五节 公司治理与风险因素")
    placed = [(x, i, line) for x, column in ((40, LEFT_COLUMN), (310, RIGHT_COLUMN)) for i, line in enumerate(column)]
    for x, i, line in sorted(placed, key=lambda p: (p[1], p[0])) if row_by_row else placed:
        c.drawString(x, 760 - 16 * i, line)
    for i, row in enumerate(KPI_ROWS):   # an unruled table below the columns, drawn row by row
        for x, cell in zip((40, 260, 400), row):
            c.drawString(x, 640 - 16 * i, cell)
    c.showPage()
    c.save()


@pytest.mark.parametrize("row_by_row", [True, False])
def test_a_two_column_pdf_page_reads_column_by_column_however_it_was_drawn(tmp_path, font_path, row_by_row):
    """Drawn row by row, pdfium's text ran each left line into the right one beside it."""
    p = tmp_path / "columns.pdf"
    _two_columns(p, font_path, row_by_row)
    doc = read_file(p).documents[0]
    text = normalize(doc.text).text
    assert "".join(LEFT_COLUMN) in text and "".join(RIGHT_COLUMN) in text
    assert text.index("".join(LEFT_COLUMN)) < text.index("".join(RIGHT_COLUMN))
    assert all(" ".join(row) in doc.text.split("\n") for row in KPI_ROWS), "the table below keeps its rows"


def _unruled_table(path: Path, font_path: str, rows: list[tuple[str, ...]], xs: tuple[int, ...]) -> list[str]:
    """A table without rules drawn row by row, cells at ``xs``; the lines its PDF is read as."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    c = canvas.Canvas(str(path))
    c.setFont("CJK", 10)
    for i, row in enumerate(rows):
        for x, cell in zip(xs, row):
            c.drawString(x, 760 - 16 * i, cell)
    c.showPage()
    c.save()
    return read_file(path).documents[0].text.split("\n")


def test_an_unruled_table_drawn_row_by_row_keeps_its_rows(tmp_path, font_path):
    rows = [("指标", "2022年", "2023年"), ("营业收入（亿元）", "1,136.7", "1,234.5"), ("归母净利润（亿元）", "85.4", "96.8"),
            ("加权平均净资产收益率", "15.1%", "15.9%"), ("员工人数（人）", "11,031", "12,345")]
    lines = _unruled_table(tmp_path / "kpi.pdf", font_path, rows, (40, 260, 400))
    assert [ln.split() for ln in lines] == [list(row) for row in rows]
    # a borderless 释义 table (term | 指 | definition) keeps each term beside its definition
    terms = [("公司、本公司、华辰新能源", "指", "华辰新能源科技股份有限公司"), ("控股股东、华辰集团", "指", "华辰投资集团有限公司，持有公司35%股份"),
             ("实际控制人", "指", "王建国先生，公司董事长"), ("报告期", "指", "2023年1月1日至2023年12月31日")]
    lines = _unruled_table(tmp_path / "glossary.pdf", font_path, terms, (40, 200, 230))
    assert [ln.split() for ln in lines] == [list(row) for row in terms]


def test_a_pdf_page_without_text_is_ocrd_with_line_boxes(tmp_path, font_path):
    from reportlab.pdfgen import canvas

    img = tmp_path / "page.png"
    render_columns(img, font_path, [FACT])
    p = tmp_path / "scanned.pdf"
    c = canvas.Canvas(str(p), pagesize=(620, 300))
    c.drawImage(str(img), 0, 0, width=620, height=300)
    c.showPage()
    c.save()
    doc = read_file(p).documents[0]
    i = doc.text.find("李明远")
    assert i >= 0, doc.text
    (region,) = doc.regions_for(i, i + 3)
    assert region.page == 1 and region.box is not None




def test_a_scanned_pdf_page_is_ocrd_at_its_scan_s_resolution_with_boxes_where_crops_look(tmp_path, font_path):
    import pypdfium2 as pdfium
    from PIL import Image
    from reportlab.pdfgen import canvas

    from index.readers.pdf import MIN_OCR_SCALE, OCR_SCALE, ocr_scale, render_scale

    img = tmp_path / "page.png"
    render_columns(img, font_path, [FACT])
    width_px, height_px = Image.open(img).size
    p = tmp_path / "scans.pdf"
    c = canvas.Canvas(str(p), pagesize=(width_px / 2.5, height_px / 2.5))
    c.drawImage(str(img), 0, 0, width=width_px / 2.5, height=height_px / 2.5)   # 2.5 pixels a point
    c.showPage()
    for per_point in (1, 5):
        c.setPageSize((width_px / per_point, height_px / per_point))
        c.drawImage(str(img), 0, 0, width=width_px / per_point, height=height_px / per_point)
        c.showPage()
    c.setPageSize((height_px / 2.5, width_px / 2.5))    # the scan placed turned by 90 degrees
    c.translate(height_px / 2.5, 0)
    c.rotate(90)
    c.drawImage(str(img), 0, 0, width=width_px / 2.5, height=height_px / 2.5)
    c.showPage()
    c.drawString(20, 20, "text only")
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(str(p))
    scales = [ocr_scale(pdf[i]) for i in range(5)]
    assert scales[0] == pytest.approx(2.5, rel=0.01) and scales[3] == pytest.approx(2.5, rel=0.01)
    assert scales[1] == MIN_OCR_SCALE and scales[2] == OCR_SCALE and scales[4] == OCR_SCALE
    assert render_scale(pdf[0]) == OCR_SCALE
    pdf.close()
    # OCR'd at 2.5, its boxes are given at 3.0: where the crop (rendered at render_scale) finds the line
    doc = read_file(p).documents[0]
    i = doc.text.find("李明远")
    (region,) = doc.regions_for(i, i + 3)
    x0, y0, x1, y1 = region.box
    line = next(ln for ln in render_columns(tmp_path / "again.png", font_path, [FACT]) if "李明远" in ln[0])
    bx0, by0, bx1, by1 = (v * OCR_SCALE / 2.5 for v in line[1])
    assert abs(y0 - by0) < 20 and abs(y1 - by1) < 20 and abs(x0 - bx0) < 20, (region.box, line[1])

def _pdf_with_table(path: Path, font_path: str, ruled: bool = True, side: bool = False) -> None:
    from reportlab.lib import colors
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Table, TableStyle

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    c = canvas.Canvas(str(path))
    c.setFont("CJK", 12)
    c.drawString(40, 800, "星河公司2023年经营概况如下表所示。")
    table = Table([["地区", "营收", "员工人数"], ["华东", "12亿元", "1200人"], ["华南", "8亿元", "800人"]],
                  colWidths=[80, 80, 80])
    style = [("FONTNAME", (0, 0), (-1, -1), "CJK")]
    table.setStyle(TableStyle(style + ([("GRID", (0, 0), (-1, -1), 0.5, colors.black)] if ruled else [])))
    _, h = table.wrapOn(c, 400, 300)
    table.drawOn(c, 40, 780 - h)
    if side:   # a second column beside the table
        for k in range(3):
            c.drawString(320, 770 - 14 * k, f"旁栏第{k + 1}行：与表格并排的文字。")
    c.drawString(40, 750 - h, "表后的一段文字：华东地区贡献最多。")
    c.showPage()
    c.setFont("CJK", 12)
    c.drawString(40, 800, "第二页没有表格。")
    c.showPage()
    c.save()


def test_a_ruled_pdf_table_reads_row_by_row_with_its_headers_in_place(tmp_path, font_path):
    p = tmp_path / "table.pdf"
    _pdf_with_table(p, font_path)
    doc = read_file(p).documents[0]
    lines = doc.text.split("\n")
    assert lines[:5] == ["星河公司2023年经营概况如下表所示。", "地区 | 营收 | 员工人数",
                         "地区：华东；营收：12亿元；员工人数：1200人", "地区：华南；营收：8亿元；员工人数：800人",
                         "表后的一段文字：华东地区贡献最多。"], doc.text
    i = doc.text.find("营收：8亿元")
    assert [r.page for r in doc.regions_for(i, i + 6)] == [1]
    assert "第二页没有表格" in doc.text


def test_text_beside_a_pdf_table_stays_and_rotated_pages_keep_their_text_layer(tmp_path, font_path):
    import pypdfium2 as pdfium

    p = tmp_path / "side.pdf"
    _pdf_with_table(p, font_path, side=True)
    text = read_file(p).documents[0].text
    assert "地区：华东；营收：12亿元；员工人数：1200人" in text
    for k in range(3):
        assert f"旁栏第{k + 1}行：与表格并排的文字。" in text, text
    pdf = pdfium.PdfDocument(str(p))
    pdf[0].set_rotation(90)   # as a viewer's "rotate and save": pdfplumber would measure it turned
    rotated = tmp_path / "rotated.pdf"
    pdf.save(str(rotated))
    pdf.close()
    text = read_file(rotated).documents[0].text
    assert "表后的一段文字：华东地区贡献最多。" in text and "旁栏第3行：与表格并排的文字。" in text
    assert "华东 12亿元 1200人" in text, "a rotated page is read as its text layer gives it"


def test_pdf_pages_without_rules_never_reach_the_table_finder(tmp_path, font_path, monkeypatch):
    import pdfplumber

    def refuse(*a, **k):
        raise AssertionError("pdfplumber opened for a page without rules")

    monkeypatch.setattr(pdfplumber, "open", refuse)
    p = tmp_path / "plain.pdf"
    _pdf_with_table(p, font_path, ruled=False)
    text = read_file(p).documents[0].text
    assert "华东 12亿元 1200人" in text and "表后的一段文字" in text


def test_a_pdf_the_table_finder_cannot_parse_keeps_its_text(tmp_path, font_path, monkeypatch):
    import pdfplumber

    def broken(*a, **k):
        raise ValueError("pdfminer: unsupported structure")

    monkeypatch.setattr(pdfplumber, "open", broken)
    p = tmp_path / "table.pdf"
    _pdf_with_table(p, font_path)
    text = read_file(p).documents[0].text
    assert "华东 12亿元 1200人" in text and "第二页没有表格" in text


@pytest.mark.parametrize("make, reason", [
    (lambda p, f: _pdf(p, f, [FACT], encrypt="s3cret"), "encrypted PDF"),
    (lambda p, f: p.write_bytes(b"%PDF-1.7\n1 0 obj <<>>\ntrailer\n%%EOF"), "not a readable PDF"),
    (lambda p, f: p.write_bytes(b""), "file is empty"),
])
def test_bad_pdfs_are_named_with_their_reason(tmp_path, font_path, make, reason):
    p = tmp_path / "bad.pdf"
    make(p, font_path)
    res = read_file(p)
    assert not res.documents and reason in res.skipped[0].reason


# ---------------------------------------------------------------- Office files
def test_docx_paragraphs_and_tables_in_reading_order(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("星河公司年报", 1)
    d.add_paragraph(FACT)
    d.add_paragraph("公司总部位于").add_run().add_break()   # a soft line break inside one paragraph
    d.paragraphs[-1].add_run("青岛市。")
    table = d.add_table(rows=3, cols=3)
    for r, values in enumerate([("指标", "2023年", "2022年"), ("员工人数", "1200人", "1200人"), ("营收", "", "9亿元")]):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    d.add_paragraph("以上为2023年数据。")
    p = tmp_path / "report.docx"
    d.save(p)
    doc = read_file(p).documents[0]
    assert doc.title == "星河公司年报"
    # each value after its column's header, as spreadsheets and PDF tables read; an equal neighbour and an
    # empty cell keep the columns where they are
    rows = ["指标 | 2023年 | 2022年", "指标：员工人数；2023年：1200人；2022年：1200人", "指标：营收；2022年：9亿元"]
    assert doc.text.index(FACT) < doc.text.index("\n".join(rows)) < doc.text.index("以上为2023年数据")
    assert "公司总部位于 青岛市。" in doc.text.splitlines()


def test_pptx_slides_are_pages(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for title, body in (("星河公司", FACT), ("公益", "公益幸福团超110个")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.slides[1].shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1)).text_frame.text = "页脚文字"
    table = deck.slides[1].shapes.add_table(2, 3, Inches(1), Inches(7), Inches(4), Inches(1)).table
    for r, values in enumerate([("平台", "收入占比", "备注"), ("安卓", "", "41%")]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    p = tmp_path / "deck.pptx"
    deck.save(p)
    doc = read_file(p).documents[0]
    i, j = doc.text.find("李明远"), doc.text.find("超110个")
    assert [r.page for r in doc.regions_for(i, i + 3)] == [1] and [r.page for r in doc.regions_for(j, j + 6)] == [2]
    assert doc.text.index("超110个") < doc.text.index("页脚文字")
    # a table reads as Word's do: an empty cell keeps the columns after it in place
    k = doc.text.index("平台 | 收入占比 | 备注\n平台：安卓；备注：41%")
    assert [r.page for r in doc.regions_for(k, k + 2)] == [2]


def test_xlsx_rows_keep_their_header_and_each_sheet_is_a_page(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "营收"
    sheet.append(["地区", "营收"])
    sheet.append(["华东", "12亿元"])
    other = book.create_sheet("员工")
    other.append(["部门", "人数"])
    other.append(["研发", 300])
    p = tmp_path / "figures.xlsx"
    book.save(p)
    doc = read_file(p).documents[0]
    assert "地区：华东；营收：12亿元" in doc.text and "部门：研发；人数：300" in doc.text
    j = doc.text.find("人数：300")
    assert [r.page for r in doc.regions_for(j, j + 6)] == [2]


def test_a_huge_spreadsheet_is_cut_and_says_so(tmp_path, monkeypatch):
    import index.readers.sheets as sheets

    monkeypatch.setattr(sheets, "MAX_ROWS", 1000)
    p = tmp_path / "big.csv"
    p.write_text("编号,数值\n" + "".join(f"{i},{i * 2}\n" for i in range(5000)), encoding="utf-8")
    res = read_paths([p])
    doc = res.documents[0]
    assert "编号：999；数值：1998" in doc.text and "编号：1000；" not in doc.text
    assert res.notes and "cut at 1,000 rows" in res.notes[0].reason


def test_csv_in_gbk(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("公司,创始人\n星河公司,李明远\n".encode("gbk"))
    assert "公司：星河公司；创始人：李明远" in read_file(p).documents[0].text


@pytest.mark.parametrize("payload, reason", [
    ("zip", "not a Word .docx document"), ("text", "not a Word .docx document")])
def test_a_docx_that_is_not_one(tmp_path, payload, reason):
    p = tmp_path / "fake.docx"
    if payload == "zip":
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("notes.txt", "这是一个普通的压缩包")
    else:
        p.write_text("plain text", encoding="utf-8")
    res = read_file(p)
    assert not res.documents and reason in res.skipped[0].reason


# ---------------------------------------------------------------- web pages
PAGE = """<html><head><meta charset="gbk"><title>星河公司新闻</title></head><body>
<nav><a href="/">首页</a> | <a href="/about">关于我们</a> | <a href="/jobs">招聘信息</a></nav>
<article><h1>星河公司发布年度报告</h1><p>{fact}</p><p>该公司表示，未来三年将继续扩大研发投入，
在青岛建设新的材料实验室，并与多所高校开展合作研究。</p><p>报告还披露，公司2023年营收同比增长百分之二十。</p></article>
<footer>版权所有 星河公司 · 备案号 12345</footer></body></html>"""


def test_html_main_content_in_gbk_and_keep_all(tmp_path):
    from index.ingest import read_file as rf

    p = tmp_path / "news.html"
    p.write_bytes(PAGE.format(fact=FACT).encode("gbk"))
    doc = rf(p).documents[0]
    assert "李明远" in doc.text and doc.title == "星河公司新闻"
    assert "备案号" not in doc.text and "招聘信息" not in doc.text
    everything = rf(p, keep_all_html=True).documents[0]
    assert "李明远" in everything.text and "招聘信息" in everything.text and "备案号" in everything.text


def test_a_news_page_trafilatura_reads_as_one_line_gets_its_blocks_back(tmp_path):
    page = ("<html><head><title>南溪新闻网</title></head><body><nav><a href='/'>首页</a></nav><article>"
            "<h1>南溪市地铁3号线正式开通运营</h1><p class='meta'>2024-06-28 来源：南溪日报</p>"
            "<p>6月28日上午，南溪市地铁3号线正式开通运营。3号线全长32.6公里，共设车站24座，总投资约268亿元。</p>"
            "<p>市长刘文博出席开通仪式并宣布线路开通。据介绍，3号线初期最小行车间隔为4分30秒。</p>"
            "</article><footer>版权所有</footer></body></html>")
    p = tmp_path / "metro.html"
    p.write_text(page, encoding="utf-8")
    lines = read_file(p).documents[0].text.splitlines()
    assert lines[:3] == ["南溪市地铁3号线正式开通运营", "2024-06-28 来源：南溪日报",
                         "6月28日上午，南溪市地铁3号线正式开通运营。3号线全长32.6公里，共设车站24座，总投资约268亿元。"]
    assert lines[3].startswith("市长刘文博") and "首页" not in lines and "版权所有" not in lines


def test_a_byline_trafilatura_drops_is_put_back_after_the_headline_and_a_footer_is_not(tmp_path):
    """trafilatura 2.3 drops 「<p class="meta">…作者：何小满</p>」: asked who wrote the page, the bot named a
    designer quoted in it."""
    body = ("<p>记者1月19日从青禾区文化和旅游局获悉，第十二届青禾古镇元宵灯会将于2月8日晚开幕，持续至2月23日，共16天。</p>"
            "<p>今年的主灯高18米、长36米，由自贡彩灯工匠团队历时4个月打造。灯会总设计师罗一凡介绍了灯会的设计思路。</p>")
    page = ("<html><head><title>灯会 - 澜州生活网</title></head><body><nav><ul><li><a href='/'>首页</a></li>"
            "<li><a>发布时间：今天</a></li></ul></nav><main><article><h1>第十二届青禾古镇元宵灯会2月8日开幕</h1>"
            "<p class='meta'>澜州生活网 2025-01-20 09:30　作者：何小满　阅读 23,581</p>" + body +
            "<p class='meta'>来源：澜州日报　责任编辑：王五</p></article></main>"
            "<footer>澜州生活网 2008-2025 版权所有</footer></body></html>")
    p = tmp_path / "lantern.html"
    p.write_text(page, encoding="utf-8")
    lines = read_file(p).documents[0].text.splitlines()
    assert lines[0] == "第十二届青禾古镇元宵灯会2月8日开幕" and "作者：何小满" in lines[1] and "2025-01-20" in lines[1]
    assert lines[2].startswith("记者1月19日")
    assert not any("发布时间：今天" in line or "首页" in line for line in lines)   # the navigation's stays out
    from index.readers.web import _with_byline

    # after the body's first long block no byline is put back; one the text holds is not put twice
    text = "标题\n" + "正文" * 30
    assert _with_byline(text, ["标题", "正文" * 30, "来源：澜州日报"]) == text
    assert _with_byline("标题\n作者：何小满\n" + "正文" * 30, ["标题", "作者：何小满", "正文" * 30]).count("何小满") == 1
    assert _with_byline("标题", ["导航", "标题"]) == "标题"


def test_block_breaks_fall_only_where_a_block_starts():
    from index.readers.web import _block_texts, _with_block_breaks

    # a link inside a paragraph is part of its block; a nav link's text inside the headline is no block start
    page = "<nav><a>地铁</a></nav><h1>南溪市地铁3号线开通</h1><p>正文第一段有<a>链接</a>在内。</p><ul><li><p>列表项</p></li></ul>"
    assert _with_block_breaks("南溪市地铁3号线开通 正文第一段有链接在内。 列表项", _block_texts(page)) == \
        "南溪市地铁3号线开通\n正文第一段有链接在内。\n列表项"
    assert _with_block_breaks("没有块的文本", []) == "没有块的文本"


def test_table_lines_follow_the_table_shape():
    from index.readers.sheets import table_lines

    assert table_lines([["姓名", "张三"], ["性别：", "男"]]) == ["姓名：张三", "性别：男"]   # a form
    assert table_lines([["一"], ["二"]]) == ["一", "二"]
    assert table_lines([["表1 主要财务指标", "", ""], ["指标", "2023年", "2022年"], ["营业收入", "312亿元", "288亿元"],
                        ["", "", ""], ["小计", "", ""]]) == \
        ["表1 主要财务指标", "指标 | 2023年 | 2022年", "指标：营业收入；2023年：312亿元；2022年：288亿元", "小计"]


# ---------------------------------------------------------------- images
def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("name, data, reason", [
    ("empty.png", b"", "file is empty"),
    ("huge.png", _png_header(20000, 10000), "megapixel"),
    ("noise.jpg", b"\xff\xd8\xff\xe0" + os.urandom(200), "image"),
    ("text.webp", "不是图片".encode(), "not a readable image"),
])
def test_bad_images_are_named_with_their_reason(tmp_path, name, data, reason):
    p = tmp_path / name
    p.write_bytes(data)
    res = read_file(p)
    assert not res.documents and reason in res.skipped[0].reason, res.skipped


def test_one_bad_file_does_not_stop_the_batch_and_a_failed_add_loses_nothing(tmp_path, font_path):
    (tmp_path / "good.txt").write_text(FACT, encoding="utf-8")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    (tmp_path / "empty.png").write_bytes(b"")
    res = read_paths([tmp_path], progress=True)
    assert [d.title for d in res.documents] == [FACT[:60]] or len(res.documents) == 1
    assert sorted(Path(s.source).name for s in res.skipped) == ["bad.pdf", "empty.png"]


# ---------------------------------------------------------------- end to end, real models
@pytest.mark.e2e
def test_a_question_about_a_two_column_scan_is_answered_with_its_region(scan, tmp_path, monkeypatch):
    from qa.bot import QABot
    from qa.config import Config

    path, _, _, drawn = scan
    bot = QABot.from_corpus([path], Config.from_env())
    a = bot.ask("2023财年阿里活跃的公益幸福团有多少个？")
    assert not a.abstained and "110" in a.text, a
    assert a.page == 1 and a.region is not None and a.source == str(path)
    line_box = next(box for line, box in drawn if "110" in line)
    x0, y0, x1, y1 = a.region
    assert y0 <= line_box[3] and y1 >= line_box[1]          # the region covers the drawn line with 110
    from index.readers.crop import crop_region

    crop = crop_region(a.source, a.page, a.region)
    assert crop is not None and crop.size[0] > 50 and crop.size[1] > 20


def test_a_saved_index_keeps_the_location_map(tmp_path, tiny_encoder, font_path):
    from index.store import IndexStore

    p = tmp_path / "report.pdf"
    _pdf(p, font_path, ["第一页：" + FACT, "第二页：2023财年，阿里活跃的公益幸福团超110个。"])
    doc = read_file(p).documents[0]
    store = IndexStore(tiny_encoder.name, tiny_encoder.info.dimension, 80, 20)
    store.add_documents([doc], tiny_encoder)
    store.save(tmp_path / "index")
    loaded = IndexStore.load(tmp_path / "index")
    assert loaded.documents[doc.id].document.locations == doc.locations and len(doc.locations) == 2


def test_qa_index_takes_what_it_can_and_loses_nothing(tmp_path, tiny_encoder_path, capsys):
    import docx

    from index.store import IndexStore
    from qa.cli import main

    first = tmp_path / "first.txt"
    first.write_text(FACT, encoding="utf-8")
    idx = tmp_path / "idx"
    assert main(["index", str(first), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (batch / "empty.png").write_bytes(b"")
    with zipfile.ZipFile(batch / "fake.docx", "w") as z:
        z.writestr("a.txt", "不是 Word 文档")
    d = docx.Document()
    d.add_paragraph("钉钉用户超6亿。")
    d.save(batch / "good.docx")
    capsys.readouterr()
    assert main(["index", str(batch), "--index", str(idx)]) == 0
    out = capsys.readouterr()
    assert "added 1" in out.out
    for name, reason in (("broken.pdf", "not a readable PDF"), ("empty.png", "file is empty"),
                         ("fake.docx", "not a Word .docx document")):
        assert f"{name}: {reason}" in out.err, out.err
    assert "Traceback" not in out.err
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    assert main(["index", str(only_bad), "--index", str(idx)]) == 2
    assert len(IndexStore.load(idx).documents) == 2


def test_the_chat_message_shows_the_page_and_the_scan_around_the_answer(scan):
    import base64
    import io
    import re

    from PIL import Image

    from qa.answer import Answer
    from ui.app import format_answer

    path, _, _, drawn = scan
    line, box = next((line, box) for line, box in drawn if "110" in line)
    passage = line
    s = passage.find("110")
    a = Answer("问题？", "110", 0.9, False, "d", "标题", 0, 3, passage, s, s + 3, "d#0",
               page=1, region=tuple(float(v) for v in box), source=str(path))
    msg = format_answer(a)
    assert "第 1 页 (page 1)" in msg
    data = re.search(r'src="data:image/png;base64,([^"]+)"', msg).group(1)
    crop = Image.open(io.BytesIO(base64.b64decode(data)))
    assert crop.size[0] >= box[2] - box[0] and crop.size[1] >= box[3] - box[1]
    plain = Answer("问题？", "110", 0.9, False, "d", "标题", 0, 3, passage, s, s + 3, "d#0")
    assert "第" not in format_answer(plain).split("</span>")[0].split("来源")[1] and "<img" not in format_answer(plain)


def test_a_parser_library_error_becomes_a_skip_not_a_traceback(tmp_path, monkeypatch):
    import index.readers.slides as slides

    def broken(path):
        raise NotImplementedError("shape without geometry")
    monkeypatch.setattr(slides, "read_pptx", broken)
    p = tmp_path / "odd.pptx"
    p.write_bytes(b"PK\x03\x04 not really")
    res = read_file(p)
    assert not res.documents and "could not read it (NotImplementedError: shape without geometry)" in res.skipped[0].reason
