"""Choice questions: 「…是伊利还是蒙牛？」 is answered with the option the passages state.

Why: the reader scores spans, not options. Asked 「2023财年阿里巴巴自身运营二氧化碳净排放是上升了还是下降了？」 it
answered 「12.9%」 (the figure next to 「下降」), and 「张勇认为ESG越来越成为一道必答题还是选择题？」 got 「而非选择题」.
A question that ends 「…是A还是B？」 offers its answer: the bot answers with the option the passages read state,
not negated (「而非选择题」 rules 选择题 out), and of two stated options the one nearer the reader's best span. The
reader still says whether the passages answer at all: the answer keeps the best span's confidence, so the
threshold decides as before, and an option the passages never state changes nothing.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.simplified import to_simplified
from qa.reader.extractive import Span

MAX_OPTION_CHARS = 20
# 「…是A还是B？」: B ends the question (a particle and end marks may follow); A follows the clause's last copula
_CHOICE = re.compile(rf"(?P<a>[^，,。？?！!；;：:]{{1,{3 * MAX_OPTION_CHARS}}}?)还是"
                     rf"(?P<b>[^，,。？?！!；;：:]{{1,{MAX_OPTION_CHARS}}}?)[呢吗啊呀]?[？?。！!\s]*$")
# what introduces the first option: 「是」 「为」 「成为」 「属于」 「选」 (the last one in the clause)
_COPULA = re.compile(r"是|为|成为|属于|选择|选")
# an option that asks something is no option: 「还是一个什么场所」, 「为何还是没能…」
_ASKS = re.compile(r"什么|谁|哪|多少|几|怎|如何|为何|为什么|吗|是否")
# 「而非选择题」, 「并非上升」, 「未能下降」, 「并未出现下降」: the option named only to be ruled out
_NEGATION = re.compile(r"(?:而非|并非|不是|没有|未能|没能|不能|不再|不会|无法|难以|并未|未|不|无|非|没)"
                       r"(?:出现|发生|有)?\s*$")
NEGATION_REACH = 6   # characters before an option in which a negation rules it out


@dataclass(frozen=True)
class Choice:
    """The two options as asked, and what each is looked for as: itself, then without the words they share."""

    options: tuple[str, str]
    cores: tuple[str, str]


def _plain(option: str) -> str:
    """An option without the 「了」 or 「的」 a question puts after it (「上升了」 → 上升) or before it (「成为了教师」)."""
    option = option.strip().strip("“”「」\"'")
    if len(option) > 1 and option[0] in "了的":
        option = option[1:]
    return option[:-1] if len(option) > 1 and option[-1] in "了的" else option


def choice_in(question: str) -> Choice | None:
    """The options of a question that ends 「…是A还是B？」; None for any other question."""
    q = to_simplified(question.strip())
    m = _CHOICE.search(q)
    if m is None:
        return None
    before, second = m.group("a"), _plain(m.group("b"))
    copulas = list(_COPULA.finditer(before))
    if not copulas:
        return None
    first = _plain(before[copulas[-1].end():])
    if not first or not second or first == second or len(first) > MAX_OPTION_CHARS or _ASKS.search(q):
        return None
    head = len(_shared_prefix(first, second))
    tail = len(_shared_prefix(first[head:][::-1], second[head:][::-1]))
    cores = (first[head:len(first) - tail], second[head:len(second) - tail])
    return Choice((first, second), cores)


def _shared_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _stated(choice: Choice, passages: Sequence[str], answer_from: Sequence[int] | None,
            read: set[int]) -> list[tuple[int, int, int]]:
    """(passage, start, end) of each place an option is stated, not negated, in the passages ``read`` (those
    the reader's kept spans come from): the option itself, or its core (two characters or more) where the
    passage never states the option whole. A place inside another option's place is none: 「合法」 in
    「不合法」, 「热带」 in 「亚热带」."""
    found = []
    texts = {p: _simplified(passages[p]) for p in sorted(read) if 0 <= p < len(passages)}   # in passage order
    for p, text in texts.items():
        start_at = answer_from[p] if answer_from is not None else 0
        for option, core in zip(choice.options, choice.cores):
            for form in (option, core) if len(core) >= 2 and core != option else (option,):
                places = [m.start() for m in re.finditer(re.escape(form), text) if m.start() >= start_at]
                if places:
                    found.extend((p, s, s + len(form)) for s in places)
                    break
    inside = {a for a in found for b in found if a != b and a[0] == b[0] and b[1] <= a[1] and a[2] <= b[2]}
    return [(p, s, e) for p, s, e in found if (p, s, e) not in inside
            and not _NEGATION.search(texts[p][max(0, s - NEGATION_REACH):s])]


def _simplified(text: str) -> str:
    """``text`` in simplified characters where that keeps its length (the question's options are simplified)."""
    simplified = to_simplified(text)
    return simplified if len(simplified) == len(text) else text


def _with_shared_tail(choice: Choice, text: str, start: int, end: int) -> int:
    """``end`` moved past the words both options share but only the longer one says: asked 「…是有机还是无机化合物？」,
    the text's 「有机化合物」 answers, not 「有机」."""
    found = text[start:end]
    for option in choice.options:
        if option == found or len(option) <= len(found):
            continue
        for k in range(1, len(option) - 1):   # tails of two characters or more, longest first
            tail = option[k:]
            if text.startswith(tail, end):
                return end + len(tail)
    return end


def with_choice(question: str, passages: Sequence[str], answer_from: Sequence[int] | None,
                spans: list[Span]) -> list[Span]:
    """``spans`` (the reader's, best first) with the option the passages state first, at the best span's
    confidence, when ``question`` is a choice question; otherwise ``spans`` as they are."""
    choice = choice_in(question)
    if choice is None or not spans:
        return spans
    places = _stated(choice, passages, answer_from, {sp.passage for sp in spans})
    if not places:
        return spans
    best = spans[0]

    def distance(place: tuple[int, int, int]) -> tuple[int, int]:
        p, s, e = place
        if p != best.passage:
            return 1, p   # another passage: retrieval's order decides
        return 0, max(0, best.start - e, s - best.end)

    p, s, e = min(places, key=distance)
    e = _with_shared_tail(choice, passages[p], s, e)
    chosen = dataclasses.replace(best, passage=p, start=s, end=e, text=passages[p][s:e])
    return [chosen] + [sp for sp in spans if (sp.passage, sp.start, sp.end) != (p, s, e)]
