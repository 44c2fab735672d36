"""What the reader reads: before a passage, its document's title when the question names something only
the title holds; and the question in the passages' script.

Why: a report names its subject in the headline and then says 「公司」. Asked 「蓝鲸航运的董事长是谁？」 over
「公司董事长为魏东海。」 the reader answered with the company's name or abstained; with the headline read
first it answers 魏东海. Read before every passage, though, the headline cost 2.4 F1 on news_mrc_dev (400
questions; the reader was never trained with one), so it is read only where the question needs it
(README, "Titles read with passages").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.bm25 import fold, tokenize
from index.chunk import Chunk
from index.normalize import is_cjk
from index.simplified import is_traditional, to_simplified, to_traditional

# words of asking, not of a topic: a title 「如何…」 or 「什么是…」 would otherwise be read before every chunk
QUESTION_WORDS = frozenset("什么 多少 如何 哪些 哪个 哪里 哪儿 哪年 为什么 怎么 怎样 怎么样 是否 何时 时候 几个 谁是 是谁".split())
TITLE_HEAD_CHARS = 64   # of a title read before a passage: a long one would crowd the passage out of the window


def question_terms(question: str) -> list[str]:
    """The question's Chinese words of two characters or more, as BM25 compares them. English words are
    left out: they matched English titles such as XQuAD's 「Super_Bowl_50」 and cost 2.5 F1 on its English
    questions (400, over Chinese passages)."""
    return [t for t in dict.fromkeys(tokenize(question, question=True))
            if len(t) >= 2 and t not in QUESTION_WORDS and any(is_cjk(c) for c in t)]


def title_head(chunk: Chunk, terms: list[str]) -> str:
    """The chunk's title (up to TITLE_HEAD_CHARS) and a line break when one of ``terms`` is in the title
    and not in the chunk's text, else ''."""
    title = " ".join(chunk.title.split())[:TITLE_HEAD_CHARS]
    if not terms or not title or chunk.title in chunk.text:
        return ""
    in_title, in_text = fold(title), fold(chunk.text)
    if not any(t in in_title and t not in in_text for t in terms):
        return ""
    return f"{title}\n"


def question_in_script(question: str, first_passage: str) -> str:
    """The question in the script of the passage retrieval ranked first: traditional characters for a
    traditional passage, simplified for a simplified one; as it is when they agree.

    Why: the reader matches the question's characters to the passage's. Asked 「宏硕电子的合并营收是多少？」
    over a traditional report, it gave 0.033, at the threshold; asked 「宏碩電子的合併營收是多少？」, 0.48."""
    if not is_traditional(first_passage):
        return to_simplified(question)   # the question as it is when it holds no traditional character
    if to_simplified(question) != question:   # a question is short: one traditional character tells
        return question
    return _in_passage_script(question, first_passage)


def _in_passage_script(question: str, passage: str) -> str:
    """A simplified question in the traditional characters ``passage`` itself writes: its own pairs first
    (a Taiwan passage writes 台北 and 這裡, where OpenCC's s2t writes 臺北 and 這裏), a character it holds as
    it is, then s2t."""
    simple = to_simplified(passage)
    pairs = {s: t for t, s in zip(passage, simple) if s != t} if len(simple) == len(passage) else {}
    converted = to_traditional(question)
    if len(converted) != len(question):
        return converted
    return "".join(pairs.get(q, q if q in passage else c) for q, c in zip(question, converted))


@dataclass(frozen=True)
class ReadingInput:
    """What the reader is given for one question over retrieved chunks."""

    question: str          # the question as the reader reads it (expanded, in the passages' script)
    texts: list[str]       # each chunk's text, after its title head when it has one
    heads: list[int]       # each head's length: where answers may start in ``texts`` (``answer_from``)


def reading_input(question: str, chunks: Sequence[Chunk], expand: Callable[[str, list[str]], str],
                  read_titles: bool = True) -> ReadingInput:
    """The reader's input for ``question`` over ``chunks``, in retrieval's order: title heads where the
    question needs them, the question expanded by ``expand`` (``Retriever.reading_question``: an English
    question's Chinese words) and put in the first passage's script. One function, so that the bot and the
    benchmarks that replay its reading give the reader the same thing."""
    terms = question_terms(question) if read_titles else []
    heads = [title_head(chunk, terms) for chunk in chunks]
    texts = [head + chunk.text for head, chunk in zip(heads, chunks)]
    reading = question_in_script(expand(question, texts), texts[0]) if texts else question
    return ReadingInput(reading, texts, [len(head) for head in heads])
