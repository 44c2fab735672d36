"""Normalize OCR'd Chinese text while keeping a map back to the original characters.

Why: newspaper OCR breaks lines mid-sentence (even across blank lines), puts stray spaces
between CJK characters and digits (「超 110个」) and mixes full-width forms. Retrieval and the
reader work on clean text, but answers must point into the document the user gave us, so
every normalized character remembers the index of the original character it came from.
"""
from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field

from index.field_rows import is_field_row, starts_field_row

NORMALIZER_VERSION = 6   # 3: line breaks kept around table, list and field lines and after headings, zero-width
                         # characters dropped, full-width decimal points folded; 4: lines_are_blocks; 5: a figure
                         # or Latin word wrapped inside Chinese text joins without a space, 「12 %」 reads 12%,
                         # a row of fields (「指标：营收；2023年：12亿元」) keeps its line breaks, and so does a
                         # Markdown heading (「## 二、主要会计数据」) before a short line; 6: blank_lines_are_breaks

_SENTENCE_END = set("。！？!?…")
_CLOSERS = set("”」』）)\"'")
# a byline or dateline is a paragraph of its own: 「■ 本报记者 皮磊」 must not run into the headline
BYLINE_MAX_CHARS = 30
_BYLINE_RE = re.compile(r"^\s*(?:[■□●◆▲★]|本报记者|本报讯|通讯员|特约撰稿人)")
_FOLD = {0x3000: " ", 0x00A0: " ", 0x0009: " ", 0x000C: " ", 0x000B: " ",
         0xFF05: "%", 0xFF0B: "+", 0xFE6A: "%"}
# invisible characters dropped (an answer 「李\u200b秀华」 is not 「李秀华」, and BM25 saw two words); the
# zero-width joiner stays, as it holds emoji sequences together
_INVISIBLE = set("\u200b\u200c\u2060\ufeff\u00ad")
# a line of a table, a list or a form keeps its line break: gluing 「申请人：郑小红」 to 「部门：市场部」, or a
# spreadsheet's rows to each other, made answers that run across rows
_LIST_LINE_RE = re.compile(r"^\s*(?:[#>*+\-]+\s|•|\d{1,3}(?:\.(?!\d)|[．、)）])|[（(]\d{1,3}[)）]|[（(]?[一二三四五六七八九十]{1,3}[、)）])")
_TABLE_ROW_RE = re.compile(r"\S\s*\|\s*\S")   # two cells at least: a stray 「|」 OCR read from a rule is none
_YEAR_START = re.compile(r"(?:19|20)\d\d年")   # 「…详见附表1」 / 「2023年…」: a new clause, not a wrapped figure
_MARKDOWN_HEADING_RE = re.compile(r"^\s*#{1,6}\s+\S")   # 「## 二、主要会计数据」: a heading, whatever follows it
HEADING_MAX_CHARS = 24
FORM_LINE_MAX_CHARS = 30   # a form's or a two-column table's field line; a longer one may wrap its value
WRAPPED_MIN_CHARS = 8   # a line this long that ends in a digit before a line starting with one wraps a figure
_HEADING_PUNCT = set("，。；：！？,.;:!?（）()“”\"'《》—…")   # 「、」 allowed: 「第三节 董事、监事和高级管理人员」
_FIELD_LINE_RE = re.compile(r"^\s*[^\s，。；：:,;！？!?|]{1,20}[：:]")   # 「母公司在职员工的数量（人）：2,113」



# full-width digits as ASCII ones (「２０１９年」 typed with a full-width keyboard), for text read before normalizing
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _fold(ch: str) -> str:
    o = ord(ch)
    if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
        return chr(o - 0xFEE0)  # full-width digits and Latin letters
    return _FOLD.get(o, ch)


def is_cjk(ch: str) -> bool:
    """CJK ideographs and CJK/full-width punctuation: spaces next to them are OCR noise."""
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F
            or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF or 0xF900 <= o <= 0xFAFF
            or o in (0x201C, 0x201D, 0x2018, 0x2019, 0x2026, 0x2014, 0x00B7))


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_RUN_CHARS = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,%-+/:_")


def _wrapped_inside_chinese(out: list[tuple[str, int]], chars: list[tuple[str, int]], j: int) -> bool:
    """Whether the figure before a line break (ending ``out``) and after it (from ``chars[j]``) is one run
    cut by the wrap, within Chinese text: a CJK character before the first and after the second, and a
    digit on one side of the break, so 「营业收入为1,23」 / 「4.5亿元」. Letters alone are words (「公司与Apple」 /
    「Inc.签订」), as is a run written between spaces (「采用 Tunnel Oxide」 / 「Passivated Contact 技术」)."""
    k = len(out)
    while k > 0 and out[k - 1][0] in _RUN_CHARS:
        k -= 1
    m = j
    while m < len(chars) and chars[m][0] in _RUN_CHARS:
        m += 1
    after = "".join(c for c, _ in chars[j:j + 5])
    return (k > 0 and is_cjk(out[k - 1][0]) and m < len(chars) and is_cjk(chars[m][0])
            and (out[-1][0].isdigit() or chars[j][0].isdigit())   # a figure: 「Apple」 / 「Inc.」 are two words
            and not _YEAR_START.match(after))


