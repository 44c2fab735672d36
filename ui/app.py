"""The Gradio Blocks app: chat over the index, a sources panel, and document management.

Why this shape: the models take seconds to load, so one :class:`qa.bot.QABot` is built before
the Blocks exist and is shared by every browser session (``QABot.ask`` is thread-safe; the
Gradio queue serves concurrent users). The callbacks are plain methods of :class:`ChatUI` that
return plain values, so they are unit-tested without a server. Everything user-supplied
(questions, file names, document text) is HTML-escaped before it reaches Markdown/HTML output.
"""
from __future__ import annotations

import html
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import replace
from pathlib import Path

import gradio as gr

from index.ingest import PAGED_SUFFIXES, SUPPORTED_SUFFIXES, read_paths
from index.store import StoreError
from index.store.versions import earlier_versions
from qa.answer import NO_ANSWER_ZH, Answer, other_documents, place_label
from qa.reader.answer_type import MEASURE_NAMES
from qa.bot import QABot, QuestionError
from qa.config import check_top_k
from qa.messages import one_line
from qa.question_text import showable, without_blank_ends
from qa.retrieve import MODES

log = logging.getLogger(__name__)

TITLE = "中文文档问答 · Chinese document QA"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_SUFFIXES = sorted(SUPPORTED_SUFFIXES)
MAX_TOP_K = 20
CLOSEST_SHOWN = 3
QUEUE_SIZE = 256          # waiting requests before Gradio turns one away
READ_ONLY_REFUSAL = "read-only server: documents cannot be added or removed"
ASK_CONCURRENCY = 4      # requests of one event served at once (asks share a read lock)
EXAMPLE_QUESTIONS = (
    "2023财年阿里活跃的公益幸福团有多少个？",
    "阿里巴巴带动平台生态减碳达到多少？",
    "钉钉用户超过多少？",
    "腾讯公司2023年的碳排放是多少？",
)
MODE_LABELS = {"hybrid": "混合 hybrid", "dense": "向量 dense", "bm25": "关键词 bm25"}

CSS = """
.zhqa-passage { border-left: 3px solid #f59e0b; background: rgba(245, 158, 11, 0.07);
  padding: 6px 10px; margin: 6px 0; border-radius: 4px; line-height: 1.6; }
.zhqa-passage mark, .zhqa-sources mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 2px; }
#zhqa-title h2 { font-weight: 600; margin-bottom: 4px; }
.zhqa-passage.zhqa-closest { font-size: 0.9em; line-height: 1.5; border-left-color: var(--border-color-primary);
  background: transparent; }
.zhqa-meta { color: var(--body-text-color-subdued); font-size: 0.9em; }
.zhqa-sources { max-height: 560px; overflow-y: auto; }
.zhqa-source { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 10px;
  margin-bottom: 8px; line-height: 1.55; }
.zhqa-source.zhqa-hit { border-color: #f59e0b; }
.zhqa-source-head { display: flex; justify-content: space-between; gap: 8px; font-size: 0.88em;
  color: var(--body-text-color-subdued); margin-bottom: 4px; }
.zhqa-source-head .zhqa-score { white-space: nowrap; font-variant-numeric: tabular-nums; }
.zhqa-source-id { font-family: var(--font-mono); font-size: 0.78em; color: var(--body-text-color-subdued);
  margin-bottom: 4px; word-break: break-all; }
.zhqa-source-text { font-size: 0.92em; white-space: pre-wrap; }
.zhqa-examples button { white-space: normal; }
.zhqa-scan img { max-width: 100%; border: 1px solid var(--border-color-primary); border-radius: 4px; margin-top: 4px; }
"""


# ------------------------------------------------------------------------------- formatting helpers
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+\-.!|~$>])")


def md_escape(text: str) -> str:
    """Text shown verbatim inside Markdown: HTML-escaped, Markdown syntax characters backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def _html_text(text: str) -> str:
    """Escaped HTML on one line (newlines as <br>) so that Markdown never parses it."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def highlight(text: str, start: int | None, end: int | None) -> str:
    """``text`` as escaped HTML with ``text[start:end]`` wrapped in <mark>."""
    if start is None or end is None or not 0 <= start < end <= len(text):
        return _html_text(text)
    return f"{_html_text(text[:start])}<mark>{_html_text(text[start:end])}</mark>{_html_text(text[end:])}"


