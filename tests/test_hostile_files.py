"""Files built to break the readers: zip bombs, sheets that declare a huge size, pages of many blocks,
other formats under a text suffix, damaged frames, odd file names. Each is read within bounds, or
named with its reason, and the rest of the batch goes on.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from index.documents import Skipped, shown_name
from index.ingest import read_file, read_paths

ROOT = Path(__file__).resolve().parents[1]
FACT = "星河公司是一家虚构的航天材料企业。星河公司的创始人是李明远。公司成立于2016年，总部设在青岛。"


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The zip package ``data`` with the parts in ``replace`` swapped for new bytes (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name in sorted(set(replace) - set(zin.namelist())):
            zout.writestr(name, replace[name])
    return out.getvalue()


def _docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- Office packages
def test_a_word_file_that_unpacks_past_the_part_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    import index.readers.package as package

    small, bomb = tmp_path / "small.docx", tmp_path / "bomb.docx"
    small.write_bytes(_docx_bytes([FACT]))
    bomb.write_bytes(_docx_bytes([FACT] * 3000))    # document.xml ~500 KB, the zip under 40 KB
    with zipfile.ZipFile(small) as z:   # python-docx's template: styles are the largest parts
        monkeypatch.setattr(package, "MAX_PART_BYTES", max(i.file_size for i in z.infolist()))
    assert FACT in read_file(small).documents[0].text
    assert bomb.stat().st_size < 40_000
    res = read_file(bomb)
    assert not res.documents
    assert res.skipped[0].reason.startswith("its part word/document.xml unpacks to "), res.skipped


def test_a_renamed_part_counts_and_parts_no_reader_parses_do_not(tmp_path, monkeypatch):
    """The libraries find parts by content type, so ``word/document.dat`` is parsed as the body; an
    .xlsx's pivot cache and pictures are never parsed, so only the package total holds them."""
    import index.readers.package as package

    data = _docx_bytes([FACT] * 3000)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        body = z.read("word/document.xml")
        types, rels = z.read("[Content_Types].xml"), z.read("word/_rels/document.xml.rels")
    monkeypatch.setattr(package, "MAX_PART_BYTES", len(body) - 1)
    renamed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name = "word/document.dat" if info.filename == "word/document.xml" else info.filename
            part = zin.read(info.filename)
            if info.filename in ("[Content_Types].xml", "_rels/.rels"):
                part = part.replace(b"/word/document.xml", b"/word/document.dat").replace(b"word/document.xml",
                                                                                          b"word/document.dat")
            zout.writestr(name, part)
    p = tmp_path / "renamed.docx"
    p.write_bytes(renamed.getvalue())
    res = read_file(p)
    assert not res.documents and res.skipped[0].reason.startswith("its part word/document.dat unpacks to ")
    assert types and rels
    sheet = _xlsx_bytes([["地区", "营收"], ["华东", "12亿元"]])
    with zipfile.ZipFile(io.BytesIO(sheet)) as z:
        largest = max(i.file_size for i in z.infolist())
    monkeypatch.setattr(package, "MAX_PART_BYTES", largest)
    pivot = tmp_path / "pivot.xlsx"
    pivot.write_bytes(_rezip(sheet, {"xl/pivotCache/pivotCacheRecords1.xml": b"<r/>" * largest,
                                     "xl/media/image1.png": b"\0" * largest * 2}))
    assert "地区：华东；营收：12亿元" in read_file(pivot).documents[0].text


def test_an_office_file_that_unpacks_past_the_package_limit_is_refused(tmp_path, monkeypatch):
    import index.readers.package as package

    monkeypatch.setattr(package, "MAX_PACKAGE_BYTES", 30_000)
    p = tmp_path / "many.pptx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(10):
            z.writestr(f"ppt/media/blank{i}.bin", b"\0" * 5_000)
    res = read_file(p)
    assert not res.documents and "unpacks to" in res.skipped[0].reason and "Office file" in res.skipped[0].reason


