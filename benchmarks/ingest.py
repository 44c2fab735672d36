"""Reading documents: pages/s per format and OCR accuracy on rendered pages of the bundled article.

Renders the bundled article as a two-column scan (PNG), a text-layer PDF, a scanned PDF (the PNG as
an image page), a DOCX and a PPTX, reads each through ``index.ingest`` and prints pages (files)
per second, seconds per page, and the OCR character error rate against the typed text
(whitespace ignored). ``--out DIR`` keeps the rendered files (``scan.png``, ``article.pdf``,
``article.docx``) to ask questions of:

    python benchmarks/ingest.py --out /tmp/docs
    qa ask "2023财年阿里活跃的公益幸福团有多少个？" --corpus /tmp/docs/scan.png

Needs a CJK font (``apt-get install -y fonts-wqy-microhei``) and reportlab (``pip install reportlab``).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARTICLE = ROOT / "qa" / "samples" / "alibaba_esg_2023.txt"
TITLE = "阿里巴巴发布2023年ESG报告"


def cjk_font() -> str:
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    fonts = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    fonts = [f for f in fonts if f.endswith((".ttc", ".ttf", ".otf"))]
    if not fonts:
        sys.exit("error: no CJK font: apt-get install -y fonts-wqy-microhei")
    return fonts[0]


def body_text() -> str:
    """The article without its title line and whitespace (OCR cannot see line breaks)."""
    text = ARTICLE.read_text(encoding="utf-8")
    flat = "".join(text.split())
    return flat[flat.find(TITLE) + len(TITLE):] if TITLE in flat else flat


def render_scan(path: Path, font_path: str, chars_per_line: int = 24) -> None:
    """The whole article on one page: title across the top, then two columns."""
    from PIL import Image, ImageDraw, ImageFont

    font, big = ImageFont.truetype(font_path, 26), ImageFont.truetype(font_path, 44)
    lines = textwrap.wrap(body_text(), chars_per_line)
    half = (len(lines) + 1) // 2
    columns = [lines[:half], lines[half:]]
    width, pitch = 2 * 40 + 2 * chars_per_line * 26 + 60, 38
    img = Image.new("RGB", (width, 140 + pitch * half + 40), "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), TITLE, font=big, fill="black")
    for ci, col in enumerate(columns):
        for li, line in enumerate(col):
            draw.text((40 + ci * (chars_per_line * 26 + 60), 140 + li * pitch), line, font=font, fill="black")
    img.save(path)


def write_pdf(path: Path, font_path: str, pages: int = 1, image: Path | None = None) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("CJK", font_path, subfontIndex=0))
    c = canvas.Canvas(str(path), pagesize=A4)
    if image is not None:
        from PIL import Image

        w, h = Image.open(image).size
        c.setPageSize((w * 72 / 150, h * 72 / 150))
        c.drawImage(str(image), 0, 0, width=w * 72 / 150, height=h * 72 / 150)
        c.showPage()
        c.save()
        return
    lines = [TITLE] + textwrap.wrap(body_text(), 40)
    per_page = 45
    for n in range(pages):
        chunk = lines[(n * per_page) % len(lines):][:per_page] or lines[:per_page]
        c.setFont("CJK", 12)
        for i, line in enumerate(chunk):
            c.drawString(50, 800 - 16 * i, line)
        c.showPage()
    c.save()


def write_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading(TITLE, 1)
    for para in ARTICLE.read_text(encoding="utf-8").split("\n\n"):
        if para.strip():
            d.add_paragraph("".join(para.split()))
    d.save(path)


def write_pptx(path: Path, slides: int = 10) -> None:
    from pptx import Presentation

    deck = Presentation()
    parts = textwrap.wrap(body_text(), 300)
    for n in range(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"{TITLE}（{n + 1}）"
        slide.placeholders[1].text = parts[n % len(parts)]
    deck.save(path)


def char_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / len(reference), by a row-vectorised dynamic programme."""
    a, b = np.array([ord(c) for c in reference]), np.array([ord(c) for c in hypothesis])
    prev = np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        sub = prev[:-1] + (b != a[i - 1])
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, sub)
        idx = np.arange(len(b) + 1)
        cur = np.minimum.accumulate(cur - idx) + idx          # insertions along the row
        prev = cur
    return float(prev[-1]) / max(1, len(a))


def timed(path: Path, repeat: int = 1):
    from index.ingest import read_file

    best, res = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        res = read_file(path)
        best = min(best, time.perf_counter() - t)
    if res.skipped:
        sys.exit(f"error: {path.name}: {res.skipped[0].reason}")
    return best, res.documents[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="keep the rendered files in this folder")
    ap.add_argument("--pdf-pages", type=int, default=40, help="pages of the text-layer PDF timed")
    ap.add_argument("--ocr-engines", default="onnxruntime,auto",
                    help="OCR runtimes timed, each in this process (ZHQA_OCR_ENGINE values; auto: the default)")
    args = ap.parse_args()
    font = cjk_font()
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="zhqa-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    scan, pdf, many, scanned_pdf = work / "scan.png", work / "article.pdf", work / "pages.pdf", work / "scanned.pdf"
    docx_path, pptx_path = work / "article.docx", work / "deck.pptx"
    render_scan(scan, font)
    write_pdf(pdf, font)
    write_pdf(many, font, pages=args.pdf_pages)
    write_pdf(scanned_pdf, font, image=scan)
    write_docx(docx_path)
    write_pptx(pptx_path)

    from PIL import Image

    from index.readers.image import drop_ocr_engine, ocr_engine_in_use

    rows = []
    t, doc = timed(many, repeat=3)
    rows.append(("PDF, text layer", f"{args.pdf_pages} pages", args.pdf_pages / t, 1000 * t / args.pdf_pages, None))
    t, doc = timed(docx_path, repeat=3)
    rows.append(("DOCX", "1 file", 1 / t, 1000 * t, None))
    t, doc = timed(pptx_path, repeat=3)
    rows.append(("PPTX", "10 slides", 10 / t, 100 * t, None))
    w, h = Image.open(scan).size
    reference = TITLE + body_text()
    for engine in [e.strip() for e in args.ocr_engines.split(",") if e.strip()]:
        os.environ["ZHQA_OCR_ENGINE"] = engine
        drop_ocr_engine()
        start = time.perf_counter()
        timed(scan)                                             # load the OCR models once
        first = time.perf_counter() - start
        kind = ocr_engine_in_use()
        t, doc = timed(scan, repeat=2)
        cer = char_error_rate(reference, "".join(doc.text.split()))
        rows.append((f"PNG scan, OCR ({w}×{h}), {kind}", "1 page", 1 / t, 1000 * t, cer))
        print(f"{kind}: first page, with the models loaded, {first:.1f} s", file=sys.stderr)
        t, doc = timed(scanned_pdf)
        cer_pdf = char_error_rate(reference, "".join(doc.text.split()))
        rows.append((f"PDF without text layer, OCR, {kind}", "1 page", 1 / t, 1000 * t, cer_pdf))
    print(f"\nReading documents ({os.cpu_count()} CPUs); the bundled article ({len(body_text())} characters) rendered")
    print(f"{'format':<46} {'timed':<10} {'pages/s':>8} {'ms/page':>9} {'OCR CER':>8}")
    for name, what, pps, ms, c in rows:
        print(f"{name:<46} {what:<10} {pps:>8.2f} {ms:>9.1f} {'' if c is None else f'{100 * c:.2f}%':>8}")
    if args.out:
        print(f"\nfiles kept in {work}: scan.png, article.pdf, scanned.pdf, article.docx, deck.pptx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
