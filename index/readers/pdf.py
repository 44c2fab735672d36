"""PDF: each page's text layer (pypdfium2); a page without one is rendered and read by OCR.

Why pypdfium2: Apache-2.0/BSD, one small wheel, fast text extraction and page rendering (PyMuPDF
is AGPL and 66 MB). Regions give each character its page; OCR'd pages also give the line's box in
pixels of the page rendered at ``OCR_SCALE``.

Ruled tables: a text layer reads a table as rows of cells run together (「华东 12亿元 1200人」), so a
figure loses the column it belongs to. A page that draws enough ruling lines is given to
pdfplumber (MIT), whose table finder returns the cells; each row is then written as a spreadsheet
row is (「地区：华东；营收：12亿元」, index/readers/sheets.py), in its place between the text above and
below it. pdfplumber parses a page in Python (about 15–100 ms), so pages without rules never reach it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from index.readers.located import LocatedText, UnreadableFile
from index.readers.pdf_columns import column_ordered_text
from index.readers.running_lines import edge_indices, running_lines
from index.readers.sheets import cell_text, table_lines

SUFFIXES = {".pdf"}
MIN_TEXT_CHARS = 8        # a page with less text than this is taken for a scan and OCR'd
OCR_SCALE = 3.0           # 216 dpi: small CJK print needs it
MIN_OCR_SCALE = 2.0       # 144 dpi: a scan stored at a lower resolution is still rendered this large
MAX_PAGES = 2000
TABLE_MIN_PATHS = 6       # a page drawing fewer lines and boxes than this is not searched for tables
TABLE_MAX_PATHS = 600     # ... nor one drawing more (a chart or a drawing: pdfplumber would take seconds)
EDGE_BAND = 0.1           # of a page's height, at its top and at its bottom: where running headers and footers are


def _pdfium_reason(message: str) -> str:
    """PDFium's reason in "Failed to load document (PDFium: Data format error)." ("damaged" where it has
    none, or says "Success")."""
    m = re.search(r"PDFium:\s*([^)]*)", message)
    reason = (m.group(1) if m else message).strip(" .")
    return "damaged" if not reason or reason.lower() == "success" else reason


def read_pdf(path: Path, ocr: bool = True, on_page: Callable[[int, int], None] | None = None) -> LocatedText:
    """The text of every page, page by page (``on_page(done, total)`` after each)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise UnreadableFile("encrypted PDF (password-protected): cannot read it") from None
        raise UnreadableFile(f"not a readable PDF ({_pdfium_reason(msg)})") from None
    pages: list[_Page] = []
    tables = _TableFinder(path)
    try:
        n = len(pdf)
        if n > MAX_PAGES:
            raise UnreadableFile(f"PDF has {n} pages, over the {MAX_PAGES}-page limit")
        for i in range(n):
            page = pdf[i]
            textpage = None
            try:
                textpage = page.get_textpage()
                found = tables.on_page(page, i)
                if found:
                    text = _text_with_tables(textpage, found)
                else:
                    drawn = textpage.get_text_bounded()
                    try:
                        text = column_ordered_text(textpage, page, drawn) or drawn
                    except (RecursionError, ValueError):   # a page the cut cannot take: pdfium's own text
                        text = drawn
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                if len(text.strip()) >= MIN_TEXT_CHARS or not ocr:
                    lines = text.strip().split("\n")
                    pages.append(_Page(i + 1, lines, _text_edges(textpage, page, lines)))
                else:
                    ocr_lines = _ocr_lines(page)
                    order = sorted(range(len(ocr_lines)), key=lambda j: ocr_lines[j].box[1] + ocr_lines[j].box[3])
                    pages.append(_Page(i + 1, [ln.text for ln in ocr_lines], edge_indices(len(ocr_lines), order),
                                       ocr_lines))
            finally:
                if textpage is not None:
                    textpage.close()
                page.close()
            if on_page is not None:
                on_page(i + 1, n)
    finally:
        tables.close()
        pdf.close()
    return _assembled(pages)


@dataclass
class _Page:
    number: int
    lines: list[str]
    edges: tuple[list[int], list[int]]   # the lines at the page's top and bottom (running_lines)
    ocr: list | None = None               # OCR'd lines, with their boxes


