"""Synthetic hard cases for teaching a reader (or its verifier) when to abstain, and mixed-language asks.

Why: CMRC2018 and DRCD have no unanswerable questions. The negatives made here keep the topic and
change only what makes the question answerable: the answer's sentences are cut from the paragraph,
or a noun of the question is swapped for one the paragraph lacks (「…公益幸福团有多少个？」 →
「…营业收入有多少个？」), or a number of the question that the paragraph states is changed to one it
does not (「4月3日是什么星座」 → 「4月12日是什么星座」, the kind of unanswerable question web search
gets). English-worded variants keep mixed-language questions from looking
unanswerable just for being unusual.
"""
from __future__ import annotations

import random
import re

from index.normalize import FULL_WIDTH_DIGITS
from index.readers.squad import locate_answer

_ARABIC_NUMBER = re.compile(r"(?<![0-9.,])[0-9]+(?![0-9.,])")   # not a decimal or 1,000's parts
_CHINESE_DIGITS = "一二三四五六七八九"
# an ordinal (第七章) or a count before a measure word (三届, 三屆); not 一, which is mostly "a" or "which"
# (一个, 哪一天)
_CHINESE_NUMBER = re.compile(r"(?<=第)[一二三四五六七八九]|(?<![哪每这這那某同唯单單一])[二三四五六七八九]"
                             r"(?=[个個次年月日天章节節届屆位名号號条條部项項种種岁歲倍])")
_DATE_LIMITS = {"月": 12, "日": 31, "号": 31, "號": 31}
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
_NOUN_FLAGS = ("n", "nr", "nrt", "ns", "nt", "nz", "vn", "nrfg")
# Chinese question words and an English rendering; the first one found in a question is used, so a
# longer word comes before any word it contains (有多少个 before 多少, 是谁 before 谁)
ENGLISH_ASKS = (("有多少个", " how many "), ("多少个", " how many "), ("是多少", " how much is it"),
                ("有多少", " how many "), ("多少", " how many "), ("什么时候", " when "), ("哪一年", " which year "),
                ("哪一天", " which day "), ("是谁", " who is it"), ("谁", " who "), ("是什么", " what is it"),
                ("什么", " what "), ("在哪里", " where "), ("哪里", " where "), ("为什么", " why "),
                ("如何", " how "), ("怎么", " how "))
ENGLISH_FORMS = ("inplace", "front", "keywords")
_CONTENT_FLAGS = ("n", "v", "m", "a", "t", "s", "f", "e", "j", "l", "i", "x", "q")
_FUNCTION_WORDS = {"的", "了", "是", "有", "在", "被", "把", "和", "与", "及", "过", "着", "吗", "呢", "？", "?", "。"}


def english_question(question: str, form: str = "inplace") -> str | None:
    """The question with its first Chinese question word in English, or None when it has none.

    ``inplace`` keeps the word order (「…有多少个？」 → "… how many ?"); ``front`` moves the English
    word to the front as in English ("How many …?"); ``keywords`` keeps only the content words after
    it ("How many 2023财年阿里活跃公益幸福团?"), like an English question around Chinese terms.
    """
    for zh, en in ENGLISH_ASKS:
        if zh in question:
            if form == "front":
                rest = question.replace(zh, " ", 1).rstrip("？?。 ")
                q = f"{en.strip().capitalize()} {rest}?"
            elif form == "keywords":
                import jieba.posseg

                rest = question.replace(zh, " ", 1)
                words = [w.word for w in jieba.posseg.cut(rest)
                         if w.word.strip() and w.word not in _FUNCTION_WORDS and w.flag.startswith(_CONTENT_FLAGS)
                         and not any(w.word in z for z, _ in ENGLISH_ASKS)]
                if not words:
                    return None
                q = f"{en.strip().capitalize()} {''.join(words)}?"
            else:
                q = question.replace(zh, en, 1).replace("？", "?")
            return re.sub(r"\s+", " ", q).strip()
    return None


def cut_answer_sentences(context: str, answers: tuple[str, ...], starts: tuple[int, ...]) -> str | None:
    """``context`` without the sentences that hold an answer; None when an answer text would remain."""
    spans = []
    for text, start in zip(answers, starts):
        pos = locate_answer(context, text, start)
        if pos < 0:
            return None
        spans.append((pos, pos + len(text)))
    kept, offset = [], 0
    for sentence in _SENTENCE_END.split(context):
        a, b = offset, offset + len(sentence)
        offset = b
        if not any(a < e and s < b for s, e in spans):
            kept.append(sentence)
    rest = "".join(kept).strip()
    if len(rest) < 40 or any(t and t in rest for t in answers):
        return None
    return rest


def question_nouns(question: str) -> list[str]:
    """Nouns of at least two characters (jieba part-of-speech tags), in order."""
    import jieba.posseg

    return [w.word for w in jieba.posseg.cut(question)
            if w.flag in _NOUN_FLAGS and len(w.word) >= 2 and not w.word.isascii()]


def swap_question(question: str, context: str, answers: tuple[str, ...], pool: list[str],
                  rng: random.Random) -> str | None:
    """``question`` with one of its nouns that ``context`` contains replaced by a ``pool`` noun it lacks."""
    mine = [w for w in question_nouns(question) if w in context and not any(w in a or a in w for a in answers)]
    if not mine:
        return None
    target = rng.choice(mine)
    for _ in range(20):
        new = rng.choice(pool)
        if new not in context and new not in question:
            return question.replace(target, new, 1)
    return None


def swap_number(question: str, context: str, answers: tuple[str, ...], rng: random.Random) -> str | None:
    """``question`` with one of its numbers that ``context`` states (an Arabic integer, a Chinese digit
    after 第, or one from 二 to 九 before a measure word such as 个, 章, 年) changed to one ``context`` lacks
    in either notation; None when it has none or no change stays clear of the context and the answers."""
    found = [(m.start(), m.end(), m.group(), "arabic") for m in _ARABIC_NUMBER.finditer(question)]
    found += [(m.start(), m.end(), m.group(), "chinese") for m in _CHINESE_NUMBER.finditer(question)]
    found = [f for f in found if _stated(f[2], f[3], context) and not any(_stated(f[2], f[3], a) for a in answers)]
    if not found:
        return None
    start, end, text, kind = rng.choice(found)
    for _ in range(20):
        if kind == "arabic":
            value = int(text)
            spread = 5 if 1000 <= value <= 2100 else max(2, value // 4 + 1)   # a year moves by a few years
            new = str(max(0, value + rng.choice((-1, 1)) * rng.randint(1, spread)))
            new = new.zfill(len(text)) if text.startswith("0") else new
            limit = _DATE_LIMITS.get(question[end:end + 1])
            if limit and not 1 <= int(new) <= limit:   # months 1-12, days 1-31
                continue
        else:
            new = rng.choice(_CHINESE_DIGITS)
        if new != text and not _stated(new, kind, context):
            return question[:start] + new + question[end:]
    return None


def _stated(number: str, kind: str, context: str) -> bool:
    """Whether ``context`` holds ``number`` as a whole number (12 is not stated by 120 or 3.12), in its
    own notation or, for 1 to 9, in the other one (5 and 五)."""
    if kind == "chinese":
        value = _CHINESE_DIGITS.index(number) + 1
        return number in context or _stated(str(value), "arabic", context)
    if re.search(rf"(?<![0-9.]){re.escape(number)}(?![0-9.])", context.translate(FULL_WIDTH_DIGITS)):
        return True
    return number.isdigit() and 1 <= int(number) <= 9 and _CHINESE_DIGITS[int(number) - 1] in context

