"""Evaluation (``qa eval``): question sets, the CMRC2018 metric, the runner, summaries and the HTML report.

A running bot never imports this room; ``qa eval`` and the benchmarks do.
"""