def _text_edges(textpage, page, lines: list[str]) -> tuple[list[int], list[int]]:
    """The lines at the top and bottom of a text layer's page: its first and last lines (the drawing
    order), and the lines drawn in the top or bottom EDGE_BAND of the page, wherever the drawing put them
    (a footer drawn before the text comes second). A band's line counts only where its text is once on
    the page (a header's words repeated in the text leave the text alone), and only on upright, uncropped
    pages (the band is measured in the page's own coordinates)."""
    top, bottom = edge_indices(len(lines))
    if not _plain_geometry(page):
        return top, bottom
    width, height = page.get_size()
    keys = ["".join(line.split()) for line in lines]
    once = {k for k, n in Counter(keys).items() if n == 1}
    for end, (low, high) in (("top", (height * (1 - EDGE_BAND), height)), ("bottom", (0.0, height * EDGE_BAND))):
        try:
            band = textpage.get_text_bounded(left=0, bottom=low, right=width, top=high)
        except Exception:   # pdfium cannot bound this page's text: the drawing order alone
            continue
        found = {"".join(ln.split()) for ln in band.replace("\r", "\n").split("\n") if ln.strip()} & once
        edge = top if end == "top" else bottom
        edge.extend(i for i, k in enumerate(keys) if k in found and i not in edge)
    return top, bottom


def _assembled(pages: list[_Page]) -> LocatedText:
    """The pages' text without their running headers and footers (index/readers/running_lines.py), a
    page a paragraph; OCR'd lines keep their boxes."""
    from index.readers.image import add_ocr_page

    running = running_lines([p.lines for p in pages], [p.edges for p in pages])
    out = LocatedText()
    for p, dropped in zip(pages, running):
        if p.ocr is None:
            out.add("\n".join(ln for j, ln in enumerate(p.lines) if j not in dropped).strip(), page=p.number, sep="\n\n")
        else:
            add_ocr_page(out, [ln for j, ln in enumerate(p.ocr) if j not in dropped], p.number)
    return out


Table = tuple[tuple[float, float, float, float], list[list[str]]]   # bbox in PDF points (bottom-left origin), rows


class _TableFinder:
    """pdfplumber over the same file, opened at the first page that draws enough rules; a page it
    cannot parse keeps its plain text, and so does the rest of that file."""

    def __init__(self, path: Path):
        self.path = path
        self._doc = None
        self._failed = False

    def on_page(self, page, index: int) -> list[Table]:
        """The page's tables with at least two rows and two columns. Only upright pages whose boxes
        start at the origin are searched (pdfplumber measures a rotated or cropped page otherwise
        than pdfium's text layer), and only pages drawing TABLE_MIN_PATHS to TABLE_MAX_PATHS lines and
        boxes (more is a chart or a drawing, where pdfplumber takes seconds)."""
        if self._failed:
            return []
        try:
            if not _plain_geometry(page) or not TABLE_MIN_PATHS <= _path_objects(page) <= TABLE_MAX_PATHS:
                return []
            if self._doc is None:
                import pdfplumber

                self._doc = pdfplumber.open(str(self.path))
            plumber_page = self._doc.pages[index]
            try:
                found = plumber_page.find_tables()
                height = float(plumber_page.height)
                tables = []
                for table in found:
                    rows = [[cell_text(c) for c in row] for row in table.extract()]
                    rows = [r for r in rows if any(r)]
                    if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                        x0, top, x1, bottom = (float(v) for v in table.bbox)
                        tables.append(((x0, height - bottom, x1, height - top), rows))
            finally:
                plumber_page.close()   # its parsed objects would otherwise stay until the file closes
            return tables
        except Exception:   # pdfminer rejects some files pdfium reads: the text layer alone, then
            self._failed = True
            return []

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()


def _plain_geometry(page) -> bool:
    """No rotation, and a crop box equal to a media box that starts at (0, 0)."""
    media = tuple(round(v, 2) for v in page.get_mediabox())
    return page.get_rotation() == 0 and media[:2] == (0, 0) and tuple(round(v, 2) for v in page.get_cropbox()) == media


