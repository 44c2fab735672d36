"""Web pages (.html): the main content without navigation and footers (trafilatura), or everything
visible (``keep_all``: BeautifulSoup).

Why trafilatura: the best-measured main-text extractor on PyPI, offline, Apache-2.0; it needs
``lxml_html_clean`` declared beside it. Keep-everything mode is for pages whose "boilerplate" is
the content (tables of figures, lists).
"""
from __future__ import annotations

import re

from index.readers.located import LocatedText, UnreadableFile

SUFFIXES = {".html", ".htm", ".xhtml"}
# inline images and files (data: URLs) hold no text; lxml stops reading a page at a text node over
# 10 MB, so the text after a large one was lost
_DATA_URL = re.compile(r"""([=(]\s*["']?)data:[^"'\s>)]{256,}""", re.IGNORECASE)
# trafilatura's fallback (jusText) takes time quadratic in the page's blocks: 10,000 small tables
# took 30 s. Pages with more blocks than this get its main extractor alone ("fast").
MAX_BLOCKS_FOR_FALLBACK = 3_000
_BLOCK = re.compile(r"<(?:p|div|td|th|li|tr|br|h[1-6]|section|article|table|dd|dt)\b", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """Bytes to text: the page's own <meta charset> when it names one Python knows, else sniffing."""
    from index.readers.encoding import decode_bytes

    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):   # a byte-order mark outranks <meta>
        return decode_bytes(data)
    m = _META_CHARSET.search(data[:4096])
    if m:
        name = m.group(1).decode("ascii", "ignore").lower()
        name = {"gb2312": "gb18030", "gbk": "gb18030"}.get(name, name)
        if name.replace("-", "").replace("_", "").startswith("utf16"):
            name = "utf-8"   # HTML5: a <meta> that could be read as ASCII is not UTF-16, whatever it says
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(data)


def _many_blocks(html: str) -> bool:
    """Whether the page has more than ``MAX_BLOCKS_FOR_FALLBACK`` block elements (counted up to there)."""
    for n, _ in enumerate(_BLOCK.finditer(html), 1):
        if n > MAX_BLOCKS_FOR_FALLBACK:
            return True
    return False


def _keep_all(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    lines = [" ".join(line.split()) for line in soup.get_text("\n").splitlines()]
    return "\n".join(line for line in lines if line)


_BLOCK_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "dt", "dd", "figcaption", "tr")


def _block_texts(html: str) -> list[str]:
    """The text of each block-level element of the page (headings, paragraphs, list items, table rows), in
    document order, inline markup (links, bold) inside it included."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except Exception:   # lxml refuses some fragments: no blocks, the text stays as it came
        return []
    return [" ".join(el.text_content().split()) for el in tree.iter(*_BLOCK_TAGS)]


def _with_block_breaks(flat: str, blocks: list[str]) -> str:
    """``flat`` (trafilatura's main text on one line) broken again before each of the page's blocks that it
    holds, in order: a block counts where it starts the text or follows a space, and the search goes on
    after it (a link's text repeated in the headline does not break the headline).

    Why: a news page whose dateline is 「<p class="meta">」 comes out of trafilatura 2.3 with every paragraph
    on one line; the normalizer then glued headline, date, source and body, and a question about another
    line answered 「2024-06-28来源：南溪日报6月28日上午」."""
    cuts, at = [], 0
    for block in blocks:
        if len(block) < 2:
            continue
        i = flat.find(block, at)
        while i > 0 and not flat[i - 1].isspace():
            i = flat.find(block, i + 1)
        if i < 0:
            continue
        cuts.append(i)
        at = i + len(block)
    parts = [flat[a:b].strip() for a, b in zip([0] + cuts, cuts + [len(flat)])]
    return "\n".join(p for p in parts if p)


# a dateline or byline: who wrote the page, when, from where (「澜州生活网 2025-01-20 09:30　作者：何小满」)
_BYLINE = re.compile(r"(?:作者|記者|记者|编辑|編輯|责编|责任编辑|責任編輯|来源|來源|稿源|发布时间|發布時間|发布日期|發布日期|"
                     r"发表时间|發表時間|日期|时间|時間)\s*[:：]|(?:19|20)\d\d[-/.年]\d{1,2}[-/.月]\d{1,2}")
BYLINE_MAX_CHARS = 80
BODY_MIN_CHARS = 40   # a block this long is the text's body: bylines come before it
BYLINE_BLOCKS = 200   # a byline is among a page's first blocks: a page of 10,000 table cells is not searched whole


def _with_byline(text: str, blocks: list[str]) -> str:
    """``text`` (trafilatura's main text) with the page's dateline or byline put back after the headline.

    Why: trafilatura 2.3 drops 「<p class="meta">澜州生活网 2025-01-20 09:30　作者：何小满</p>」 as boilerplate, so
    asked 「这篇报道的作者是谁？」 the bot named a designer quoted in the text. Only short blocks that read as a
    byline (作者：, 来源：, 发布时间：, a date), that the text lacks, and that stand after a block the text holds (the
    headline: not in the navigation) and before the body's first long block are put back, after that block."""
    flat = "".join(text.split())
    lines = text.split("\n")
    squeezed_lines = ["".join(line.split()) for line in lines[:BYLINE_BLOCKS]]
    anchor = -1   # the line of the text the last block found in it starts
    for block in blocks[:BYLINE_BLOCKS]:
        squeezed = "".join(block.split())
        if not squeezed:
            continue
        if squeezed in flat:
            if len(squeezed) >= BODY_MIN_CHARS:
                break   # the body has started: no byline after this
            anchor = next((i for i, line in enumerate(squeezed_lines) if squeezed in line), anchor)
            continue
        if anchor >= 0 and len(block) <= BYLINE_MAX_CHARS and _BYLINE.search(block):   # not in the navigation
            lines.insert(anchor + 1, block)
            squeezed_lines.insert(anchor + 1, squeezed)
            anchor += 1
            flat += squeezed
    return "\n".join(lines)


def read_html_text(html: str, keep_all: bool = False) -> tuple[LocatedText, str | None]:
    """(text, the page's <title> if any)."""
    title = None
    html = _DATA_URL.sub(r"\1", html)
    m = re.search(r"<title[^>]*>(.*?)</title>", html[:20000], re.IGNORECASE | re.DOTALL)
    if m:
        title = " ".join(m.group(1).split())[:60] or None
    if keep_all:
        text = _keep_all(html)
    else:
        import trafilatura

        text = trafilatura.extract(html, include_tables=True, include_comments=False, favor_recall=True,
                                   deduplicate=False, fast=_many_blocks(html)) or ""
        if not text.strip():       # no main content found (a bare fragment, a table page): keep everything
            text = _keep_all(html)
        else:
            blocks = _block_texts(html)
            if "\n" not in text.strip():
                text = _with_block_breaks(text.strip(), blocks)
            text = _with_byline(text.strip(), blocks)
    if not text.strip():
        raise UnreadableFile("the web page has no visible text")
    out = LocatedText()
    out.add(text.strip())
    return out, title
