"""Training: the reader (``python -m qa.training.reader``), the answerability verifier, their
negatives, the no-answer threshold (``qa.training.calibrate``) and the GPU bundle.

A running bot never imports this room.
"""
