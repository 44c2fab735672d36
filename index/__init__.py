"""The lowest floor: documents → normalized text → chunks → a store with dense and BM25 search.

It knows nothing of questions. ``readers/`` has one module per input format, ``ingest`` picks one per
file; ``normalize``, ``chunk``, ``embed`` and ``bm25`` prepare passages; ``store/`` keeps them.
"""
