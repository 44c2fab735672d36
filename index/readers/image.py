"""Scans and photos (PNG, JPEG, TIFF, WebP): OCR by RapidOCR, lines put back in reading order.

Why RapidOCR 3.x: its wheel ships the PP-OCR detection and recognition models (Apache-2.0) and runs
with no network as long as its default model settings are kept (other languages or versions download
at run time, so none is asked for here). OpenVINO runs those models 2.7 times as fast as ONNX
Runtime on the benchmark page; ONNX Runtime stays the fallback. Reading order is a
recursive XY-cut: a page is split at the widest blank band, columns (vertical bands) first, so a
multi-column newspaper page reads column by column, top to bottom, left to right. Vertical CJK
text is not handled yet: its columns come back as short lines.
"""
from __future__ import annotations

import logging
import os
import statistics
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from index.readers.located import LocatedText, UnreadableFile

_log = logging.getLogger(__name__)

SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
MAX_PIXELS = 50_000_000      # a 200-megapixel image is refused, not OCR'd for minutes
MAX_FRAMES = 200             # pages of a multi-page TIFF
MAX_SIDE = 3200              # longer sides are scaled down to this before detection
MIN_SCORE = 0.5              # OCR lines below this recognition confidence are dropped
MIN_SIDE = 8                 # an image narrower or shorter than this holds no line of text

_ENGINE = None
_ENGINE_KIND: str | None = None
_ENGINE_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[float, float, float, float]     # x0, y0, x1, y1 in pixels
    score: float


OCR_ENGINES = ("auto", "openvino", "onnxruntime")


class OcrEngineError(RuntimeError):
    """The OCR engine asked for cannot run here."""


def ocr_engine_name() -> str:
    """``ZHQA_OCR_ENGINE``: auto (OpenVINO where it loads, else ONNX Runtime), openvino or onnxruntime."""
    name = (os.environ.get("ZHQA_OCR_ENGINE") or "auto").strip().lower()
    if name not in OCR_ENGINES:
        raise OcrEngineError(f"ZHQA_OCR_ENGINE must be one of {', '.join(OCR_ENGINES)}, not {name!r}")
    return name


def block_openvino_telemetry() -> None:
    """Keep ``import openvino`` offline: it otherwise posts an "import" event to Google Analytics from a
    multiprocessing child (openvino-telemetry, on unless the user opted out). With its module marked missing,
    OpenVINO falls back to its own no-op stub; inference is unaffected."""
    sys.modules.setdefault("openvino_telemetry", None)
    sys.modules.setdefault("openvino_telemetry.backend", None)


def _build_engine(kind: str):
    from rapidocr import EngineType, RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    # a newspaper page rendered for reading is taller than RapidOCR's default 2,000-pixel cap
    # no line-direction classifier (scans are upright; it cost 0.4 s a page) and bigger recognition
    # batches: 6.05 → 5.38 s on the benchmark's 123-line page, same text (benchmarks/ingest.py)
    params = {"Global.log_level": "warning", "Global.max_side_len": MAX_SIDE, "Global.use_cls": False,
              "Rec.rec_batch_num": 24}
    if kind == "openvino":
        # the same bundled ONNX models, run by OpenVINO: 10.3 → 3.85 s on that page on a 2-core AMX CPU
        # (bf16 where the CPU has it), same text (benchmarks/ingest.py --ocr-engines)
        block_openvino_telemetry()
        params.update({"Det.engine_type": EngineType.OPENVINO, "Rec.engine_type": EngineType.OPENVINO})
    return RapidOCR(params=params)


def _engine():
    """One RapidOCR engine a process, with its bundled default models (never a download)."""
    global _ENGINE, _ENGINE_KIND
    with _ENGINE_LOCK:
        if _ENGINE is None:
            name = ocr_engine_name()
            if name == "onnxruntime":
                _ENGINE, _ENGINE_KIND = _build_engine("onnxruntime"), "onnxruntime"
            else:
                try:
                    _ENGINE, _ENGINE_KIND = _build_engine("openvino"), "openvino"
                except Exception as exc:  # not installed, or its CPU plugin cannot run on this machine
                    if name == "openvino":
                        raise OcrEngineError(f"the OpenVINO OCR engine cannot run here: {type(exc).__name__}: {exc}") from exc
                    _log.warning("OCR: OpenVINO unavailable (%s: %s); using ONNX Runtime", type(exc).__name__, exc)
                    _ENGINE, _ENGINE_KIND = _build_engine("onnxruntime"), "onnxruntime"
        return _ENGINE


