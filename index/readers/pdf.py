"""PDF: each page's text layer (pypdfium2); a page without one is rendered and read by OCR.

Why pypdfium2: Apache-2.0/BSD, one small wheel, fast text extraction and page rendering (PyMuPDF
is AGPL and 66 MB). Regions give each character its page; OCR'd pages also give the line's box in
pixels of the page rendered at ``OCR_SCALE``.

Ruled tables: a text layer reads a table as rows of cells run together (「华东 12亿元 1200人」), so a
figure loses the column it belongs to. A page that draws enough ruling lines is given to
pdfplumber (MIT), whose table finder returns the cells; each row is then written as a spreadsheet
row is (「地区：华东；营收：12亿元」, index/readers/sheets.py), in its place between the text above and
below it. pdfplumber parses a page in Python (about 15 ms), so pages without rules never reach it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from index.readers.located import LocatedText, UnreadableFile
from index.readers.sheets import cell_text, row_text

SUFFIXES = {".pdf"}
MIN_TEXT_CHARS = 8        # a page with less text than this is taken for a scan and OCR'd
OCR_SCALE = 3.0           # 216 dpi: small CJK print needs it
MAX_PAGES = 2000
TABLE_MIN_PATHS = 6       # a page drawing fewer lines and boxes than this is not searched for tables


def read_pdf(path: Path, ocr: bool = True, on_page: Callable[[int, int], None] | None = None) -> LocatedText:
    """The text of every page, page by page (``on_page(done, total)`` after each)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise UnreadableFile("encrypted PDF (password-protected): cannot read it") from None
        raise UnreadableFile(f"not a readable PDF ({msg.split(':', 1)[-1].strip() or 'damaged'})") from None
    out = LocatedText()
    tables = _TableFinder(path)
    try:
        n = len(pdf)
        if n > MAX_PAGES:
            raise UnreadableFile(f"PDF has {n} pages, over the {MAX_PAGES}-page limit")
        for i in range(n):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                found = tables.on_page(page, i)
                text = _text_with_tables(textpage, page, found) if found else textpage.get_text_bounded()
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                textpage.close()
                if len(text.strip()) >= MIN_TEXT_CHARS or not ocr:
                    out.add(text.strip(), page=i + 1, sep="\n\n")
                else:
                    _ocr_page(page, i + 1, out)
            finally:
                page.close()
            if on_page is not None:
                on_page(i + 1, n)
    finally:
        tables.close()
        pdf.close()
    return out


class _TableFinder:
    """pdfplumber over the same file, opened at the first page that draws enough rules; a page it
    cannot parse keeps its plain text."""

    def __init__(self, path: Path):
        self.path = path
        self._doc = None
        self._failed = False

    def on_page(self, page, index: int) -> list[tuple[float, float, list[list[str]]]]:
        """The page's tables with at least two rows and two columns: (top, bottom, rows), in points
        from the top of the page, top to bottom."""
        if self._failed or _path_objects(page) < TABLE_MIN_PATHS:
            return []
        try:
            if self._doc is None:
                import pdfplumber

                self._doc = pdfplumber.open(str(self.path))
            found = []
            for table in self._doc.pages[index].find_tables():
                rows = [[cell_text(c) for c in row] for row in table.extract()]
                rows = [r for r in rows if any(r)]
                if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                    found.append((float(table.bbox[1]), float(table.bbox[3]), rows))
            return sorted(found, key=lambda t: t[0])
        except Exception:   # pdfminer rejects some files pdfium reads: the text layer alone, then
            self._failed = True
            return []

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()


def _path_objects(page) -> int:
    import pypdfium2.raw as pdfium_c

    count = 0
    for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2):
        count += 1
        if count >= TABLE_MIN_PATHS:
            break
    return count


def _text_with_tables(textpage, page, tables: list[tuple[float, float, list[list[str]]]]) -> str:
    """The page's text with each table's area replaced by its rows, header first (「指标 | 数值」),
    then one 「header：value；…」 line a row."""
    width, height = page.get_size()
    parts, top = [], 0.0
    for t_top, t_bottom, rows in tables:
        if t_top > top:   # PDF coordinates run up from the bottom of the page
            parts.append(textpage.get_text_bounded(0, height - t_top, width, height - top).strip())
        header = rows[0]
        parts.append("\n".join([" | ".join(c for c in header if c)] + [row_text(header, r) for r in rows[1:]]))
        top = max(top, t_bottom)
    if top < height:
        parts.append(textpage.get_text_bounded(0, 0, width, height - top).strip())
    return "\n".join(p for p in parts if p)


def render_scale(page) -> float:
    """``OCR_SCALE``, less for a page so large its bitmap would exceed the OCR pixel limit."""
    from index.readers.image import MAX_PIXELS

    w, h = page.get_size()   # points
    area = max(w * h, 1.0)
    return min(OCR_SCALE, (MAX_PIXELS / area) ** 0.5)


def _ocr_page(page, number: int, out: LocatedText) -> None:
    from index.readers.image import add_ocr_page, ocr_image

    add_ocr_page(out, ocr_image(page.render(scale=render_scale(page)).to_pil()), number)
