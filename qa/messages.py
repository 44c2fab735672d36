"""One-line error texts shared by the command lines (qa, qa ui, training, benchmarks).

Why: a library's message may span lines (Hugging Face's do), and an OSError's own text repeats its
errno; every command prints both the same way, as one ``error:`` line. A folder of thousands of files
of other kinds (a source tree) gives one line of counts, not a line each.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

UNSUPPORTED_LISTED = 10    # up to this many unsupported files in folders are named one by one


def one_line(error: BaseException | str) -> str:
    """The message with its lines joined by spaces, blank ones dropped."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def os_error_line(exc: OSError, where: object = None) -> str:
    """``FILE: reason`` for an OSError, naming ``where`` when the error names no file."""
    place = exc.filename or where
    return f"{place}: {exc.strerror or exc}" if place else f"{exc.strerror or exc}"


def skipped_lines(skipped: Iterable, listed: int = UNSUPPORTED_LISTED) -> list[str]:
    """``skipped FILE: reason`` for each file not indexed; past ``listed`` files of unsupported types found
    in folders, those are one line counting them by type instead."""
    from index.ingest import UNSUPPORTED_IN_FOLDER

    skipped = list(skipped)
    other = [s for s in skipped if not s.reason.startswith(UNSUPPORTED_IN_FOLDER)]
    unsupported = [s for s in skipped if s.reason.startswith(UNSUPPORTED_IN_FOLDER)]
    if len(unsupported) <= listed:
        return [f"skipped {s.source}: {s.reason}" for s in skipped]
    kinds = Counter(s.reason[len(UNSUPPORTED_IN_FOLDER):].strip(" '") for s in unsupported).most_common()
    shown = ", ".join(f"{kind} {n:,}" for kind, n in kinds[:8]) + (f" and {len(kinds) - 8} more types"
                                                                    if len(kinds) > 8 else "")
    return ([f"skipped {s.source}: {s.reason}" for s in other]
            + [f"skipped {len(unsupported):,} files of unsupported types in the folders ({shown})"])