@dataclass(frozen=True)
class NormalizedText:
    """``text`` plus ``offsets[i]`` = index in the original of ``text[i]``.

    The offsets are a C int array (4 bytes a character; a tuple of Python ints takes up to 36), as a
    store holds every document's map."""

    text: str
    offsets: array = field(hash=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of the normalized text to a span of the original."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}:{end} outside 0:{len(self.text)}")
        return self.offsets[start], self.offsets[end - 1] + 1


def _is_sentence_end(last: str, before_last: str) -> bool:
    """Whether text ending ``before_last`` + ``last`` ends a sentence: 「。」, or a closer after one (「。”」)."""
    return last in _SENTENCE_END or (last in _CLOSERS and before_last in _SENTENCE_END)


def _ends_sentence(chars: list[tuple[str, int]]) -> bool:
    i = len(chars) - 1
    while i >= 0 and chars[i][0] == " ":
        i -= 1
    if i < 0:
        return True
    return _is_sentence_end(chars[i][0], chars[i - 1][0] if i > 0 else "")


def _line_before(out: list[tuple[str, int]]) -> str:
    """The line ``out`` ends with, or enough of its end to tell it is no byline: lines joined into one
    paragraph make it long, and reading it whole at every break made many short lines quadratic."""
    k, seen = len(out), 0
    while k > 0 and out[k - 1][0] != "\n" and seen <= BYLINE_MAX_CHARS:
        k -= 1
        seen += not out[k][0].isspace()
    return "".join(c for c, _ in out[k:])


def _line_after(chars: list[tuple[str, int]], j: int) -> str:
    k = j
    while k < len(chars) and chars[k][0] != "\n" and k - j < 2 * HEADING_MAX_CHARS:
        k += 1
    return "".join(c for c, _ in chars[j:k])


def _is_table_row(line: str) -> bool:
    """Cells split by 「|」 (a Word or Markdown table, a spreadsheet's header): never a sentence broken across lines."""
    return bool(_TABLE_ROW_RE.search(line))


def _is_list_item(line: str) -> bool:
    """A list item or heading: 「- 」, 「1.」, 「1、」, 「（一）」, 「# 」."""
    return bool(_LIST_LINE_RE.match(line))


def _is_heading(line: str, after: str) -> bool:
    """A short line without punctuation before a line at least twice as long (and 16 characters or more):
    a heading over its text (「远山茶厂概况」 / 「远山茶厂位于云南省普洱市，…」). A column of OCR'd newspaper
    text breaks its lines at one width, so a line it broke mid-sentence is about as long as the next."""
    line, after = _LIST_LINE_RE.sub("", line.strip()).strip(), after.strip()   # 「一、集团概况」 is a heading too
    return (0 < len(line) <= HEADING_MAX_CHARS and not any(c in _HEADING_PUNCT for c in line)
            and not line.replace(",", "").replace(".", "").isdigit()   # a figure wrapped at its start: 「1」 / 「20亿元…」
            and not (len(line) >= WRAPPED_MIN_CHARS and line[-1].isdigit() and after[:1].isdigit()
                     and not _YEAR_START.match(after))
            # or in its middle: 「…资本开支为1」 / 「20亿元…」; a caption is short and stays one (「表1」 / 「2023年…」)
            and not line.endswith("、")   # a list broken mid-way: 「董事、监事、」 / 「高级管理人员…」
            and len(after) >= max(2 * len(line), 16))


def _keeps_break(before: str, after: str) -> bool:
    """Whether the line break between two lines stays: around a table row, before a list item, after a
    heading, and between two form fields (「申请人：郑小红」 / 「部门：市场部」, a spreadsheet's 「地区：华东；…」 rows).
    After a list item it stays only before another list item, table row or field: a numbered clause
    wraps onto the next line in a PDF. One field-like line alone is not enough either: OCR breaks
    「…社会责任，」 / 「包括：参与…」 mid-sentence."""
    field_before, field_after = bool(_FIELD_LINE_RE.match(before)), bool(_FIELD_LINE_RE.match(after))
    return (_is_table_row(before) or _is_table_row(after) or _is_list_item(after) or _is_heading(before, after)
            or bool(_MARKDOWN_HEADING_RE.match(before))
            or (field_before and field_after) or is_field_row(before) or starts_field_row(after))


def _is_byline(line: str) -> bool:
    line = line.strip()
    return len(line) <= BYLINE_MAX_CHARS and not any(p in line for p in "，,。：:；;") and bool(_BYLINE_RE.match(line))