def test_a_workbook_s_sheets_are_streamed_past_the_part_limit_but_its_shared_strings_are_not(tmp_path, monkeypatch):
    import index.readers.package as package

    data = _xlsx_bytes([["序号", "营收"]] + [[i, i * 10] for i in range(400)])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.getinfo("xl/worksheets/sheet1.xml").file_size
        assert all(i.file_size < sheet for i in z.infolist() if i.filename != "xl/worksheets/sheet1.xml")
    monkeypatch.setattr(package, "MAX_PART_BYTES", sheet - 1)
    p = tmp_path / "rows.xlsx"
    p.write_bytes(data)
    assert "序号：399；营收：3990" in read_file(p).documents[0].text
    strings = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + "<si><t>重复</t></si>" * (sheet // 10) + "</sst>").encode()
    bomb = tmp_path / "strings.xlsx"
    bomb.write_bytes(_rezip(data, {"xl/sharedStrings.xml": strings}))
    res = read_file(bomb)
    assert not res.documents and res.skipped[0].reason.startswith("its part xl/sharedStrings.xml unpacks to ")


def test_a_sheet_that_declares_the_largest_size_is_read_at_the_pace_of_its_cells(tmp_path):
    """<dimension ref="A1:XFD1048576"/> and one cell in the last row: openpyxl padded every row to 16,384
    cells, and the 5 KB file took minutes. It must read in a fraction of the subprocess's minute."""
    data = _xlsx_bytes([["地区", "营收"], ["华东", "12亿元"]])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
    xml = xml.replace("</sheetData>", '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>末行</t></is></c>'
                                      "</row></sheetData>")
    p = tmp_path / "declared.xlsx"
    p.write_bytes(_rezip(data, {"xl/worksheets/sheet1.xml": xml.encode()}))
    code = ("import sys; from index.ingest import read_file; r = read_file(sys.argv[1]); "
            "print(r.documents[0].text)")
    done = subprocess.run([sys.executable, "-c", code, str(p)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "地区：华东；营收：12亿元" in done.stdout and "末行" in done.stdout


def test_cells_past_the_column_limit_are_not_read_and_say_so(tmp_path, monkeypatch):
    import index.readers.sheets as sheets

    monkeypatch.setattr(sheets, "MAX_COLUMNS", 2)
    p = tmp_path / "wide.xlsx"
    p.write_bytes(_xlsx_bytes([["地区", "营收", "备注"], ["华东", "12亿元", "远处的格子"]]))
    res = read_file(p)
    assert "营收：12亿元" in res.documents[0].text and "远处的格子" not in res.documents[0].text
    assert [n.reason for n in res.notes] == ["cells past column 2 are not indexed"]
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("地区,营收,\n华东,12亿元,\n", encoding="utf-8")   # empty cells past the limit: no note
    assert not read_file(narrow).notes


# ---------------------------------------------------------------- web pages
def test_text_after_a_large_inline_image_is_kept(tmp_path):
    import base64

    blob = base64.b64encode(os.urandom(9 * 2**20)).decode()   # past lxml's 10 MB text node
    page = (f"<html><body><p>第一段：钉钉用户超6亿。</p><img src=\"data:image/png;base64,{blob}\">"
            f"<p>第二段：{FACT}</p></body></html>")
    p = tmp_path / "inline.html"
    p.write_text(page, encoding="utf-8")
    text = read_file(p).documents[0].text
    assert "钉钉用户超6亿" in text and "李明远" in text and "base64" not in text


def test_a_page_of_many_blocks_skips_the_quadratic_fallback(tmp_path, monkeypatch):
    import trafilatura

    import index.readers.web as web

    seen = []
    real = trafilatura.extract

    def spy(html, **kwargs):
        seen.append(kwargs.get("fast"))
        return real(html, **kwargs)
    monkeypatch.setattr(trafilatura, "extract", spy)
    rows = "".join(f"<table><tr><td>华东{i}</td><td>{i}亿元</td></tr></table>" for i in range(web.MAX_BLOCKS_FOR_FALLBACK))
    many = tmp_path / "many.html"
    many.write_text(f"<html><body>{rows}</body></html>", encoding="utf-8")
    few = tmp_path / "few.html"
    few.write_text(f"<html><body><p>{FACT}</p></body></html>", encoding="utf-8")
    assert "华东2999" in read_file(many).documents[0].text
    assert "李明远" in read_file(few).documents[0].text
    assert seen == [True, False]


@pytest.mark.parametrize("head, data", [
    ('<meta charset="utf-16">', lambda page: page.encode("utf-8")),   # HTML5: read as UTF-8
    ('<meta charset="gbk">', lambda page: b"\xef\xbb\xbf" + page.encode("utf-8")),   # the BOM outranks <meta>
])
def test_a_page_s_meta_charset_gives_way_where_html5_says(tmp_path, head, data):
    page = f"<html><head>{head}<title>星河公司</title></head><body><p>{FACT}</p></body></html>"
    p = tmp_path / "page.html"
    p.write_bytes(data(page))
    assert "李明远" in read_file(p).documents[0].text


# ---------------------------------------------------------------- text suffixes
@pytest.mark.parametrize("name", ["report.csv", "report.html", "report.txt", "report.json", "report.md"])
def test_another_format_under_a_text_suffix_is_named(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    res = read_file(p)
    assert not res.documents
    assert res.skipped[0].reason == "the file is a PDF (.pdf), not text: give it its format's suffix"


@pytest.mark.parametrize("utf8_first", [True, False])
def test_a_csv_of_utf8_rows_and_gbk_rows_reads_both_in_either_order(tmp_path, utf8_first):
    """GBK rows first fill the sample a decoding is judged on, where both readings agree: the lines where
    they differ must decide, however far down they are."""
    utf8 = "300,中国银行A,人民B\n上海分行,营收12亿元,\n".encode("utf-8")
    gbk = "".join(f"华东{i},{i}亿元,北京市朝阳区\n" for i in range(300)).encode("gbk")
    p = tmp_path / "appended.csv"
    p.write_bytes(b"a,b,c\n" + (utf8 + gbk if utf8_first else gbk + utf8))
    text = read_file(p).documents[0].text
    assert "中国银行A" in text and "营收12亿元" in text and "北京市朝阳区" in text


@pytest.mark.parametrize("start", ["1e400", "Infinity", "-Infinity", "NaN"])
def test_squad_json_whose_offsets_are_not_whole_numbers_still_gives_its_paragraphs(tmp_path, start):
    p = tmp_path / "set.json"
    p.write_text('{"data": [{"title": "t", "paragraphs": [{"context": "%s", "qas": [{"id": "q", "question": "?",'
                 ' "answers": [{"text": "2016年", "answer_start": %s}]}]}]}]}' % (FACT, start), encoding="utf-8")
    res = read_file(p)
    assert not res.skipped and res.documents[0].text == FACT


# ---------------------------------------------------------------- images
def test_a_tiff_page_over_the_pixel_limit_is_named_and_the_pages_after_it_are_read(tmp_path, monkeypatch):
    from PIL import Image

    import index.readers.image as image

    pages = []

    def fake_ocr(img):   # OCR itself is tested in test_formats.py; here only which pages reach it
        pages.append(img.size)
        return [image.OcrLine(f"第{len(pages)}页的文字", (0.0, 0.0, 40.0, 10.0), 0.99)]
    monkeypatch.setattr(image, "ocr_image", fake_ocr)
    monkeypatch.setattr(image, "MAX_PIXELS", 100_000)
    p = tmp_path / "pages.tif"
    first, big, last = Image.new("L", (200, 100), 255), Image.new("L", (500, 500), 255), Image.new("L", (300, 100), 255)
    first.save(p, save_all=True, append_images=[big, last])
    res = read_file(p)
    assert pages == [(200, 100), (300, 100)]
    assert "第1页的文字" in res.documents[0].text and "第2页的文字" in res.documents[0].text
    assert [n.reason for n in res.notes] == ["page 2 is 500×500 (0 megapixels), over the 0-megapixel limit: not read"]


def test_a_tiny_cover_page_is_named_and_the_pages_after_it_are_read(tmp_path, monkeypatch):
    from PIL import Image

    import index.readers.image as image

    monkeypatch.setattr(image, "ocr_image", lambda img: [image.OcrLine("正文页", (0.0, 0.0, 40.0, 10.0), 0.99)])
    p = tmp_path / "cover.tif"
    Image.new("L", (1, 1), 255).save(p, save_all=True, append_images=[Image.new("L", (200, 100), 255)])
    res = read_file(p)
    assert "正文页" in res.documents[0].text
    assert [n.reason for n in res.notes] == ["page 1 is 1×1 pixels, too small to hold a line of text: not read"]


def test_an_image_too_thin_for_text_is_named_and_pil_s_bomb_warning_stays_quiet(tmp_path):
    from PIL import Image

    thin = tmp_path / "thin.png"
    Image.new("L", (1, 4000), 255).save(thin)
    assert read_file(thin).skipped[0].reason == "image is 1×4000 pixels, too small to hold a line of text"
    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 9_000), 1).save(huge)   # 90 megapixels: past PIL's warning, under its error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = read_file(huge)
    assert "over the 50-megapixel limit" in res.skipped[0].reason
    assert not [w for w in caught if "DecompressionBomb" in type(w.message).__name__]


def test_pdfium_s_reason_is_shown_plainly(tmp_path):
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4 garbage that is no PDF")
    assert read_file(p).skipped[0].reason == "not a readable PDF (Data format error)"


def test_a_library_error_without_a_message_is_named_by_its_type(tmp_path, monkeypatch):
    import index.readers.slides as slides

    class ResizeImgError(Exception):
        pass

    def broken(path):
        raise ResizeImgError()
    monkeypatch.setattr(slides, "read_pptx", broken)
    p = tmp_path / "odd.pptx"
    p.write_bytes(b"PK\x03\x04 not really")
    assert read_file(p).skipped[0].reason == "could not read it (ResizeImgError)"


# ---------------------------------------------------------------- file names
def test_names_are_shown_on_one_line_and_writable_as_utf8():
    assert shown_name("报告/年报 2023.txt") == "报告/年报 2023.txt"
    assert shown_name("bad\nskipped fake.pdf") == "bad\\nskipped fake.pdf"
    assert shown_name("red\x1b[31m.txt") == "red\\x1b[31m.txt"
    assert shown_name(os.fsdecode(b"\xff\xfe\xb0\xa1.txt")) == "\\xff\\xfe\\xb0\\xa1.txt"
    assert shown_name("a\ud800b") == "a\\ud800b"   # a lone surrogate that is no escaped byte
    assert shown_name("evil\u202etxt.exe") == "evil\\u202etxt.exe"   # a bidi override reorders what follows
    for kept in ("年报\u3000全文.txt", "👨\u200d👩\u200d👧.png", "e\u0301.txt", "a\u00a0b"):
        assert shown_name(kept) == kept
    s = Skipped("a\u2028b.pdf", "file is empty\nreally")
    assert (s.source, s.reason) == ("a\\u2028b.pdf", "file is empty\\nreally")
    json.dumps([s.source, s.reason], ensure_ascii=False).encode("utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="a file name of bytes that are not UTF-8 needs a Linux file system")
def test_a_file_whose_name_is_not_utf8_is_skipped_by_name_and_the_batch_is_indexed(tmp_path, tiny_encoder_path,
                                                                                  capsys):
    from index.store import IndexStore
    from qa.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(FACT, encoding="utf-8")
    with open(os.path.join(os.fsencode(docs), b"\xff\xfe\xb0\xa1.txt"), "wb") as f:
        f.write("钉钉用户超6亿。".encode("utf-8"))
    res = read_paths([docs])
    assert [d.source for d in res.documents] == [str(docs / "good.txt")]
    assert res.skipped == [Skipped(str(docs) + "/\\xff\\xfe\\xb0\\xa1.txt",
                                   "its name is not valid UTF-8: rename the file to index it")]
    idx = tmp_path / "idx"
    assert main(["index", str(docs), "--index", str(idx), "--encoder", str(tiny_encoder_path)]) == 0
    err = capsys.readouterr().err
    assert "\\xff\\xfe\\xb0\\xa1.txt: its name is not valid UTF-8" in err and "Traceback" not in err
    assert len(IndexStore.load(idx).documents) == 1
