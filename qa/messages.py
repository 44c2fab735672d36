"""One-line error texts shared by the command lines (qa, qa ui, training, benchmarks).

Why: a library's message may span lines (Hugging Face's do), and an OSError's own text repeats its
errno; every command prints both the same way, as one ``error:`` line.
"""
from __future__ import annotations


def one_line(error: BaseException | str) -> str:
    """The message with its lines joined by spaces, blank ones dropped."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def os_error_line(exc: OSError, where: object = None) -> str:
    """``FILE: reason`` for an OSError, naming ``where`` when the error names no file."""
    place = exc.filename or where
    return f"{place}: {exc.strerror or exc}" if place else f"{exc.strerror or exc}"
