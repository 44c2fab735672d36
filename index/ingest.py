"""Read documents from files and folders: each file goes to the reader of its format (``index/readers``).

Why: users point the bot at whatever Chinese text they have; encodings vary (UTF-8 with or
without BOM, UTF-16, GB18030) and folders hold stray binaries. Every file either becomes
documents or a :class:`Skipped` entry with a reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document, Skipped, source_file_name
from index.normalize import blank_lines_end_paragraphs
from index.readers.encoding import DecodeError, decode_bytes  # noqa: F401 (decode_bytes is re-exported)
from index.readers.image import SUFFIXES as IMAGE_SUFFIXES
from index.readers.located import LocatedText, UnreadableFile
from index.readers.pdf import SUFFIXES as PDF_SUFFIXES
from index.readers.sheets import SUFFIXES as SHEET_SUFFIXES
from index.readers.slides import SUFFIXES as SLIDE_SUFFIXES
from index.readers.squad import SUFFIXES as JSON_SUFFIXES
from index.readers.squad import SquadFormatError, squad_documents
from index.readers.text import SUFFIXES as TEXT_SUFFIXES
from index.readers.markdown_tables import with_tables_as_rows
from index.readers.text import document_id, read_text_document
from index.readers.web import SUFFIXES as HTML_SUFFIXES
from index.readers.word import SUFFIXES as WORD_SUFFIXES

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_BINARY_BYTES = 200 * 1024 * 1024   # PDFs, Office files and images
INGEST_VERSION = 10  # bump when ids/titles/text change, so cached indexes are rebuilt (7: Word and PowerPoint
                     # tables read with their column headers; 8: PDF running headers and footers left out;
                     # 9: Markdown pipe tables read as rows of fields; 10: a web page's byline put back)
RICH_SUFFIXES = PDF_SUFFIXES | WORD_SUFFIXES | SLIDE_SUFFIXES | SHEET_SUFFIXES | HTML_SUFFIXES | IMAGE_SUFFIXES
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES | RICH_SUFFIXES
PAGED_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES   # read page by page, slowly enough for a progress bar
# readers that give each paragraph, heading and row a line of its own (see lines_are_blocks)
BLOCK_LINE_SUFFIXES = WORD_SUFFIXES | SLIDE_SUFFIXES | HTML_SUFFIXES | SHEET_SUFFIXES


MARKDOWN_SUFFIXES = {".md", ".markdown"}


def lines_are_blocks(source: str) -> bool:
    """Whether a document's lines are its paragraphs, headings and rows: what the Word, PowerPoint, web page
    and spreadsheet readers give. A PDF's text layer, a scan's OCR and a plain text file break lines where
    the page ran out, mid-sentence, so theirs are reflowed (index/normalize.py)."""
    return Path(source_file_name(source)).suffix.lower() in BLOCK_LINE_SUFFIXES


def blank_lines_are_breaks(source: str, text: str) -> bool:
    """Whether a blank line ends a paragraph in a document: always in Markdown (its rule), in a plain text
    file when most of its blank lines follow a sentence end (typed text, not OCR'd columns:
    :func:`index.normalize.blank_lines_end_paragraphs`), never in what other readers give."""
    suffix = Path(source_file_name(source)).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return True
    return suffix in TEXT_SUFFIXES and blank_lines_end_paragraphs(text)


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)   # indexed, with a caveat (e.g. rows cut)
    # each file read: its stat stamp (file_stamp) just before it was read (see changed_since_read)
    stamps: dict[Path, tuple[int, ...]] = field(default_factory=dict)

    def changed_since_read(self) -> list[Path]:
        """Files read here that have changed (or gone) since: a writer that read before waiting for the
        index's lock reads these again, so that an older read never replaces a newer version."""
        return [path for path, stamp in self.stamps.items() if file_stamp(path) != stamp]


