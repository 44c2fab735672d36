"""Bytes to text: BOM sniffing, UTF-8, else the most plausible of GB18030 / Big5 / UTF-16; binaries refused.

Why: users' Chinese files come in several encodings and folders hold stray binaries; every
text-based reader decodes the same way, and a file it cannot decode is skipped with a reason.
"""
from __future__ import annotations


class DecodeError(ValueError):
    """The bytes are binary or in no supported encoding."""


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0xFFFD == ord(ch))
    return bad / len(text) > 0.01


# The most frequent Chinese characters: real text is full of them, mis-decoded bytes are not.
_COMMON = set("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
              "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
              "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
              "，。、：；？！“”《》（）")


def _plausibility(text: str) -> float:
    """Share of characters that are common Chinese characters/punctuation or printable ASCII, traditional
    characters counted as their simplified forms (Big5 files are written in them)."""
    from index.simplified import to_simplified

    sample = to_simplified(text[:4000])
    if not sample:
        return 0.0
    good = sum(1 for ch in sample if ch in _COMMON or (ch.isascii() and (ch.isprintable() or ch in "\n\r\t")))
    return good / len(sample)


def _decoded(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _common_share(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese ones (traditional counted as simplified)."""
    from index.simplified import to_simplified

    wide = [ch for ch in to_simplified(text[:4000]) if not ch.isascii()]
    return sum(1 for ch in wide if ch in _COMMON) / len(wide) if wide else 0.0


def _gb_or_big5(data: bytes) -> str | None:
    """The GB18030 reading, unless the bytes are Big5. Big5 bytes often decode as GB18030 too, into rare
    characters, and GB bytes as Big5: bytes within GB2312 (nearly all simplified text; Big5 text almost
    never, its second bytes 0x40-0x7E are not GB2312's) are GB; otherwise Big5 is taken only when far
    more of its Chinese characters are common ones (short or mostly-ASCII text must not tip it)."""
    gb = _decoded(data, "gb18030")
    if _decoded(data, "gb2312") is not None:
        return gb
    big5 = _decoded(data, "big5")
    if big5 is None or (gb is not None and _common_share(big5) < _common_share(gb) + 0.1):
        return gb
    return big5


# Formats whose files begin with these bytes; a PDF is mostly ASCII and would otherwise pass for text.
_SIGNATURES = ((b"%PDF-", "a PDF (.pdf)"), (b"PK\x03\x04", "a ZIP archive (an Office file: .docx, .pptx, .xlsx?)"),
               (b"\x89PNG\r\n\x1a\n", "a PNG image (.png)"), (b"\xff\xd8\xff", "a JPEG image (.jpg)"),
               (b"II*\x00", "a TIFF image (.tif)"), (b"MM\x00*", "a TIFF image (.tif)"), (b"GIF8", "a GIF image"),
               (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.doc, .xls or .ppt)"))


def _mixed_lines(data: bytes) -> str | None:
    """Each line decoded on its own, as UTF-8 or else GB18030: a file appended to by two systems (a CSV
    export of UTF-8 rows, then GBK ones). None unless some line holds non-ASCII UTF-8."""
    lines = data.split(b"\n")
    if not any(not line.isascii() and _decoded(line, "utf-8") is not None for line in lines):
        return None
    out = []
    for line in lines:
        text = _decoded(line, "utf-8")
        if text is None:
            text = _decoded(line, "gb18030")
        if text is None:
            return None
        out.append(text)
    return "\n".join(out)


def _differing_lines(text: str, other: str) -> str:
    """The lines of ``text`` that differ from ``other``'s (the same file read two ways: a newline byte is
    never part of a GB18030 or Big5 character, so their lines pair up)."""
    return "\n".join(a for a, b in zip(text.split("\n"), other.split("\n")) if a != b)


def decode_bytes(data: bytes) -> str:
    """Decode with BOM sniffing, then UTF-8, else the most plausible of GB18030 / Big5 / UTF-16; refuse binary,
    naming the format of a file that is another kind under a text suffix."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            raise DecodeError(f"the file is {kind}, not text: give it its format's suffix")
    if data.startswith(b"\xef\xbb\xbf"):
        forced = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        forced = "utf-16"
    else:
        forced = None
    if forced:
        try:
            text = data.decode(forced)
        except UnicodeDecodeError as exc:
            raise DecodeError(f"file starts with a {forced} byte-order mark but does not decode as {forced}") from exc
        if _looks_binary(text):
            raise DecodeError("binary file (control characters in the text)")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a UTF-8 file cut off inside its last character (a copy or download stopped short): the rest
        text = data[:exc.start].decode("utf-8") if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3 else None
    if text is not None:
        if not _looks_binary(text):
            return text
        raise DecodeError("binary file (control characters in the text)")
    best, best_score = None, 0.0
    gb, mixed = _gb_or_big5(data), _mixed_lines(data)
    if gb is not None and mixed is not None:   # judged on the lines where they differ, wherever those are
        gb, mixed = (None, mixed) if _plausibility(_differing_lines(mixed, gb)) >= \
            _plausibility(_differing_lines(gb, mixed)) else (gb, None)
    for text in (gb, mixed, _decoded(data, "utf-16-le"), _decoded(data, "utf-16-be")):
        if text is None:
            continue
        score = _plausibility(text)
        if not _looks_binary(text) and score > best_score:
            best, best_score = text, score
    if best is None or best_score < 0.3:
        raise DecodeError("binary file or unsupported text encoding (expected UTF-8, UTF-16, GB18030 or Big5)")
    return best
