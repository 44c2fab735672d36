"""Command line: ``qa index | ask | demo | eval`` (``qa ui`` is added by ``ui.cli``).

Why: one entry point for the three ways the bot is used; every user error becomes a one-line
message and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys

from qa.messages import one_line, os_error_line, skipped_lines
from qa.options import (add_backend_options, add_eval_arguments, add_model_options, check_backend, config_from_args,
                        empty_option_problem)

DEMO_QUESTIONS = [
    "2023财年阿里活跃的公益幸福团有多少个？",
    "ESG是什么时候被正式确立为阿里巴巴的基石战略之一的？",
    "2023财年阿里巴巴自身运营二氧化碳净排放是多少？",
    "截至2023年3月31日，钉钉用户超过多少？",
    "阿里巴巴集团董事会主席兼首席执行官是谁？",
    "How many 公益幸福团 were active in fiscal year 2023?",
    "腾讯公司2023年的碳排放是多少？",
    "阿里巴巴2023财年的营业收入是多少？",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Chinese document question answering.")
    sub = parser.add_subparsers(dest="command", required=True)
    parser._zhqa_subparsers = sub  # ui.cli adds the 'ui' command here

    p = sub.add_parser("index", help="index files or folders (text, SQuAD JSON, PDF, Office, HTML, scans) "
                                     "into a directory")
    p.add_argument("paths", nargs="*", help="files or folders to add")
    p.add_argument("--index", help="index directory (created or updated); or --backend milvus --milvus-uri URI")
    p.add_argument("--remove", action="extend", nargs="+", metavar="DOC_ID", default=[],
                   help="remove documents by id (exit status 1 when one is not in the index; an id that "
                        "starts with '-' is given as --remove=ID)")
    p.add_argument("--list", action="store_true", help="list the indexed documents")
    p.add_argument("--prune", action="store_true",
                   help="also remove documents read earlier from inside the given folders whose file is gone")
    p.add_argument("--no-wait", action="store_true",
                   help="exit (code 2) instead of waiting when another process is writing the index")
    p.add_argument("--html-keep-all", action="store_true",
                   help="web pages: keep all visible text, not only the main content")
    p.add_argument("--faiss", choices=["auto", "flat", "hnsw", "ivf"],
                   help="FAISS index type for a new index (default flat: exact; auto: exact, then an HNSW "
                        "graph from 200,000 passages, ZHQA_AUTO_HNSW_FROM, whose saves rewrite the index whole)")
    p.add_argument("--encoder", help="sentence-transformers id or path for a new index")
    p.add_argument("--chunk-size", type=int, help="chunk length for a new index")
    add_backend_options(p)

    p = sub.add_parser("ask", help="answer a question")
    p.add_argument("question", help="the question; - reads it from standard input")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--index", help="index directory (from 'qa index')")
    src.add_argument("--corpus", nargs="+", help="files or folders to answer from (indexed and cached)")
    p.add_argument("--json", action="store_true", help="print the full answer as JSON")
    add_model_options(p)
    add_backend_options(p)

    p = sub.add_parser("demo", help="answer sample questions about the bundled article")
    add_model_options(p)

    p = sub.add_parser("eval", help="evaluate on a question set (SQuAD JSON or JSON lines)")
    add_eval_arguments(p)
    add_backend_options(p)
    return parser


def _make_bot(args):
    from qa.bot import get_bot

    return get_bot(getattr(args, "index", None), getattr(args, "corpus", None), config_from_args(args))


def _print_answer(a) -> None:
    from qa.answer import NO_ANSWER_ZH, other_documents, place_label

    if a.abstained:
        from qa.reader.answer_type import MEASURE_NAMES

        print(f"{NO_ANSWER_ZH}（置信度 {a.score:.2f}，低于阈值 {a.threshold:.2f}）")
        if a.dropped_by_type and a.asked_measure in MEASURE_NAMES:
            print(f"  问题问的是{MEASURE_NAMES[a.asked_measure][0]}；已排除 {a.dropped_by_type} 个其他类型的候选答案")
        if a.other_years:
            print(f"  问题问的是{'、'.join(y + '年' for y in a.other_years)}；所读文档没有提到这一年份，只提到其他年份")
        if a.passages:
            print(f"  最接近的段落: {_shown_flat(a.passages[0].text[:80])}…")
        return
    print(f"答案: {_shown_flat(a.text)}   (置信度 {a.score:.2f})")
    print(f"  出处: {_where_from(a)} [{a.start}:{a.end}]")
    if a.page is not None or a.region is not None:
        where = [place_label(a.source, a.page, a.last_page)] if a.page is not None else []
        if a.region is not None:
            x0, y0, x1, y1 = (round(v) for v in a.region)
            where.append(f"扫描区域 region ({x0}, {y0})–({x1}, {y1}) px")
        print(f"  位置: {' · '.join(where)}")
    ctx0, ctx1 = max(0, a.passage_start - 30), a.passage_end + 30
    print(f"  段落: …{_shown_flat(a.passage[ctx0:a.passage_start])}【{_shown_flat(a.text)}】"
          f"{_shown_flat(a.passage[a.passage_end:ctx1])}…")
    others = other_documents(a)
    if others:
        print("  其他文档也有答案: " + "；".join(f"{_shown_flat(c.text)} ({_shown_flat(c.title or c.doc_id)}, {c.score:.2f})"
                                          for c in others))


def _shown_flat(text: str) -> str:
    """A passage's line breaks (table rows, paragraphs) shown as ↵, so that one answer prints as one line."""
    return text.replace("\n", "↵")


