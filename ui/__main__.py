"""``python -m ui [--index DIR | --corpus PATH...] [--host 127.0.0.1] [--port 7860] [--share]``."""
from __future__ import annotations

import argparse
import sys

from qa.options import add_model_options
from ui import add_ui_arguments, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ui",
        description="Serve the Chinese document QA chat UI (Gradio). Without --index/--corpus it "
                    "answers over the bundled sample article.")
    add_ui_arguments(parser)
    add_model_options(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
