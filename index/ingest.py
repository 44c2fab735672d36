"""Read documents from files and folders: .txt, .md and SQuAD-style JSON.

Why: users point the bot at whatever Chinese text they have; encodings vary (UTF-8 with or
without BOM, UTF-16, GB18030) and folders hold stray binaries. Every file either becomes
documents or a :class:`Skipped` entry with a reason.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document, Skipped
from index.squad import SquadFormatError, is_squad_json, parse_squad

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
JSON_SUFFIXES = {".json"}
MAX_FILE_BYTES = 50 * 1024 * 1024
INGEST_VERSION = 2  # bump when ids/titles change, so cached indexes are rebuilt


class DecodeError(ValueError):
    """The bytes are binary or in no supported encoding."""


@dataclass
class IngestResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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
    """Share of characters that are common Chinese characters/punctuation or printable ASCII."""
    sample = text[:4000]
    if not sample:
        return 0.0
    good = sum(1 for ch in sample if ch in _COMMON or (ch.isascii() and (ch.isprintable() or ch in "\n\r\t")))
    return good / len(sample)


def decode_bytes(data: bytes) -> str:
    """Decode with BOM sniffing, then UTF-8, else the most plausible of GB18030 / UTF-16; refuse binary."""
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
        if not _looks_binary(text):
            return text
        raise DecodeError("binary file (control characters in the text)")
    except UnicodeDecodeError:
        pass
    best, best_score = None, 0.0
    for enc in ("gb18030", "utf-16-le", "utf-16-be"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if not _looks_binary(text) and score > best_score:
            best, best_score = text, score
    if best is None or best_score < 0.3:
        raise DecodeError("binary file or unsupported text encoding (expected UTF-8, UTF-16 or GB18030)")
    return best


def document_id(path: Path, text: str) -> str:
    """Stable id: file stem plus a short content hash, so two files named alike don't clash."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    stem = re.sub(r"[^\w\-.]+", "_", path.stem)[:60] or "doc"
    return f"{stem}-{digest}"


_BYLINE_RE = re.compile(r"(本报记者|记者|通讯员|编辑)")


def _title_from(path: Path, text: str) -> str:
    """First substantial line (Markdown heading marks, bullets and bylines skipped), else the file name."""
    for line in text.splitlines()[:20]:
        line = re.sub(r"^[#\s■●◆▲□◇*\-]+", "", line).strip()
        if len(line) >= 4 and not _BYLINE_RE.search(line[:8]):
            return line[:60]
    return path.stem


def read_file(path: str | Path) -> IngestResult:
    """Read one file into documents, or a Skipped entry naming the problem."""
    p = Path(path)
    res = IngestResult()
    suffix = p.suffix.lower()
    if suffix not in TEXT_SUFFIXES | JSON_SUFFIXES:
        res.skipped.append(Skipped(str(p), f"unsupported file type '{suffix or p.name}' (use .txt, .md or .json)"))
        return res
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            res.skipped.append(Skipped(str(p), f"file is {size / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 10**6} MB limit"))
            return res
        text = decode_bytes(p.read_bytes())
    except DecodeError as exc:
        res.skipped.append(Skipped(str(p), str(exc)))
        return res
    except OSError as exc:
        res.skipped.append(Skipped(str(p), f"cannot read: {exc.strerror or exc}"))
        return res
    if suffix in JSON_SUFFIXES:
        try:
            obj = json.loads(text)
            squad = parse_squad(obj, str(p))
        except (json.JSONDecodeError, SquadFormatError) as exc:
            res.skipped.append(Skipped(str(p), f"not SQuAD-style JSON: {exc}"))
            return res
        for para in squad.paragraphs:
            if para.context.strip():
                res.documents.append(Document(para.id, para.title, para.context, str(p)))
        if not res.documents:
            res.skipped.append(Skipped(str(p), "the JSON holds no paragraphs"))
        return res
    if not text.strip():
        res.skipped.append(Skipped(str(p), "file is empty"))
        return res
    res.documents.append(Document(document_id(p, text), _title_from(p, text), text, str(p)))
    return res


def read_paths(paths: list[str | Path]) -> IngestResult:
    """Read files and (recursively) folders; missing paths are reported as skipped."""
    res = IngestResult()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.exists():
            files = [p]
        else:
            res.skipped.append(Skipped(str(p), "no such file or directory"))
            continue
        for f in files:
            if p.is_dir() and f.suffix.lower() not in TEXT_SUFFIXES | JSON_SUFFIXES:
                res.skipped.append(Skipped(str(f), f"unsupported file type '{f.suffix or f.name}'"))
                continue
            one = read_file(f)
            res.documents.extend(one.documents)
            res.skipped.extend(one.skipped)
    return res