def _doc_label(title: str | None, doc_id: str | None) -> str:
    title = (title or "").strip()
    if title and doc_id:
        return f"{md_escape(title)}（{md_escape(doc_id)}）"
    return md_escape(title or doc_id or "?")


def _excerpt(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def format_answer(answer: Answer) -> str:
    """The assistant's chat message (Markdown with small HTML blocks)."""
    if answer.abstained:
        lines = [f"**{NO_ANSWER_ZH}**",
                 f'<span class="zhqa-meta">最高置信度 {answer.score:.2f}，低于阈值 {answer.threshold:.2f}'
                 f"（no answer above the confidence threshold）</span>"]
        if answer.dropped_by_type and answer.asked_measure in MEASURE_NAMES:
            zh, en = MEASURE_NAMES[answer.asked_measure]
            n = answer.dropped_by_type
            lines.append(f'<span class="zhqa-meta">问题问的是{zh}；已排除 {n} 个其他类型的候选答案'
                         f"（the question asks for {en}; {n} candidate{'s' if n > 1 else ''} of another kind "
                         f"set aside）</span>")
        if answer.other_years:
            years = "、".join(y + "年" for y in answer.other_years)
            lines.append(f'<span class="zhqa-meta">问题问的是{years}；所读文档没有提到这一年份，只提到其他年份'
                         f"（the documents read never name {', '.join(answer.other_years)}, only other years）</span>")
        if answer.passages:
            lines.append("最接近的段落 · closest passages:")
            for i, p in enumerate(answer.passages[:CLOSEST_SHOWN], 1):
                lines.append(f'<div class="zhqa-passage zhqa-closest"><b>{i}.</b> '
                             f'<span class="zhqa-meta">{html.escape(p.title or p.doc_id)} · 相关度 {p.score:.4f}'
                             f"</span><br>{_html_text(_excerpt(p.text))}</div>")
        return "\n\n".join(lines)
    page = f" · {place_label(answer.source, answer.page, answer.last_page)}" if answer.page is not None else ""
    lines = [f"**{md_escape(answer.text)}**",
             f'<span class="zhqa-meta">置信度 confidence {answer.score:.2f} · '
             f"来源 {_doc_label(answer.title, answer.doc_id)}{page}</span>"]
    if answer.passage:
        lines.append(f'<div class="zhqa-passage">'
                     f"{highlight(answer.passage, answer.passage_start, answer.passage_end)}</div>")
    scan = scan_crop_html(answer)
    if scan:
        lines.append(scan)
    others = other_documents(answer)
    if others:
        lines.append('<span class="zhqa-meta">其他文档也有答案 · other documents answer too: ' + "；".join(
            f"{html.escape(c.text)}（{html.escape(c.title or c.doc_id)}，{c.score:.2f}）" for c in others) + "</span>")
    return "\n\n".join(lines)


def scan_crop_html(answer: Answer) -> str:
    """The scan's own pixels around an OCR'd answer, as an inline PNG ('' when there is no scan)."""
    import base64
    import io

    from index.readers.crop import crop_region

    image = crop_region(answer.source, answer.page, answer.region)
    if image is None:
        return ""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<div class="zhqa-scan"><span class="zhqa-meta">扫描原件 · the scan</span><br>'
            f'<img alt="scan region of the answer" src="data:image/png;base64,{data}"></div>')


def format_sources(answer: Answer | None, mode: str | None = None) -> str:
    """HTML for the sources panel: every retrieved passage with its scores."""
    if answer is None:
        return '<div class="zhqa-sources zhqa-meta">提问后，这里显示检索到的段落及其得分。<br>' \
               "Retrieved passages and their scores appear here after a question.</div>"
    head = (f'<div class="zhqa-meta">检索模式 {html.escape(mode or "")} · {len(answer.passages)} 个段落 · '
            f"{answer.latency_ms:.0f} ms</div>")
    items = []
    for i, p in enumerate(answer.passages, 1):
        hit = not answer.abstained and p.chunk_id == answer.chunk_id
        text = highlight(p.text, answer.passage_start, answer.passage_end) if hit else _html_text(p.text)
        ranks = []
        if p.dense_rank is not None:
            ranks.append(f"dense #{p.dense_rank}")
        if p.bm25_rank is not None:
            ranks.append(f"bm25 #{p.bm25_rank}")
        items.append(
            f'<div class="zhqa-source{" zhqa-hit" if hit else ""}">'
            f'<div class="zhqa-source-head"><span><b>#{i}</b> {html.escape(p.title or p.doc_id)}</span>'
            f'<span class="zhqa-score">得分 {p.score:.4f}</span></div>'
            f'<div class="zhqa-source-id">{html.escape(" · ".join([p.doc_id] + ranks))}</div>'
            f'<div class="zhqa-source-text">{text}</div></div>')
    if not items:
        items.append('<div class="zhqa-meta">索引为空：请先在“文档”页上传文档。</div>')
    return f'<div class="zhqa-sources">{head}{"".join(items)}</div>'