def _fall_back_to_onnxruntime(exc: Exception):
    """After OpenVINO failed on a page (auto mode): ONNX Runtime for this page and the rest of the
    process. Called holding _RUN_LOCK; the engine is swapped by one assignment, not under _ENGINE_LOCK
    (taking it here would invert drop_ocr_engine's lock order)."""
    global _ENGINE, _ENGINE_KIND
    _log.warning("OCR: OpenVINO failed on a page (%s: %s); using ONNX Runtime from now on",
                 type(exc).__name__, str(exc)[:200])
    fallback = _build_engine("onnxruntime")
    _ENGINE, _ENGINE_KIND = fallback, "onnxruntime"
    return fallback


def drop_ocr_engine() -> None:
    """Forget the process's OCR engine: the next page builds one anew (after ``ZHQA_OCR_ENGINE`` changed)."""
    global _ENGINE, _ENGINE_KIND
    with _ENGINE_LOCK, _RUN_LOCK:
        _ENGINE, _ENGINE_KIND = None, None


def ocr_engine_in_use() -> str | None:
    """Which runtime the process's OCR engine uses (None before the first page)."""
    return _ENGINE_KIND


def ocr_image(image) -> list[OcrLine]:
    """The text lines of a PIL image, in reading order."""
    import numpy as np

    rgb = image.convert("RGB")
    bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    engine = _engine()
    with _RUN_LOCK:  # one page at a time: OCR already uses every core
        try:
            result = engine(bgr)
        except Exception as exc:
            if _ENGINE_KIND != "openvino" or engine is not _ENGINE or ocr_engine_name() != "auto":
                raise
            result = _fall_back_to_onnxruntime(exc)(bgr)
    boxes, txts, scores = getattr(result, "boxes", None), getattr(result, "txts", None), getattr(result, "scores", None)
    if boxes is None or txts is None:
        return []
    lines = []
    for quad, text, score in zip(boxes, txts, scores):
        text = str(text).strip()
        if not text or float(score) < MIN_SCORE:
            continue
        xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
        lines.append(OcrLine(text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
    return reading_order(lines)


def add_ocr_page(out: LocatedText, lines: list[OcrLine], page: int) -> None:
    """A page's OCR lines, in reading order, each a region with its box; the page starts a paragraph."""
    for j, line in enumerate(lines):
        out.add(line.text, page=page, box=line.box, sep="\n\n" if j == 0 else "\n")


# ---------------------------------------------------------------- reading order: recursive XY-cut
def _gaps(lines: list[OcrLine], axis: int) -> list[tuple[float, float]]:
    """Blank bands (lo, hi) along ``axis`` (0: x, 1: y) that no line crosses."""
    spans = sorted((ln.box[axis], ln.box[axis + 2]) for ln in lines)
    out, reach = [], spans[0][1]
    for lo, hi in spans[1:]:
        if lo > reach:
            out.append((reach, lo))
        reach = max(reach, hi)
    return out


def split_at_gap(lines: list[OcrLine], axis: int, min_gap: float) -> list[list[OcrLine]]:
    """Two groups either side of the widest blank band along ``axis`` (the first of equals), if it is
    at least ``min_gap`` wide; else the lines as one group."""
    gaps = [(hi - lo, -lo, (lo + hi) / 2) for lo, hi in _gaps(lines, axis) if hi - lo >= min_gap]
    if not gaps:
        return [lines]
    cut = max(gaps)[2]
    before = [ln for ln in lines if (ln.box[axis] + ln.box[axis + 2]) / 2 < cut]
    after = [ln for ln in lines if (ln.box[axis] + ln.box[axis + 2]) / 2 >= cut]
    return [g for g in (before, after) if g]


def _rows(lines: list[OcrLine]) -> list[OcrLine]:
    """Lines of one block: boxes that overlap vertically by half a line form a row, read left to right."""
    rows: list[list[OcrLine]] = []
    for ln in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        if rows:
            last = rows[-1]
            top, bottom = min(x.box[1] for x in last), max(x.box[3] for x in last)
            overlap = min(bottom, ln.box[3]) - max(top, ln.box[1])
            if overlap >= 0.5 * min(bottom - top, ln.box[3] - ln.box[1]):
                last.append(ln)
                continue
        rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Lines sorted for reading: columns left to right (a band of white space at least a line
    high separates them), blocks top to bottom (a blank band of most of a line height); each step
    cuts at the widest band, columns first."""
    if len(lines) <= 1:
        return list(lines)
    height = statistics.median(ln.box[3] - ln.box[1] for ln in lines) or 1.0

    def cut(group: list[OcrLine]) -> list[OcrLine]:
        if len(group) <= 1:
            return group
        for axis, min_gap in ((0, 1.0 * height), (1, 0.8 * height)):
            parts = split_at_gap(group, axis, min_gap)
            if len(parts) > 1:
                return [ln for part in parts for ln in cut(part)]
        return _rows(group)

    return cut(list(lines))


# ---------------------------------------------------------------- image files
def open_image(path: Path):
    """The image, checked: not empty, not over ``MAX_PIXELS``, really an image."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        raise UnreadableFile("file is empty")
    try:
        with warnings.catch_warnings():   # PIL warns of images past 89 megapixels; the limit below refuses them
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise UnreadableFile(f"image is too large to OCR (over {MAX_PIXELS // 1_000_000} megapixels)") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableFile(f"not a readable image ({type(exc).__name__})") from None
    w, h = image.size
    if w * h > MAX_PIXELS:
        image.close()
        raise UnreadableFile(f"image is {w}×{h} ({w * h / 1e6:.0f} megapixels), over the "
                             f"{MAX_PIXELS // 1_000_000}-megapixel limit")
    return image


def _page_problem(image, number: int) -> str | None:
    """Why frame ``number`` (1-based) cannot be read ("is damaged (…)", "is W×H (…), over …"), or None
    once it is loaded."""
    from PIL import Image

    try:
        image.seek(number - 1)
        fw, fh = image.size
        if fw * fh > MAX_PIXELS:
            return (f"is {fw}×{fh} ({fw * fh / 1e6:.0f} megapixels), over the {MAX_PIXELS // 1_000_000}-megapixel "
                    "limit")
        if min(fw, fh) < MIN_SIDE:   # OCR cannot scale it (OpenVINO failed on such a page, for the process)
            return f"is {fw}×{fh} pixels, too small to hold a line of text"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        return f"is damaged ({type(exc).__name__}: {str(exc)[:60]})"
    return None


def read_image(path: Path, on_page=None) -> LocatedText:
    """OCR every frame (a multi-page TIFF has several); each frame is a page, each line a region."""
    image = open_image(path)
    out = LocatedText()
    try:
        try:
            total = getattr(image, "n_frames", 1) or 1
        except (OSError, ValueError, EOFError):   # frames past the first are damaged: the first is read
            total = 1
        frames = min(total, MAX_FRAMES)
        problems = []
        for number in range(1, frames + 1):
            problem = _page_problem(image, number)
            if problem is not None:
                problems.append(f"page {number} {problem}")
                out.notes.append(f"page {number} {problem}: not read")
            else:
                add_ocr_page(out, ocr_image(image), number)
            if on_page is not None:
                on_page(number, frames)
        if len(problems) == frames:   # nothing read: the file is refused, for its first page's reason
            raise UnreadableFile(f"image {problems[0].split(' ', 2)[2]}" if frames == 1 else
                                 f"no page could be read ({problems[0]})")
        if total > frames:
            out.notes.append(f"only the first {MAX_FRAMES} of its {total} pages were read")
    finally:
        image.close()
    return out