def _where_from(a) -> str:
    """The answer's document: its title, and its file's name when the title does not hold it (spreadsheets
    of one layout all take their header row as title: 「门店 | 店长 | 销售额」 told two months apart by nothing)."""
    title = a.title or a.doc_id
    from index.documents import source_file_name

    name = source_file_name(a.source)
    return f"{title} · {name}" if name and name not in title else title


NOT_UTF8 = re.compile("[\udc80-\udcff]")   # bytes of an argument that are not UTF-8 (Python's surrogateescape)
MAX_STDIN_BYTES = 1 << 20


def question_from(args) -> str:
    """The question: the argument, or standard input for ``-``. Bytes that are not UTF-8 (a terminal set to
    GBK under a UTF-8 locale) are refused as such, not as the lone surrogates Python turns them into."""
    from qa.bot import QuestionError

    question = args.question
    if question == "-":
        if sys.stdin is None:   # started with standard input closed (<&-)
            raise QuestionError("the question is '-' (read it from standard input), but standard input is closed")
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            raise QuestionError(f"the question on standard input is over {MAX_STDIN_BYTES:,} bytes")
        question = data.decode("utf-8", errors="surrogateescape")
    if NOT_UTF8.search(question):
        raise QuestionError("the question is not UTF-8 text; is the terminal (or the input) in another encoding?")
    return question