def safe_filename(name: str, max_len: int = 80) -> str:
    """A neutral file name: no directories, no hidden/dot names, only word characters, '-' and '.'."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = re.sub(r"[^\w\-.]+", "_", name)
    name = re.sub(r"\.{2,}", ".", name).strip("._- ")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[: max(1, max_len - len(suffix) - 1)].strip("._- ") or "upload"
    return f"{stem}.{suffix}" if suffix else stem


# ------------------------------------------------------------------------------- the app
KEPT_DIGEST_CHARS = 16   # a kept upload's folder: the first hex digits of its content's sha256
_KEPT_DIGEST = re.compile(f"[0-9a-f]{{{KEPT_DIGEST_CHARS}}}")


def keep_upload(path: Path) -> Path:
    """A lasting copy of an uploaded scan or PDF in the cache, named by its content."""
    import hashlib

    from index.cache import cache_dir

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:KEPT_DIGEST_CHARS]
    dest = cache_dir() / "uploads" / digest / path.name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".part-{os.getpid()}-{threading.get_ident()}")   # short: the name may be 250 bytes
        try:   # a copy cut short (a full disk) is never taken for the kept scan
            shutil.copyfile(path, part)
            part.replace(dest)
        finally:
            part.unlink(missing_ok=True)
    return dest


def _kept_source(dest: Path, shown: str, problems: list[str]) -> str | None:
    """The kept scan's path, or None when the cache cannot keep it (a read-only or full cache folder): the
    document is indexed all the same, its answers without the scan's crop, and ``problems`` says so."""
    try:
        return str(keep_upload(dest))
    except OSError as exc:
        log.warning("could not keep the upload %s in the cache: %s", dest.name, exc)
        problems.append(f"· {shown}：原件未能保存到缓存文件夹（{md_escape(exc.strerror or str(exc))}），答案旁不显示"
                        "扫描原件 · the scan could not be kept in the cache folder: its answers show no crop")
        return None


REFUSED_SHOWN_CHARS = 50   # of a refused question, what the chat shows


def refused_excerpt(question: str, limit: int = REFUSED_SHOWN_CHARS) -> str:
    """A refused question as the chat shows it: whole when short, else its start and its length.

    Why: the chat history goes back to the server with every later turn; a megabyte pasted by mistake
    and refused as too long stayed in it whole."""
    if len(question) <= limit:
        return question
    return f"{question[:limit]}…（共 {len(question):,} 字 · {len(question):,} characters）"


def upload_identity(source: str) -> str:
    """What names an upload across versions: its file name (``upload:NAME``, or a kept scan's
    ``…/uploads/DIGEST/NAME``, known by that shape wherever the cache is now); any other source is itself."""
    if source.startswith("upload:"):
        return source
    path = Path(source)
    if path.parent.parent.name == "uploads" and _KEPT_DIGEST.fullmatch(path.parent.name):
        return f"upload:{path.name}"
    return source


