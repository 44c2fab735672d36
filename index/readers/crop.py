"""The part of a scanned page around an answer, cut from the source file (images and OCR'd PDF pages).

Why: an answer read by OCR may be misread; showing the scan's own pixels beside it lets the user
check it at a glance.
"""
from __future__ import annotations

from pathlib import Path

from index.readers.image import SUFFIXES as IMAGE_SUFFIXES
from index.readers.located import UnreadableFile
from index.readers.pdf import render_scale
from index.readers.pdf import SUFFIXES as PDF_SUFFIXES


def crop_region(source: str | None, page: int | None, box, margin: float = 24.0, max_side: int = 900):
    """A PIL image of ``box`` on ``page`` of ``source`` with ``margin`` pixels around it, or None
    when the file is gone or is not a scan."""
    if not source or box is None:
        return None
    path = Path(source)
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in IMAGE_SUFFIXES | PDF_SUFFIXES:
        return None
    try:
        if suffix in PDF_SUFFIXES:
            import pypdfium2 as pdfium

            pdf = pdfium.PdfDocument(str(path))
            try:
                pdf_page = pdf[(page or 1) - 1]
                image = pdf_page.render(scale=render_scale(pdf_page)).to_pil()
            finally:
                pdf.close()
        else:
            from index.readers.image import open_image

            image = open_image(path)
            image.seek((page or 1) - 1)
            image = image.convert("RGB")
    except (UnreadableFile, OSError, ValueError, IndexError, EOFError):
        return None
    except Exception:  # pypdfium2's own errors
        return None
    x0, y0, x1, y1 = box
    w, h = image.size
    left, top = max(0, int(x0 - margin)), max(0, int(y0 - margin))
    right, bottom = min(w, int(x1 + margin)), min(h, int(y1 + margin))
    if right <= left or bottom <= top:   # the file changed since it was indexed
        return None
    part = image.crop((left, top, right, bottom))
    part.thumbnail((max_side, max_side))
    return part
