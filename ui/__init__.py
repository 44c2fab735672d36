"""Gradio chat UI over a :class:`qa.bot.QABot` (``python -m ui`` or ``qa ui``).

Why here and not in ``qa``: Gradio is heavy to import, and ``qa`` (CLI, Python API, evaluation)
must not pay for it; ``qa`` never imports ``ui``. This module stays light: the argument
definitions and the start-up sequence shared by ``python -m ui`` and ``qa ui``; Gradio itself is
only imported (through :mod:`ui.app`) once the bot has been built.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def add_ui_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of the UI server: what to index, and where to listen."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--index", metavar="DIR",
                     help="serve a saved index directory (built with 'qa index'); uploads are saved into it")
    src.add_argument("--corpus", metavar="PATH", nargs="+",
                     help="index these files/folders (.txt, .md, SQuAD JSON) in memory at start-up")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}: this machine only; "
                             "0.0.0.0 exposes the UI to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--share", action="store_true", default=False,
                        help="also open a public gradio.live tunnel (off by default; needs internet and --auth)")
    access = parser.add_argument_group("access")
    access.add_argument("--auth", metavar="USER:PASS", action="append",
                        help="require this login (repeatable); required unless --host is a loopback address")
    access.add_argument("--auth-file", metavar="FILE", help="logins, one USER:PASS a line ('#' comments)")
    access.add_argument("--read-only", action="store_true", default=False,
                        help="serve questions only: no upload or removal, in the page or through the API")
    return parser


def _config_from_args(args: argparse.Namespace):
    """The options and ZHQA_* variables as ``qa ask`` reads them: an index's own encoder included."""
    from qa.options import config_from_args

    return config_from_args(args)


def build_bot(index=None, corpus=None, config=None):
    """Load the models and the index once, before any UI exists."""
    from qa.bot import QABot
    from qa.config import Config

    config = config or Config.from_env()
    if index:
        return QABot.from_index(index, config)
    if corpus:
        return QABot.from_corpus(corpus, config)   # one path, or a list of them (index.ingest.path_list)
    if config.backend == "milvus":
        return QABot.from_milvus(config)
    return QABot.default(config)


def serve(args: argparse.Namespace) -> int:
    """Build the bot, then serve the UI until interrupted. Returns the process exit status."""
    from index.embed import EncoderLoadError
    from index.store import StoreError
    from qa.messages import one_line, os_error_line
    from qa.reader.loading import ReaderLoadError

    from ui.access import AccessError, check_exposure, check_host, read_auth

    from qa.options import empty_option_problem

    if not 1 <= args.port <= 65535:   # Gradio cannot serve on port 0 (the system's choice)
        print(f"error: --port must be between 1 and 65535, not {args.port}", file=sys.stderr)
        return 2
    problem = empty_option_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:  # before loading models: a refusal should be instant
        check_host(args.host)
        users = read_auth(getattr(args, "auth", None), getattr(args, "auth_file", None))
        check_exposure(args.host, args.share, users)
    except AccessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        config = _config_from_args(args)
    except ValueError as exc:  # a malformed ZHQA_* variable
        print(f"error: bad configuration: {exc}", file=sys.stderr)
        return 2
    from qa.options import check_backend

    problem = check_backend(config, args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:  # hide library progress bars and load-time chatter, as the other qa commands do
        from qa.cli import quiet_libraries
    except ImportError:  # pragma: no cover
        pass
    else:
        quiet_libraries()
    if args.corpus:
        from pathlib import Path

        missing = [p for p in args.corpus if not Path(p).expanduser().exists()]
        if missing:
            print(f"error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
            return 2
    source = f"index {args.index}" if args.index else (
        f"{len(args.corpus)} path(s)" if args.corpus else
        f"Milvus index {config.milvus_collection} at {config.milvus_uri}" if config.backend == "milvus"
        else "the bundled sample article")
    print(f"Loading models and {source} ...", file=sys.stderr, flush=True)
    try:
        bot = build_bot(args.index, args.corpus, config)
    except (StoreError, ReaderLoadError, EncoderLoadError, ValueError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:   # a file or folder that cannot be read or written, as qa's commands say it
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"error: the index could not be written or read: {exc}", file=sys.stderr)
        return 2

    from ui.app import launch

    try:
        launch(bot, host=args.host, port=args.port, share=args.share, auth=users or None,
               read_only=bool(getattr(args, "read_only", False)))
    except OSError as exc:  # port taken, address not available
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
