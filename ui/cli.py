"""The ``qa`` console script: the qa.cli commands plus ``qa ui``.

Why here: ``qa`` must not import ``ui`` (layering), yet one ``qa`` command should also start the
UI. So the console script lives in ``ui``: it takes qa.cli's parser, adds a ``ui`` subcommand,
and hands every other command back to qa.cli. Gradio is imported only when ``ui`` runs.
"""
from __future__ import annotations

import argparse
import sys

from qa.cli import build_parser, ended, quiet_libraries, run
from qa.options import add_backend_options, add_model_options
from ui import add_ui_arguments, serve

_UI_FLAG = "_zhqa_ui_command"


def build_ui_parser() -> argparse.ArgumentParser:
    """qa.cli's parser with the ``ui`` subcommand added."""
    parser = build_parser()
    sub = parser._zhqa_subparsers
    ui = sub.add_parser(
        "ui", help="serve the chat UI in the browser (Gradio)",
        description="Serve the chat UI (Gradio) on http://HOST:PORT. Without --index/--corpus it answers "
                    "over the bundled sample article. Binds 127.0.0.1 unless --host says otherwise.")
    add_ui_arguments(ui)
    add_model_options(ui)
    add_backend_options(ui)
    ui.set_defaults(**{_UI_FLAG: True})
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_ui_parser()
    args = parser.parse_args(argv)
    if getattr(args, _UI_FLAG, False):
        return serve(args)
    quiet_libraries()
    return ended(run(args))


if __name__ == "__main__":
    sys.exit(main())
