"""The span reader and what judges its spans.

``extractive`` cuts passages into token windows and scores spans with any Hugging Face
question-answering model; ``bounds`` trims a span to a clean answer; ``answer_type`` drops spans of
another measure than the question asks for; ``verifier`` is the opt-in answerability head;
``loading`` loads and saves reader folders. The shipped weights live beside them in ``weights/``.
"""