class ChatUI:
    """Callbacks of the UI, bound to one bot shared by all sessions."""

    def __init__(self, bot: QABot, max_upload_bytes: int = MAX_UPLOAD_BYTES, read_only: bool = False):
        self.bot = bot
        self.max_upload_bytes = max_upload_bytes
        self.read_only = read_only  # no upload/removal: the page hides them and their endpoints do not exist
        self.default_top_k = max(1, min(MAX_TOP_K, bot.config.top_k))
        self.default_mode = bot.config.mode if bot.config.mode in MODES else "hybrid"
        self._uploads = threading.Lock()

    # ---------------------------------------------------------------- chat
    def _top_k(self, top_k) -> int:
        try:
            return max(1, min(MAX_TOP_K, int(top_k)))
        except (TypeError, ValueError, OverflowError):   # OverflowError: infinity
            return self.default_top_k

    def _mode(self, mode) -> str:
        return mode if mode in MODES else self.default_mode

    def respond(self, question, history, top_k=None, mode=None) -> tuple[list, str, str]:
        """Chat callback: returns (history with the new turn, sources panel HTML, cleared textbox)."""
        history = list(history) if isinstance(history, list) else []
        # what is shown again (chat, text box) must be valid UTF-8 for Gradio's transport: a lone
        # surrogate would stop the reply, warning included, from reaching the page
        text = showable(question) if isinstance(question, str) else ""
        shown = without_blank_ends(text)
        if shown:
            history.append({"role": "user", "content": shown})
        mode = self._mode(mode)
        try:
            answer = self.bot.ask(question, top_k=self._top_k(top_k), mode=mode)
            message = format_answer(answer)
        except QuestionError as exc:
            if shown:   # the text box keeps the question to fix; the chat, sent back every turn, a glimpse
                history[-1] = {"role": "user", "content": refused_excerpt(shown)}
            history.append({"role": "assistant", "content": f"⚠️ 无法提问：{md_escape(str(exc))}"})
            return history, format_sources(None), text
        except Exception as exc:  # never show a traceback in the chat
            log.exception("answering %r failed", text)
            history.append({"role": "assistant",
                            "content": f"⚠️ 出错了：{md_escape(type(exc).__name__)}: {md_escape(str(exc))}"})
            return history, format_sources(None), text
        history.append({"role": "assistant", "content": message})
        return history, format_sources(answer, mode), ""

    def api_ask(self, question: str, top_k: int | None = None, mode: str | None = None) -> dict:
        """Answer a question over the indexed documents (top_k: passages read; mode: hybrid, dense or
        bm25; both default to the bot's configuration). Returns the Answer as a dict: text, score,
        abstained (True: the documents hold no answer), doc_id, title, passage, passages, ..."""
        if mode is not None and mode not in MODES:
            raise gr.Error(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if top_k is not None:   # the bot's own check (qa.config), and this server's upper bound
            try:
                top_k = check_top_k(int(top_k) if isinstance(top_k, float) and top_k.is_integer() else top_k)
                if top_k > MAX_TOP_K:
                    raise ValueError(top_k)
            except ValueError:   # 3.0 from a JSON client is taken as 3
                raise gr.Error(f"top_k must be a whole number from 1 to {MAX_TOP_K}, not {top_k!r}") from None
        try:
            return self.bot.ask(question, top_k=top_k or self.default_top_k,
                                mode=mode or self.bot.config.mode).to_dict()
        except QuestionError as exc:
            raise gr.Error(showable(str(exc))) from None

    # ---------------------------------------------------------------- documents
    def documents_table(self) -> list[list]:
        """Rows of (id, title, chunk count) for every indexed document."""
        rows = [[info.id, info.title, info.chunks] for info in self.bot.document_infos()]
        return sorted(rows, key=lambda r: (r[1], r[0]))

    def _checksums(self) -> dict[str, str]:
        """Document id → checksum of what the index holds (from the document list: no texts loaded)."""
        return {i.id: i.checksum for i in self.bot.document_infos()}

    def index_summary(self) -> str:
        return (f"索引中有 **{len(self.bot.store.documents)}** 篇文档、**{len(self.bot.store.chunks)}** 个段落"
                f" · {len(self.bot.store.documents)} documents, {len(self.bot.store.chunks)} passages")

    def _doc_choices(self) -> list[tuple[str, str]]:
        return [(f"{title} ({doc_id})", doc_id) for doc_id, title, _ in self.documents_table()]

    def _docs_outputs(self, status: str, selected=None):
        choices = self._doc_choices()
        if selected not in {c[1] for c in choices}:
            selected = None
        return status, self.documents_table(), gr.update(choices=choices, value=selected), self.index_summary()

    def refresh_documents(self):
        """(table, remove-dropdown update, summary) for the current index."""
        _, table, dropdown, summary = self._docs_outputs("")
        return table, dropdown, summary

    def read_uploads(self, files) -> tuple[list, list[str]]:
        """Uploaded files → (documents, problem messages). Never raises for a bad file."""
        docs, problems = [], []
        names: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="zhqa-upload-") as tmp:
            for i, f in enumerate(files):
                raw = Path(getattr(f, "name", None) or getattr(f, "path", None) or str(f))
                name = safe_filename(raw.name)
                shown = md_escape(name)
                if name in names:   # an upload is known by its name: a second of one name would replace the first
                    problems.append(f"✗ {shown}：本次上传中已有同名文件，未读取（请改名后再上传）")
                    continue
                names.add(name)
                suffix = Path(name).suffix.lower()
                if suffix not in UPLOAD_SUFFIXES:
                    problems.append(f"✗ {shown}：不支持的文件类型（请上传 {', '.join(UPLOAD_SUFFIXES)}）")
                    continue
                try:
                    size = raw.stat().st_size
                    if size > self.max_upload_bytes:
                        problems.append(f"✗ {shown}：文件 {size / 2**20:.1f} MB，超过 "
                                        f"{self.max_upload_bytes / 2**20:.3g} MB 上限")   # MB = 2**20 bytes everywhere
                        continue
                    dest = Path(tmp) / str(i) / name
                    dest.parent.mkdir()
                    shutil.copyfile(raw, dest)
                except OSError as exc:
                    problems.append(f"✗ {shown}：无法读取（{md_escape(exc.strerror or str(exc))}）")
                    continue
                result = read_paths([dest])
                for s in result.skipped:
                    problems.append(f"✗ {shown}：{md_escape(s.reason)}")
                for s in result.notes:
                    problems.append(f"· {shown}：{md_escape(s.reason)}")
                source = f"upload:{name}"
                if result.documents and suffix in PAGED_SUFFIXES:   # keep scans: answers show their region
                    source = _kept_source(dest, shown, problems) or source
                docs.extend(replace(d, source=source) for d in result.documents)
        return docs, problems

    def add_files(self, files, progress=gr.Progress()):
        """Upload callback: returns (status Markdown, table, remove-dropdown update, summary)."""
        if self.read_only:
            raise gr.Error(READ_ONLY_REFUSAL)
        files = [f for f in (files if isinstance(files, (list, tuple)) else [files]) if f]
        if not files:
            return self._docs_outputs("请先选择要上传的文件（文本、PDF、Word、PPT、Excel/CSV、网页或图片）。")
        progress(0.0, desc="读取文件")
        docs, problems = self.read_uploads(files)
        if not docs:
            return self._docs_outputs("\n\n".join(problems + ["索引未改变 · the index is unchanged."]))
        with self._uploads:   # one upload at a time: two of one name would each keep theirs
            return self._index_uploads(docs, problems, progress)

    def _index_uploads(self, docs: list, problems: list[str], progress) -> tuple:
        """Add what was read, then remove the earlier versions it replaces; the upload callback's outputs."""
        before = self._checksums()
        known = {d.id: before[d.id] for d in docs if d.id in before}
        # a file uploaded again under its name replaces what it gave before (index/store/versions.py)
        stale = earlier_versions(self.bot.document_infos(), docs, upload_identity)
        # a few batches: progress shows, and a saved index is rewritten a few times, not once per paragraph
        n_batches = min(10, len(docs))
        size = -(-len(docs) // n_batches)
        batches = [docs[i:i + size] for i in range(0, len(docs), size)]
        removed = 0
        try:
            for j, batch in enumerate(batches):
                progress((j, len(batches)), desc="建立索引 · indexing", unit="batch")
                self.bot.add_documents(batch)
            if stale:   # only once every new version is in: a failed upload keeps the old ones
                removed = self.bot.remove_documents([i.id for i in stale])
        except Exception as exc:  # keep the UI alive; report what happened
            log.exception("indexing uploads failed")
            problems.append(f"✗ 建立索引失败：{md_escape(type(exc).__name__)}: {md_escape(str(exc))}")
        stored = self._checksums()
        replaced = {upload_identity(i.source) for i in stale if i.id not in stored}
        new = [d for d in docs if d.id not in known and d.id in stored]
        same = [d for d in docs if d.id in known and stored.get(d.id) == known[d.id]]
        updated = [d for d in docs if d.id in known and d.id in stored and stored[d.id] != known[d.id]]
        updated += [d for d in new if upload_identity(d.source) in replaced]
        new = [d for d in new if upload_identity(d.source) not in replaced]
        lines = []
        if new:
            titles = "、".join(md_escape(d.title) for d in new[:5]) + ("…" if len(new) > 5 else "")
            lines.append(f"✓ 已添加 {len(new)} 篇文档：{titles}")
        if same:
            lines.append(f"· {len(same)} 篇文档已在索引中，未改变")
        if updated:
            lines.append(f"✓ 已更新 {len(updated)} 篇文档" + (f"（旧版本 {removed} 篇已删除）" if removed else ""))
        return self._docs_outputs("\n\n".join(lines + problems))

    def remove(self, doc_id):
        """Remove-button callback: returns (status, table, dropdown update, summary)."""
        if self.read_only:
            raise gr.Error(READ_ONLY_REFUSAL)
        if not doc_id:
            return self._docs_outputs("请先选择要删除的文档。")
        if not isinstance(doc_id, str):   # the dropdown sends an id; the API could send anything
            return self._docs_outputs(f"✗ 索引中没有文档 {md_escape(showable(str(doc_id)))}")
        title = next((i.title for i in self.bot.document_infos() if i.id == doc_id), doc_id)
        try:
            n = self.bot.remove_documents([doc_id])
        except StoreError as exc:   # the index deleted under the bot, or its folder read-only
            return self._docs_outputs(f"✗ 删除失败：{md_escape(one_line(exc))}")
        if n:
            return self._docs_outputs(f"✓ 已删除：{md_escape(title)}（{md_escape(doc_id)}）")
        return self._docs_outputs(f"✗ 索引中没有文档 {md_escape(str(doc_id))}")

    # ---------------------------------------------------------------- layout
    def build(self) -> gr.Blocks:
        # uploads are copied into the index at once; Gradio's cached copies are deleted after a day
        with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
            gr.Markdown(f"## {TITLE}\n在下方用中文或英文提问；答案从已索引的文档中抽取，"
                        "文档里没有答案时会如实说明。Ask in Chinese or English; answers are extracted "
                        "from the indexed documents.", elem_id="zhqa-title")
            summary = gr.Markdown(self.index_summary(), elem_id="zhqa-summary")
            with gr.Tabs():
                with gr.Tab("问答 · Chat", id="chat"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=3, min_width=360):
                            chatbot = gr.Chatbot(label="对话 · conversation", height=520, elem_id="zhqa-chat",
                                                 latex_delimiters=[], feedback_options=None, buttons=["copy"],
                                                 group_consecutive_messages=False,
                                                 placeholder="问一个关于已索引文档的问题，或点击下面的示例问题。")
                            with gr.Row():
                                question = gr.Textbox(show_label=False, scale=5, elem_id="zhqa-question",
                                                      placeholder="输入问题，按回车提问 · type a question, Enter to ask",
                                                      lines=1, max_lines=4, autofocus=True)
                                ask_btn = gr.Button("提问 Ask", variant="primary", scale=1, min_width=90,
                                                    elem_id="zhqa-ask")
                            gr.Markdown("示例问题 · examples（点击即提问）:")
                            with gr.Row(elem_classes="zhqa-examples"):
                                example_btns = [gr.Button(q, size="sm") for q in EXAMPLE_QUESTIONS]
                            clear_btn = gr.Button("清空对话 · clear", size="sm", variant="secondary")
                        with gr.Column(scale=2, min_width=300):
                            with gr.Accordion("检索设置 · retrieval", open=True):
                                mode = gr.Radio([(MODE_LABELS[m], m) for m in MODES], value=self.default_mode,
                                                label="检索模式 · mode", elem_id="zhqa-mode")
                                top_k = gr.Slider(1, MAX_TOP_K, value=self.default_top_k, step=1,
                                                  label="检索段落数 · top_k", elem_id="zhqa-topk")
                            sources = gr.HTML(format_sources(None), label="检索到的段落 · sources",
                                              elem_id="zhqa-sources")
                with gr.Tab("文档 · Documents", id="docs") as docs_tab:
                    if self.read_only:
                        gr.Markdown("只读模式：本服务只回答问题，不能上传或删除文档。"
                                    "Read-only: documents cannot be added or removed here.", elem_id="zhqa-read-only")
                    else:
                        gr.Markdown(f"上传文本（.txt/.md/SQuAD .json）、PDF、Word、PPT、Excel/CSV、网页或图片（OCR）"
                                    f"加入索引（每个文件不超过 "
                                    f"{self.max_upload_bytes // (1024 * 1024)} MB）。上传的文档对所有用户可见。")
                        files = gr.File(label="上传文件 · upload", file_count="multiple",
                                        file_types=UPLOAD_SUFFIXES, elem_id="zhqa-upload")
                        add_btn = gr.Button("添加到索引 · add to index", variant="primary", elem_id="zhqa-add")
                        status = gr.Markdown(elem_id="zhqa-doc-status")
                    table = gr.Dataframe(self.documents_table(), headers=["id", "标题 title", "段落数 chunks"],
                                         datatype=["str", "str", "number"], interactive=False, wrap=True,
                                         label="已索引的文档 · indexed documents", elem_id="zhqa-docs")
                    with gr.Row(visible=not self.read_only):
                        doc_pick = gr.Dropdown(choices=self._doc_choices(), value=None, label="选择文档 · document",
                                               scale=4, elem_id="zhqa-doc-pick")
                        if not self.read_only:
                            remove_btn = gr.Button("删除 · remove", variant="stop", scale=1, elem_id="zhqa-remove")

            # the programmatic endpoint first, so that it owns the name /ask
            gr.api(self.api_ask, api_name="ask")
            chat_io = dict(inputs=[question, chatbot, top_k, mode], outputs=[chatbot, sources, question])
            question.submit(self.respond, **chat_io, api_name="chat")
            ask_btn.click(self.respond, **chat_io, api_visibility="private")
            for btn in example_btns:
                btn.click(self.respond, inputs=[btn, chatbot, top_k, mode], outputs=[chatbot, sources, question],
                          api_visibility="private")
            clear_btn.click(lambda: ([], format_sources(None)), outputs=[chatbot, sources], queue=False,
                            api_visibility="private")
            if not self.read_only:  # read-only: no write endpoint exists to call
                docs_out = [status, table, doc_pick, summary]
                add_btn.click(self.add_files, inputs=[files], outputs=docs_out, api_name="add_documents") \
                    .then(lambda: None, outputs=[files], api_visibility="private")
                remove_btn.click(self.remove, inputs=[doc_pick], outputs=docs_out, api_name="remove_document")
            docs_tab.select(self.refresh_documents, outputs=[table, doc_pick, summary], api_visibility="private")
            demo.load(self.refresh_documents, outputs=[table, doc_pick, summary], api_visibility="private")
        return demo


def theme() -> gr.themes.Base:
    """Gradio's default look, with system CJK fonts first (Gradio's bundled font has no Chinese glyphs)."""
    return gr.themes.Default(font=["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
                                   gr.themes.LocalFont("Source Sans Pro", weights=(400, 600)),
                                   "ui-sans-serif", "system-ui", "sans-serif"])


def build_app(bot: QABot, max_upload_bytes: int = MAX_UPLOAD_BYTES, read_only: bool = False) -> gr.Blocks:
    """The Blocks app over an already-built bot (models load before the UI exists)."""
    return ChatUI(bot, max_upload_bytes, read_only=read_only).build()


def start(bot: QABot, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True,
          max_upload_bytes: int = MAX_UPLOAD_BYTES, quiet: bool = False,
          auth: list[tuple[str, str]] | None = None, read_only: bool = False) -> gr.Blocks:
    """Serve the app through the Gradio queue. ``block=False`` returns at once (tests); ``demo.close()`` stops it.

    ``auth`` (user, password) pairs require a login; :func:`ui.access.check_exposure` decides when one is needed.
    """
    demo = build_app(bot, max_upload_bytes, read_only=read_only)
    # askers wait in line (the page shows their place) rather than being turned away
    demo.queue(default_concurrency_limit=ASK_CONCURRENCY, max_size=QUEUE_SIZE)
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                max_file_size=max_upload_bytes, show_error=True, quiet=quiet, inbrowser=False,
                footer_links=["api"], css=CSS, theme=theme(), ssr_mode=False, mcp_server=False,
                auth=auth or None, auth_message="中文文档问答 · 请登录 · please log in")
    return demo


def launch(bot: QABot, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
           auth: list[tuple[str, str]] | None = None, read_only: bool = False) -> None:
    """Serve until interrupted."""
    start(bot, host, port, share, block=True, auth=auth, read_only=read_only)
