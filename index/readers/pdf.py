"""PDF: each page's text layer (pypdfium2); a page without one is rendered and read by OCR.

Why pypdfium2: Apache-2.0/BSD, one small wheel, fast text extraction and page rendering (PyMuPDF
is AGPL and 66 MB). Regions give each character its page; OCR'd pages also give the line's box in
pixels of the page rendered at ``OCR_SCALE``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from index.readers.located import LocatedText, UnreadableFile

SUFFIXES = {".pdf"}
MIN_TEXT_CHARS = 8        # a page with less text than this is taken for a scan and OCR'd
OCR_SCALE = 3.0           # 216 dpi: small CJK print needs it
MAX_PAGES = 2000


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
    try:
        n = len(pdf)
        if n > MAX_PAGES:
            raise UnreadableFile(f"PDF has {n} pages, over the {MAX_PAGES}-page limit")
        for i in range(n):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
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
        pdf.close()
    return out


def render_scale(page) -> float:
    """``OCR_SCALE``, less for a page so large its bitmap would exceed the OCR pixel limit."""
    from index.readers.image import MAX_PIXELS

    w, h = page.get_size()   # points
    area = max(w * h, 1.0)
    return min(OCR_SCALE, (MAX_PIXELS / area) ** 0.5)


def _ocr_page(page, number: int, out: LocatedText) -> None:
    from index.readers.image import add_ocr_page, ocr_image

    add_ocr_page(out, ocr_image(page.render(scale=render_scale(page)).to_pil()), number)