def file_stamp(path: Path) -> tuple[int, ...] | None:
    """Size, modification and change times, inode and device: an edit of the same size within one tick
    of the clock still changes the change time, a link pointed elsewhere the inode."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _located_document(p: Path, located: LocatedText, title: str | None = None) -> Document | None:
    text = located.text
    if not text.strip():
        return None
    return Document(document_id(p, text), title or located.title(p.stem), text, str(p), tuple(located.regions))


def _read_rich(p: Path, suffix: str, res: IngestResult, keep_all_html: bool, on_page) -> None:
    """PDF, Office, HTML and image files (each reader imported only when its format is read)."""
    title, notes = None, []
    if suffix in PDF_SUFFIXES:
        from index.readers.pdf import read_pdf

        located = read_pdf(p, on_page=on_page)
    elif suffix in WORD_SUFFIXES:
        from index.readers.word import read_docx

        located = read_docx(p)
    elif suffix in SLIDE_SUFFIXES:
        from index.readers.slides import read_pptx

        located = read_pptx(p)
    elif suffix in IMAGE_SUFFIXES:
        from index.readers.image import read_image

        located = read_image(p, on_page=on_page)
    elif suffix in HTML_SUFFIXES:
        from index.readers.web import decode_html, read_html_text

        located, title = read_html_text(decode_html(p.read_bytes()), keep_all=keep_all_html)
    elif suffix == ".csv":
        from index.readers.sheets import read_csv_text

        located, notes = read_csv_text(decode_bytes(p.read_bytes()))
    else:
        from index.readers.sheets import read_xlsx

        located, notes = read_xlsx(p)
    doc = _located_document(p, located, title)
    if doc is None:
        what = "no text layer and no text found by OCR" if suffix in PAGED_SUFFIXES else "no text in it"
        res.skipped.append(Skipped(str(p), what))
        return
    res.documents.append(doc)
    res.notes.extend(Skipped(str(p), n) for n in [*notes, *located.notes])


def read_file(path: str | Path, keep_all_html: bool = False, on_page=None) -> IngestResult:
    """Read one file into documents, or a Skipped entry naming the problem. ``on_page(done, total)``
    follows the pages of a PDF or a multi-page image."""
    p = Path(path)
    res = IngestResult()
    suffix = p.suffix.lower()
    try:
        str(p).encode("utf-8")
    except UnicodeEncodeError:   # bytes the file system holds that are not UTF-8: no index could store the name
        res.skipped.append(Skipped(str(p), "its name is not valid UTF-8: rename the file to index it"))
        return res
    if suffix not in SUPPORTED_SUFFIXES:
        res.skipped.append(Skipped(str(p), f"unsupported file type '{suffix or p.name}' "
                                           f"(use {', '.join(sorted(SUPPORTED_SUFFIXES))})"))
        return res
    try:
        size = p.stat().st_size
        limit = MAX_BINARY_BYTES if suffix in RICH_SUFFIXES else MAX_FILE_BYTES
        if size > limit:
            res.skipped.append(Skipped(str(p), f"file is {size / 2**20:.1f} MB, over the {limit // 2**20} MB limit"))
            return res
        if size == 0:
            res.skipped.append(Skipped(str(p), "file is empty"))
            return res
        if suffix in RICH_SUFFIXES:
            try:
                _read_rich(p, suffix, res, keep_all_html, on_page)
            except (UnreadableFile, DecodeError, OSError, MemoryError):
                raise
            except Exception as exc:  # a parser library's own error on a damaged or unusual file
                res.documents.clear()
                detail = str(exc).strip()[:80]
                res.skipped.append(Skipped(str(p), f"could not read it ({type(exc).__name__}{': ' + detail if detail else ''})"))
            return res
        text = decode_bytes(p.read_bytes())
    except (DecodeError, UnreadableFile) as exc:
        res.skipped.append(Skipped(str(p), str(exc)))
        return res
    except OSError as exc:
        res.skipped.append(Skipped(str(p), f"cannot read: {exc.strerror or exc}"))
        return res
    except MemoryError:
        res.skipped.append(Skipped(str(p), "too large to read into memory"))
        return res
    if suffix in JSON_SUFFIXES:
        try:
            res.documents.extend(squad_documents(text, str(p)))
        except (ValueError, SquadFormatError, RecursionError, AttributeError, TypeError, KeyError, OverflowError) as exc:
            res.documents.clear()
            res.skipped.append(Skipped(str(p), f"not SQuAD-style JSON: {str(exc)[:120]}"))
            return res
        if not res.documents:
            res.skipped.append(Skipped(str(p), "the JSON holds no paragraphs"))
        return res
    if not text.strip():
        res.skipped.append(Skipped(str(p), "file is empty"))
        return res
    res.documents.append(read_text_document(p, with_tables_as_rows(text)))
    return res


def _page_reporter(bar, name: str):
    def on_page(done: int, total: int) -> None:
        bar.set_postfix_str(f"{name}: page {done}/{total}")
    return on_page


def _is_index_folder(folder: Path) -> bool:
    """An index written by ``qa index`` (a manifest naming its encoder, any format): not documents to read."""
    from index.store.local import index_encoder_name

    return index_encoder_name(folder) is not None


def path_list(paths) -> list[str | Path]:
    """``paths`` as a list: one path (a string or Path) is a list of one. Why: iterating a string
    would take each of its characters for a path, and "/" for the whole file system."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(paths, bytes) or not hasattr(paths, "__iter__"):
        raise TypeError(f"paths must be a path or a list of paths, not {type(paths).__name__}")
    paths = list(paths)
    bad = [p for p in paths if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise TypeError(f"paths must be strings or Paths, not {type(bad[0]).__name__}")
    if any(str(p).strip() == "" for p in paths):   # Path("") is the working folder: never meant
        raise ValueError("a path is empty")
    return paths


UNSUPPORTED_IN_FOLDER = "unsupported file type"   # a folder's file of another kind: skipped, counted by kind


def list_files(paths: list[str | Path]) -> tuple[list[tuple[Path, bool]], list[Skipped]]:
    """The files ``paths`` name, folders walked recursively (hidden files and folders left out), each with whether it
    was found in a folder; and, as skipped, the paths that do not exist or cannot be read (a folder
    without permission is named, never a traceback), links to folders and index folders inside them."""
    todo: list[tuple[Path, bool]] = []
    skipped: list[Skipped] = []

    def unreadable(exc: OSError) -> None:
        skipped.append(Skipped(str(exc.filename), f"cannot read: {exc.strerror or exc}"))

    for raw in path_list(paths):
        # absolute, so that a document's source names its file whatever folder qa runs in next time
        # (index/store/versions.py matches and prunes by it)
        p = Path(raw).expanduser()
        try:
            p = p if p.is_absolute() else Path.cwd() / p   # not abspath: '..' after a link is not its parent
            is_dir, exists = p.is_dir(), p.exists()
        except OSError as exc:
            skipped.append(Skipped(str(p), f"cannot read: {exc.strerror or exc}"))
            continue
        if is_dir:
            found, named = [], len(skipped)
            for root, dirs, files in os.walk(p, onerror=unreadable):
                kept = []
                for d in dirs:
                    folder = Path(root) / d
                    if d.startswith("."):   # hidden (.git, .cache): left out, as hidden files are
                        continue
                    try:
                        if folder.is_symlink():   # not followed (a link may loop back): named, so it is not missed
                            skipped.append(Skipped(str(folder), "a link to a folder, not followed (give its target)"))
                        elif _is_index_folder(folder):
                            skipped.append(Skipped(str(folder), "an index, not documents"))
                        else:
                            kept.append(d)
                    except OSError as exc:   # a path too long to open: the rest of the folder is still read
                        skipped.append(Skipped(str(folder), f"cannot read: {exc.strerror or exc}"))
                dirs[:] = kept
                for name in files:
                    f = Path(root) / name
                    if name.startswith("."):
                        continue
                    try:
                        if f.is_file():
                            found.append(f)
                        elif f.is_symlink() and not f.exists():
                            skipped.append(Skipped(str(f), "a link to nothing (its target is gone)"))
                        elif not f.is_dir():   # a FIFO, socket or device: never read (a FIFO would block)
                            skipped.append(Skipped(str(f), "not a regular file (a FIFO, socket or device)"))
                    except OSError as exc:   # a link into a folder without permission
                        skipped.append(Skipped(str(f), f"cannot read: {exc.strerror or exc}"))
            if not found and len(skipped) == named:
                skipped.append(Skipped(str(p), "the folder holds no files"))
            todo += [(f, True) for f in sorted(found)]
        elif exists:
            todo.append((p, False))
        else:
            skipped.append(Skipped(str(p), "no such file or directory"))
    return todo, skipped


def read_paths(paths: list[str | Path], keep_all_html: bool = False, progress: bool = False) -> IngestResult:
    """Read files and (recursively) folders; missing and unreadable paths are reported as skipped. With
    ``progress``, a bar follows the files, and each PDF or scan its pages."""
    res = IngestResult()
    todo, unlisted = list_files(paths)
    res.skipped.extend(unlisted)
    bar = None
    if progress and todo:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="reading files", unit="file", file=sys.stderr, dynamic_ncols=True)
    try:
        for f, in_folder in todo:
            if in_folder and f.suffix.lower() not in SUPPORTED_SUFFIXES:
                res.skipped.append(Skipped(str(f), f"{UNSUPPORTED_IN_FOLDER} '{f.suffix or f.name}'"))
            else:
                paged = bar is not None and f.suffix.lower() in PAGED_SUFFIXES
                stamp = file_stamp(f)
                if stamp is not None:
                    res.stamps[f] = stamp
                one = read_file(f, keep_all_html, _page_reporter(bar, f.name) if paged else None)
                res.documents.extend(one.documents)
                res.skipped.extend(one.skipped)
                res.notes.extend(one.notes)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    _note_copies(res)
    return res


def _note_copies(res: IngestResult) -> None:
    """Notes for documents that share an id with one read later: files of one name and text in two
    folders (their id is the name and a hash of the text), or SQuAD paragraphs without ids of their own in
    two files. A store keeps an id's last version, so only the last is indexed; each pair of files gets
    one note saying so, instead of nothing. The documents stay in ``res`` (a file re-read after it changed
    gets a new id, and the other copy is indexed then)."""
    last = {d.id: d for d in res.documents}
    pairs: dict[tuple[str, str], list[bool]] = {}
    for d in res.documents:
        kept = last[d.id]
        if kept is not d and kept.source != d.source:
            pairs.setdefault((d.source, kept.source), []).append(kept.text == d.text)
    for (source, kept), same in pairs.items():
        n, differ = len(same), same.count(False)
        if not differ:
            reason = (f"the same text as {kept}" if n == 1 else f"{n} of its documents are the same as {kept}'s") \
                + ": indexed once, from that file"
        else:
            reason = (f"{n} of its documents have the ids of {kept}'s, {differ} with other text: only {kept}'s "
                      f"are indexed (give the paragraphs ids of their own)")
        res.notes.append(Skipped(source, reason))
