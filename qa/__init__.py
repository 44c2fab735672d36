"""Chinese document question answering: ``from qa import ask``.

The public face is ``ask``, ``QABot``, ``Config``, ``Answer`` (with ``Candidate``, ``Passage`` and
``QuestionError``). Names load on first use, so ``python -m qa.training.…`` or ``qa.evaluation``
do not pull in the bot and its index stack, and ``import qa`` stays cheap.

Rooms: ``qa/`` itself holds what a running bot uses (bot, answer, config, retrieve, options, cli);
``qa.reader`` the span reader and what judges its spans; ``qa.evaluation`` question sets, metrics,
runner and report (``qa eval``); ``qa.training`` reader and verifier training, negatives,
calibration and the GPU bundle.
"""
from __future__ import annotations

from importlib import import_module

_PUBLIC = {"Answer": "qa.answer", "Candidate": "qa.answer", "Passage": "qa.answer", "QABot": "qa.bot",
           "QuestionError": "qa.bot", "ask": "qa.bot", "Config": "qa.config"}

__all__ = ["Answer", "Candidate", "Passage", "QABot", "QuestionError", "ask", "Config"]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
