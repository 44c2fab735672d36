"""Word (.docx): paragraphs and tables in reading order (python-docx).

Why python-docx: MIT, pure Python, reads the body in document order. A table becomes its header row
(cells joined by「 | 」), then one line a row with each value after its column's header
(「指标：营业收入；2023年：312亿元」, as spreadsheets and PDF tables read), so a question about a cell finds
what it measures beside it.
"""
from __future__ import annotations

from pathlib import Path

from index.readers.located import LocatedText, UnreadableFile
from index.readers.package import check_package
from index.readers.sheets import cell_text, table_lines

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
            # a soft line break (Shift+Enter, <w:br/>) wraps a line inside the paragraph, which is one block
            out.add(" ".join(Paragraph(child, document).text.split("\n")).strip())
        elif tag == "tbl":
            rows = []
            for row in Table(child, document).rows:
                cells, previous = [], None
                for cell in row.cells:   # a merged cell is the same cell again: its text once, its columns kept
                    cells.append("" if cell._tc is previous else cell_text(cell.text))
                    previous = cell._tc
                rows.append(cells)
            for line in table_lines(rows):
                out.add(line)
    return out
