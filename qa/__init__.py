"""Chinese document question answering: ``from qa import ask``."""
from qa.answer import Answer, Candidate, Passage
from qa.bot import QABot, QuestionError, ask
from qa.config import Config

__all__ = ["Answer", "Candidate", "Passage", "QABot", "QuestionError", "ask", "Config"]
