"""Office files (.docx, .pptx, .xlsx) are zip packages: their parts' unpacked sizes, checked before parsing.

Why: the file-size limit bounds the zip, not what it unpacks to. A half-megabyte .docx can hold a
150 MB ``document.xml`` that python-docx parses whole, into gigabytes of memory (a "zip bomb").
The sizes a zip declares are read from its directory, without unpacking anything.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from index.readers.located import UnreadableFile

MAX_PART_BYTES = 64 * 2**20      # one part parsed whole: ~1 GB of memory for XML of this size
MAX_PACKAGE_BYTES = 1024 * 2**20   # everything the package unpacks to
# parts no reader here parses (pictures, embedded files, an .xlsx's pivot caches): held only to the total
UNPARSED_FOLDERS = ("/media/", "/embeddings/")
UNPARSED = ("xl/pivotCache/", "docProps/thumbnail")


def check_package(path: Path, streamed: tuple[str, ...] = ()) -> None:
    """Refuse (:class:`UnreadableFile`) a package whose parts unpack past ``MAX_PART_BYTES`` each or past
    ``MAX_PACKAGE_BYTES`` together. Pictures and other parts no reader parses, and parts under a prefix in
    ``streamed`` (an .xlsx's worksheets, which openpyxl reads row by row), are held only to the total.
    A file that is not a zip is left to the format's own reader, which names what is wrong with it."""
    try:
        with zipfile.ZipFile(path) as package:
            parts = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = sum(part.file_size for part in parts)
    if total > MAX_PACKAGE_BYTES:
        raise UnreadableFile(f"unpacks to {total / 2**20:,.0f} MB, over the {MAX_PACKAGE_BYTES // 2**20:,} MB "
                             "limit for an Office file")
    for part in parts:
        name = part.filename
        # any name: the libraries find parts by their declared content type, so a renamed part is parsed too
        if part.file_size > MAX_PART_BYTES and not name.startswith(streamed + UNPARSED) \
                and not any(folder in name for folder in UNPARSED_FOLDERS):
            raise UnreadableFile(f"its part {name} unpacks to {part.file_size / 2**20:,.0f} MB, over the "
                                 f"{MAX_PART_BYTES // 2**20} MB limit for one part")
