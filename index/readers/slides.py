"""PowerPoint (.pptx): each slide's text frames and tables, top to bottom (python-pptx).

Why python-pptx: MIT, pure Python. Each slide's characters carry its number as their page.
"""
from __future__ import annotations

from pathlib import Path

from index.readers.located import LocatedText, UnreadableFile
from index.readers.package import check_package
from index.readers.sheets import cell_text, table_lines

SUFFIXES = {".pptx"}


def _shape_texts(shape) -> list[str]:
    if getattr(shape, "shape_type", None) == 6 and hasattr(shape, "shapes"):   # a group: its members
        return [t for s in _ordered(shape.shapes) for t in _shape_texts(s)]
    if getattr(shape, "has_table", False) and shape.has_table:   # as Word tables read (index/readers/word.py)
        return table_lines([[cell_text(c.text) for c in row.cells] for row in shape.table.rows])
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        # a paragraph a line; a soft line break inside one (「\v」, <a:br/>) only wraps it
        texts = (" ".join(p.text.replace("\v", "\n").split("\n")).strip() for p in shape.text_frame.paragraphs)
        return [t for t in texts if t]
    return []


def _ordered(shapes) -> list:
    return sorted(shapes, key=lambda s: ((s.top or 0), (s.left or 0)))


def read_pptx(path: Path) -> LocatedText:
    import zipfile

    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    check_package(path)
    try:
        deck = Presentation(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"not a PowerPoint .pptx file ({type(exc).__name__})") from None
    except Exception as exc:
        raise UnreadableFile(f"damaged PowerPoint file ({type(exc).__name__})") from None
    out = LocatedText()
    for number, slide in enumerate(deck.slides, 1):
        first = True
        for shape in _ordered(slide.shapes):
            for text in _shape_texts(shape):
                out.add(text, page=number, sep="\n\n" if first else "\n")
                first = False
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            out.add(notes, page=number)
    return out