def _cmd_ask(args) -> int:
    from qa.bot import validate_question

    args.question = question_from(args)
    validate_question(args.question, config_from_args(args).max_question_chars)  # fail before loading models
    if args.index and getattr(args, "chunk_size", None):
        from index.store.local import index_chunk_size

        kept = index_chunk_size(args.index)
        if kept is not None and kept != args.chunk_size:
            print(f"note: {args.index} keeps its chunk size {kept}; --chunk-size applies to --corpus",
                  file=sys.stderr)
    bot = _make_bot(args)
    for line in skipped_lines(bot.skipped if args.corpus else []):   # named as `qa index` names them
        print(line, file=sys.stderr)
    answer = bot.ask(args.question, top_k=args.top_k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


def _cmd_demo(args) -> int:
    from qa.config import SAMPLE_ARTICLE

    print(f"Bundled article: {SAMPLE_ARTICLE.name} (loading models; the first run converts the encoder)…")
    bot = _make_bot(args)
    for q in DEMO_QUESTIONS:
        print(f"\n问题: {q}")
        _print_answer(bot.ask(q, top_k=args.top_k))
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute a parsed command; known user errors become a message and exit code 2."""
    from index.embed import EncoderLoadError
    from index.store import StoreError
    from qa.bot import QuestionError
    from qa.reader.loading import ReaderLoadError

    from qa.index_command import run_index

    handlers = {"index": run_index, "ask": _cmd_ask, "demo": _cmd_demo}
    try:
        problem = empty_option_problem(args)
        if problem is None:
            config = config_from_args(args)   # a bad option or ZHQA_* value: refused before any model loads
            problem = check_backend(config, args) if args.command != "demo" else None
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        if args.command == "eval":
            from qa.evaluation.runner import run_eval
            code = run_eval(args)
        else:
            code = handlers[args.command](args)
        sys.stdout.flush()   # a pipe closed early refuses the output here, not at the interpreter's exit
        return code
    except BrokenPipeError as exc:   # before OSError: `qa ask ... | head` is no error
        if stdout_reader_gone():
            return output_closed()
        print(f"error: {os_error_line(exc)}", file=sys.stderr)   # a pipe or socket of another kind
        return 2
    except (QuestionError, StoreError, ReaderLoadError, EncoderLoadError, ValueError) as exc:
        message = one_line(exc)   # also for a library's several lines (Hugging Face's)
        if isinstance(exc, EncoderLoadError):
            message = _index_encoder_context(args) + message
        print(f"error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:   # a file or folder that cannot be read or written: permission, a full disk
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:   # an index file SQLite cannot open or write (not an OSError)
        print(f"error: the index could not be written or read: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll's POLLERR on its write end)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):   # output captured in-process: not a pipe that closed
        return False


def output_closed() -> int:
    """The exit status once the reader of standard output has gone (``| head``): 141, as for a tool the
    pipe's signal ended, and no message. Why the redirection: output still buffered would otherwise fail
    again at the interpreter's exit ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):   # no descriptor to redirect (output captured in-process)
        pass
    return 128 + 13   # SIGPIPE


def _index_encoder_context(args) -> str:
    """When the encoder that failed to load is the one a local or Milvus index names (no --encoder or
    ZHQA_ENCODER asked for another), a prefix that says so: the library's own message speaks of the network only."""
    from index.store import index_encoder_name

    index = getattr(args, "index", None)
    if getattr(args, "encoder", None) or os.environ.get("ZHQA_ENCODER"):
        return ""
    if index:
        name = index_encoder_name(index)
    else:   # a Milvus index: qa.options.config_from_args peeked at its encoder
        name = getattr(args, "_milvus_index_encoder", None)
        index = getattr(args, "milvus_uri", None) or os.environ.get("ZHQA_MILVUS_URI")
    return f"{index} was built with the encoder '{name}', which cannot be loaded here; " if name and index else ""


def quiet_libraries() -> None:
    """Hide library progress bars and load-time chatter; our own progress bars stay."""
    import logging
    import os
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=FutureWarning)
    # read by transformers and huggingface_hub when (if ever) imported: answering never imports them
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:   # imported already (by a caller of main()): set it there too
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def ended(code: int) -> int:
    """The exit status, after a Ctrl-C (130) that came while an encoder pass ran in its worker thread: then
    the process ends here, its output flushed, for the interpreter's exit would abort it (status 134,
    "terminate called without an active exception"). Nothing is lost: an interrupted write was undone."""
    if code == 130:
        from index.batching import forward_passes_running

        if forward_passes_running():
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:   # Ctrl-C while the libraries import, before run() handles it
        quiet_libraries()
        return ended(run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ended(130)


if __name__ == "__main__":
    sys.exit(main())
