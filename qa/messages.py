"""One-line error texts shared by the command lines (qa, qa ui, training, benchmarks).

Why: a library's message may span lines (Hugging Face's do), and an OSError's own text repeats its
errno; every command prints both the same way, as one ``error:`` line. A folder of thousands of files
of other kinds (a source tree) gives one line of counts, not a line each.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable

UNSUPPORTED_LISTED = 10    # up to this many unsupported files in folders are named one by one


def one_line(error: BaseException | str) -> str:
    """The message with its lines joined by spaces, blank ones dropped."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def os_error_line(exc: OSError, where: object = None) -> str:
    """``FILE: reason`` for an OSError, naming ``where`` when the error names no file."""
    place = cache_setting_named(exc.filename or where)
    return f"{place}: {exc.strerror or exc}" if place else f"{exc.strerror or exc}"


CACHE_ENV = "ZHQA_CACHE_DIR"


def cache_setting_named(place: object) -> object:
    """``place``, said to be the cache folder ``ZHQA_CACHE_DIR`` names, or inside it, when it is.

    Why: a cache folder set long ago (in a profile, a service file) is not what a user looks at when a
    command fails on ``/proc/foo``; the setting is. The default cache folder is named as it is."""
    root = os.environ.get(CACHE_ENV)
    if not root or not isinstance(place, str) or not place:
        return place
    top, here = os.path.abspath(os.path.expanduser(root)), os.path.abspath(place)
    if here == top:
        return f"the cache folder {place} ({CACHE_ENV})"
    if here.startswith(top.rstrip(os.sep) + os.sep):
        return f"{place}, in the cache folder ({CACHE_ENV})"
    return place


def skipped_lines(skipped: Iterable, listed: int = UNSUPPORTED_LISTED) -> list[str]:
    """``skipped FILE: reason`` for each file not indexed; past ``listed`` files of unsupported types found
    in folders, those are one line counting them by type instead."""
    from index.ingest import UNSUPPORTED_IN_FOLDER

    in_folder = re.compile(re.escape(UNSUPPORTED_IN_FOLDER) + r" '([^']*)'")   # a named file's reason says more
    skipped = list(skipped)
    kind_of = {id(s): m.group(1) for s in skipped if (m := in_folder.fullmatch(s.reason))}
    if len(kind_of) <= listed:
        return [f"skipped {s.source}: {s.reason}" for s in skipped]
    other = [s for s in skipped if id(s) not in kind_of]
    unsupported = [s for s in skipped if id(s) in kind_of]
    kinds = Counter(kind_of[id(s)] for s in unsupported).most_common()
    shown = ", ".join(f"{kind} {n:,}" for kind, n in kinds[:8]) + (f" and {len(kinds) - 8} more types"
                                                                    if len(kinds) > 8 else "")
    return ([f"skipped {s.source}: {s.reason}" for s in other]
            + [f"skipped {len(unsupported):,} files of unsupported types in the folders ({shown})"])
