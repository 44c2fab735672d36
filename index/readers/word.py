"""Word (.docx): paragraphs and tables in reading order (python-docx).

Why python-docx: MIT, pure Python, reads the body in document order. A table becomes one line a
row, cells joined by「 | 」, so a question about a cell finds its row's other cells beside it.
"""
from __future__ import annotations

from pathlib import Path

from index.readers.located import LocatedText, UnreadableFile
from index.readers.package import check_package

SUFFIXES = {".docx"}


def read_docx(path: Path) -> LocatedText:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_package(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"not a Word .docx document ({type(exc).__name__}: {str(exc)[:80]})") from None
    except Exception as exc:  # lxml errors on damaged XML inside a real zip
        raise UnreadableFile(f"damaged Word document ({type(exc).__name__})") from None
    out = LocatedText()
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.add(Paragraph(child, document).text.strip())
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells = []
                for cell in row.cells:
                    t = " ".join(cell.text.split())
                    if t and (not cells or cells[-1] != t):   # merged cells repeat their text
                        cells.append(t)
                out.add(" | ".join(cells))
    return out
