"""Whole-number settings the local store reads from the environment when it is imported
(``ZHQA_AUTO_HNSW_FROM``, ``ZHQA_BM25_CACHE_FROM``).

Why: a bad value must not crash every command at import with a traceback. It falls back to the
default here and :func:`env_number_problem` names it, which ``Config.from_env`` (so ``qa`` and
``qa.ask``) turns into one ValueError. An empty value means unset, as for the ``Config`` variables.
"""
from __future__ import annotations

import os

DEFAULTS = {"ZHQA_AUTO_HNSW_FROM": 200_000, "ZHQA_BM25_CACHE_FROM": 20_000}


def _parsed(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return DEFAULTS[name]
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def env_number(name: str) -> int:
    """The setting ``name`` (one of :data:`DEFAULTS`), or its default when unset or bad."""
    value = _parsed(name)
    return DEFAULTS[name] if value is None else value


def env_number_problem() -> str | None:
    """The one-line reason a setting of :data:`DEFAULTS` is bad now, or None."""
    for name in DEFAULTS:
        if _parsed(name) is None:
            return f"{name} must be a whole number of 0 or more, not {os.environ[name]!r}"
    return None
