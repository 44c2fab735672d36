"""Result types: what ``ask`` returns (plain frozen dataclasses, JSON-friendly)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

NO_ANSWER_ZH = "该文档中没有找到答案"


@dataclass(frozen=True)
class Candidate:
    """One answer candidate; offsets index the original document text."""

    text: str
    score: float
    doc_id: str
    title: str
    start: int
    end: int
    chunk_id: str


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as shown to the user."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Answer:
    """The bot's answer. ``abstained`` means the documents do not contain the answer (``text`` is empty).

    ``start``/``end`` index the original document (its exact characters); ``text`` is that span as the
    reader read it, normalized (full-width digits and letters folded, OCR's stray spaces dropped), and
    ``passage_start``/``passage_end`` index it in ``passage``.
    """

    question: str
    text: str
    score: float
    abstained: bool
    doc_id: str | None = None
    title: str | None = None
    start: int | None = None
    end: int | None = None
    passage: str | None = None
    passage_start: int | None = None
    passage_end: int | None = None
    chunk_id: str | None = None
    threshold: float = 0.0
    # the next best spans, ranked as the answer was (score × rank_decay ** passage rank), so one may score
    # higher than the answer; from the first passage alone when the reader stopped there (read_ranked)
    alternatives: tuple[Candidate, ...] = field(default_factory=tuple)
    passages: tuple[Passage, ...] = field(default_factory=tuple)
    latency_ms: float = 0.0
    # document ids of the retrieval ranking, best first (as deep as ``ask(depth=...)`` asked)
    ranked_doc_ids: tuple[str, ...] = field(default_factory=tuple)
    # with the answer-type rule on (qa/reader/answer_type.py), the measure the question asks for ("money",
    # "count", ...) or None when it names none, and how many better-scored candidates of another
    # measure it dropped
    asked_measure: str | None = None
    dropped_by_type: int = 0
    # the years the question asks about, when every candidate was set aside because its passage and its whole
    # document never name them while they state other years (qa/reader/time_agreement.py)
    other_years: tuple[str, ...] = ()
    # where the span is in the source file: its page (PDF page, slide, sheet; 1-based) and, for text
    # read by OCR, the box around its lines (x0, y0, x1, y1 in pixels of the page image); the source path
    page: int | None = None
    region: tuple[float, float, float, float] | None = None
    source: str | None = None
    # the page the span ends on, when it runs over from ``page`` onto a later one (None otherwise)
    last_page: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if self.abstained:
            return f"{NO_ANSWER_ZH} (score {self.score:.2f} < {self.threshold:.2f})"
        pages = f"{self.page}–{self.last_page}" if self.last_page is not None else f"{self.page}"
        where = f", {place_kind(self.source)}{'s' if self.last_page is not None else ''} {pages}" if self.page is not None else ""
        return f"{self.text} (score {self.score:.2f}, {self.title or self.doc_id}{where})"


OTHER_DOCUMENT_SHARE = 0.5   # of the answer's confidence: another document's answer this close is shown too
OTHER_DOCUMENTS_SHOWN = 2


def other_documents(answer: Answer) -> list[Candidate]:
    """Other documents' own answers that come close to the answer (at least OTHER_DOCUMENT_SHARE of its
    confidence), one a document, best first, at most OTHER_DOCUMENTS_SHOWN.

    Why: asked 「公司2023年研发投入金额是多少？」 over a folder of nine companies' reports, the bot answered
    from one of them at 0.87 while others said as much, and nothing told the user so. Lower passages are read
    only where they could win (ExtractiveReader.read_ranked), so these show where the first passage's answer
    is not sure of itself, which is where they matter."""
    if answer.abstained:
        return []
    seen = {answer.doc_id}
    out = []
    for c in answer.alternatives:
        if c.doc_id not in seen and c.score >= OTHER_DOCUMENT_SHARE * answer.score and c.text != answer.text:
            seen.add(c.doc_id)
            out.append(c)
            if len(out) == OTHER_DOCUMENTS_SHOWN:
                break
    return out


def place_kind(source: str | None) -> str:
    """What a document's pages are (``Answer.page``): "slide" for a deck, "sheet" for a workbook, else "page"
    (a PDF's page, a scan's frame).

    Why: readers number slides and sheets as pages; 「第 3 页」 for a workbook's third sheet sent people looking
    for a page that is not there."""
    from index.readers.sheets import SUFFIXES as SHEET_SUFFIXES   # here: a bot over a saved index never reads files
    from index.readers.slides import SUFFIXES as SLIDE_SUFFIXES

    from index.documents import source_file_name

    suffix = Path(source_file_name(source)).suffix.lower()
    return "slide" if suffix in SLIDE_SUFFIXES else "sheet" if suffix in SHEET_SUFFIXES else "page"


_PLACE_ZH = {"slide": "张幻灯片", "sheet": "个工作表", "page": "页"}


def place_label(source: str | None, page: int, last_page: int | None = None) -> str:
    """Where in its file an answer is, as the CLI and the UI show it: 「第 2 张幻灯片 (slide 2)」, or
    「第 2–3 页 (pages 2–3)」 for a span that runs over a page break."""
    kind = place_kind(source)
    if last_page is not None and last_page != page:
        return f"第 {page}–{last_page} {_PLACE_ZH[kind]} ({kind}s {page}–{last_page})"
    return f"第 {page} {_PLACE_ZH[kind]} ({kind} {page})"