def blank_lines_end_paragraphs(text: str) -> bool:
    """Whether ``text``'s blank lines separate paragraphs: at least two of them stand between text, and
    half or more follow a sentence end. Typed text (a news story, a notice, a forum page saved as .txt)
    puts a blank line after each paragraph, headline and dateline; newspaper OCR such as the bundled
    article breaks its narrow columns across blank lines mid-sentence (20 of its 148 follow a sentence end)."""
    blank = after_end = 0
    for m in _BLANK_RUN_RE.finditer(text):
        k = m.start()
        while k > 0 and text[k - 1] in " \t\u3000\r":
            k -= 1
        if k == 0 or m.end() >= len(text):
            continue
        blank += 1
        after_end += _is_sentence_end(text[k - 1], text[k - 2] if k > 1 else "")
    return blank >= 2 and after_end >= 0.5 * blank


_BLANK_RUN_RE = re.compile(r"\n[ \t\u3000\r]*\n\s*")


def normalize(text: str, lines_are_blocks: bool = False, blank_lines_are_breaks: bool = False) -> NormalizedText:
    """Reflow broken lines into paragraphs, drop stray spaces next to CJK, fold full-width forms.
    ``lines_are_blocks``: every line is a paragraph, heading or row of its own (what the Word, PowerPoint,
    web page and spreadsheet readers give), so every line break stays. ``blank_lines_are_breaks``: a blank
    line ends a paragraph (Markdown, typed text: :func:`blank_lines_end_paragraphs`), so a headline or a
    dateline without a full stop is not glued to the text after it."""
    # 1. fold characters; unify line breaks (\r\n, \r, U+2028/9) into \n
    chars: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch == "\r":
            if i + 1 < len(text) and text[i + 1] == "\n":
                continue
            ch = "\n"
        elif ch in "\u2028\u2029\u0085":
            ch = "\n"
        elif ch in _INVISIBLE:
            continue
        elif ch == "\uff0e" and chars and chars[-1][0].isdigit() and text[i + 1:i + 2].isdigit():
            ch = "."   # a full-width decimal point: 「１．２亿元」 reads 1.2亿元, not 1．2亿元
        chars.append((_fold(ch), i))

    # 2. reflow: a newline run is a paragraph break only after a sentence end, or around a byline or a
    #    table, list or form line
    out: list[tuple[str, int]] = []
    i = line_start = 0   # line_start: where the line of chars that i is on began
    in_form = False      # the line i is on is a field after another, kept apart: a form's; its end is the form's
                         # too, before a line of text (16 characters or more: a short one is its value wrapped)
    while i < len(chars):
        ch, idx = chars[i]
        if ch != "\n":
            out.append((ch, idx))
            i += 1
            continue
        j = i
        while j < len(chars) and chars[j][0] in "\n ":
            j += 1
        before, line_start = line_start, j
        if not out or j >= len(chars):
            i = j
            continue
        after = _line_after(chars, j)
        line = "".join(c for c, _ in chars[before:i])
        field_line = bool(_FIELD_LINE_RE.match(line))
        blank_line = sum(1 for c, _ in chars[i:j] if c == "\n") >= 2
        kept = (lines_are_blocks or (blank_lines_are_breaks and blank_line) or _ends_sentence(out)
                or _is_byline(_line_before(out)) or _is_byline(after)
                or _keeps_break(line, after)
                or (in_form and field_line and len(line.strip()) <= FORM_LINE_MAX_CHARS and len(after.strip()) >= 16))
        in_form = kept and field_line and bool(_FIELD_LINE_RE.match(after)) and len(after.strip()) <= FORM_LINE_MAX_CHARS
        if kept:
            out.append(("\n", idx))
        else:
            prev = next((c for c, _ in reversed(out) if c != " "), "")
            nxt = chars[j][0]
            if _is_word(prev) and _is_word(nxt) and not _wrapped_inside_chinese(out, chars, j):
                out.append((" ", idx))
        i = j

    # 3. spaces: collapse runs, drop them at line edges and next to CJK
    result: list[tuple[str, int]] = []
    n = len(out)
    for k, (ch, idx) in enumerate(out):
        if ch != " ":
            result.append((ch, idx))
            continue
        if result and result[-1][0] in " \n":
            continue
        nxt = next((out[m][0] for m in range(k + 1, n) if out[m][0] != " "), "\n")
        prev = result[-1][0] if result else "\n"
        if nxt == "\n" or prev == "\n" or is_cjk(prev) or is_cjk(nxt) or (nxt in "%‰" and prev.isdigit()):
            continue
        result.append((ch, idx))
    while result and result[-1][0] in " \n":
        result.pop()
    return NormalizedText("".join(c for c, _ in result), array("i", [i for _, i in result]))


def fold_for_comparison(text: str) -> str:
    """What an answer looks like after normalization (used to match gold answers to the text)."""
    return normalize(text).text


_SPACE_RE = re.compile(r"\s+")


def strip_spaces(text: str) -> str:
    return _SPACE_RE.sub("", text)