def _path_objects(page) -> int:
    """The page's path objects (lines, boxes), counted up to TABLE_MAX_PATHS + 1. Every text page is
    asked, so the page's own objects are typed through pdfium's C API (4× cheaper than wrapping each
    as a PdfObject on a page of 3,000 characters); a page with form objects is walked into them."""
    import pypdfium2.raw as pdfium_c

    count = 0
    for i in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        kind = pdfium_c.FPDFPageObj_GetType(pdfium_c.FPDFPage_GetObject(page.raw, i))
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            break
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            count += 1
            if count > TABLE_MAX_PATHS:
                return count
    else:
        return count
    count = 0   # forms hold paths of their own: count through them
    for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2):
        count += 1
        if count > TABLE_MAX_PATHS:
            break
    return count


def _table_text(rows: list[list[str]]) -> str:
    return "\n".join(table_lines(rows))


def _text_with_tables(textpage, tables: list[Table]) -> str:
    """The page's text in its own order, each table's characters replaced by its rows (header first,
    「指标 | 数值」, then one 「header：value；…」 line a row) where its first character was. Text
    beside a table (another column) stays where it was."""
    n = textpage.count_chars()
    parts: list[str] = []
    run = 0             # first character of the current run outside every table
    where = None        # the table the previous character was in
    done: set[int] = set()
    for i in range(n):
        left, bottom, right, top = textpage.get_charbox(i)
        if left == right and bottom == top:   # a line break pdfium generated: goes with its neighbour
            inside = where
        else:
            cx, cy = (left + right) / 2, (bottom + top) / 2
            inside = next((k for k, ((x0, y0, x1, y1), _) in enumerate(tables)
                           if x0 - 1 <= cx <= x1 + 1 and y0 - 1 <= cy <= y1 + 1), None)
        if inside is not None and where is None and i > run:
            parts.append(textpage.get_text_range(run, i - run))
        if inside is None and where is not None:
            run = i
        if inside is not None and inside not in done:
            done.add(inside)
            parts.append("\n" + _table_text(tables[inside][1]) + "\n")
        where = inside
    if where is None and n > run:
        parts.append(textpage.get_text_range(run, n - run))
    for k, (_, rows) in enumerate(tables):   # a table pdfium holds no character of (drawn as paths)
        if k not in done:
            parts.append("\n" + _table_text(rows) + "\n")
    text = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def render_scale(page) -> float:
    """``OCR_SCALE``, less for a page so large its bitmap would exceed the OCR pixel limit."""
    from index.readers.image import MAX_PIXELS

    w, h = page.get_size()   # points
    area = max(w * h, 1.0)
    return min(OCR_SCALE, (MAX_PIXELS / area) ** 0.5)


def ocr_scale(page) -> float:
    """The scale a scanned page is rendered at for OCR: ``render_scale``, or the page's scan's own
    resolution where that is lower (never under ``MIN_OCR_SCALE``). Rendering a 150-dpi scan at 216 dpi
    adds pixels, not detail: the benchmark's scanned page took 5.9 s a page at 216 dpi and 4.2 s at its
    own 150 dpi with the same text. Boxes are still given at ``render_scale`` (what crops render at)."""
    return _ocr_scale(page, render_scale(page))


def _ocr_scale(page, full: float) -> float:
    native = _scan_resolution(page)
    return full if native is None else min(full, max(MIN_OCR_SCALE, native))


def _scan_resolution(page) -> float | None:
    """The highest resolution (pixels a point) among the images that cover a quarter of the page or
    more (the scan, or the text layer of a mixed-raster scan), or None without one. Measured by area,
    so a scan placed rotated by 90° reads the same."""
    import pypdfium2.raw as pdfium_c

    w, h = page.get_size()
    best = None
    try:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
            left, bottom, right, top = obj.get_bounds()
            px_w, px_h = obj.get_px_size()
            area = (right - left) * (top - bottom)
            if area >= 0.25 * w * h and px_w > 0 and px_h > 0:
                res = (px_w * px_h / area) ** 0.5
                best = res if best is None else max(best, res)
    except Exception:   # an image pdfium cannot describe: render at the full scale
        return None
    return best


def _ocr_lines(page) -> list:
    """A scanned page's OCR lines in reading order, boxes in the coordinates crops render at."""
    from index.readers.image import OcrLine, ocr_image

    full = render_scale(page)
    scale = _ocr_scale(page, full)
    lines = ocr_image(page.render(scale=scale).to_pil())
    k = full / scale   # boxes in the coordinates crops render at
    if k != 1.0:
        lines = [OcrLine(ln.text, tuple(v * k for v in ln.box), ln.score) for ln in lines]
    return lines
