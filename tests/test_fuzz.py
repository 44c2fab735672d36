"""Bad input, fuzzed (hypothesis): questions, file bytes and SQuAD-ish JSON never raise a traceback.

Every case ends in a typed error or a skip with a reason, and a call that fails leaves the index as
it was. The examples are derandomized so CI is repeatable; ``HYPOTHESIS_PROFILE=deep`` explores
more, at random (``HYPOTHESIS_PROFILE=deep make test PYTEST_ARGS=tests/test_fuzz.py``).
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("deep", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytestmark = pytest.mark.filterwarnings("ignore:::gradio")

# ---------------------------------------------------------------- strategies
_NASTY_CHARS = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=0x1F),                  # control characters, NUL
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),           # lone surrogates
    st.sampled_from("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069\ufeff\u200b\u00ad"),  # RTL etc.
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),         # emoji
    st.sampled_from("？！。，、；：“”‘’《》（）…—?!.,;:'\"()[]{}<>#*_~`|\\/"),   # punctuation
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),           # CJK
    st.characters(),
)
QUESTIONS = st.one_of(
    st.text(_NASTY_CHARS, max_size=80),
    st.text(st.sampled_from("？！。，、?!.,;:"), min_size=1, max_size=30),   # only punctuation
    st.builds(lambda c, n: c * n, st.sampled_from(["问", "a", "\u202e", "😀", " "]),
              st.sampled_from([499, 500, 501, 10_000, 100_000])),           # around and far over the limit
    st.builds(lambda a, b: a + "公益幸福团有多少个？" + b, st.text(_NASTY_CHARS, max_size=10),
              st.text(_NASTY_CHARS, max_size=10)),
)
_SAMPLE = "2023财年，阿里活跃的公益幸福团超110个，共发起1000多场活动。钉钉用户超6亿。"
FILE_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda n: _SAMPLE.encode("utf-8")[:n], st.integers(0, 120)),                # truncated UTF-8
    st.builds(lambda n, bom: (b"\xff\xfe" if bom else b"") + _SAMPLE.encode("utf-16-le")[:n],
              st.integers(0, 120), st.booleans()),                                          # truncated UTF-16
    st.builds(lambda n: _SAMPLE.encode("gb18030")[:n], st.integers(0, 120)),              # truncated GB18030
    st.builds(lambda n: b"\x00" * n, st.integers(1, 3000)),                                # NUL-filled
    st.builds(lambda head, tail: head + tail, st.builds(lambda n: _SAMPLE.encode("utf-8")[:n], st.integers(0, 90)),
              st.binary(max_size=50)),
)
# allow_subnormal=False: a native library loaded earlier may have set flush-to-zero for the process
_JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_subnormal=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=6)


def _either(good):
    return st.one_of(good, _JUNK) if not isinstance(good, st.SearchStrategy) else st.one_of(good, _JUNK)


def _squadish():
    """SQuAD-shaped JSON where any level may be the wrong type or missing."""
    answer = st.fixed_dictionaries({}, optional={"text": _either(st.sampled_from(["超110个", "", " "])),
                                                 "answer_start": _either(st.integers(-5, 100))})
    qa = st.fixed_dictionaries({}, optional={
        "id": _either(st.sampled_from(["q1", "q2", "", "q1"])),
        "question": _either(QUESTIONS), "answers": _either(st.lists(_either(answer), max_size=2)),
        "is_impossible": _either(st.booleans())})
    para = st.fixed_dictionaries({}, optional={"context": _either(st.sampled_from([_SAMPLE, "", "  "])),
                                               "id": _either(st.text(max_size=4)),
                                               "qas": _either(st.lists(_either(qa), max_size=3))})
    article = st.fixed_dictionaries({}, optional={"title": _either(st.text(max_size=6)),
                                                  "paragraphs": _either(st.lists(_either(para), max_size=2))})
    return st.one_of(st.fixed_dictionaries({"data": _either(st.lists(_either(article), max_size=2))}), _JUNK)


# ---------------------------------------------------------------- a bot over tiny models
@pytest.fixture(scope="module")
def tiny_bot(tiny_encoder_path, tiny_qa_model, tmp_path_factory):
    from qa.bot import QABot
    from qa.config import Config

    doc = tmp_path_factory.mktemp("fuzz-corpus") / "sample.txt"
    doc.write_text(_SAMPLE, encoding="utf-8")
    return QABot.from_corpus([doc], Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))


def _state(bot) -> tuple:
    return (tuple(sorted(bot.store.documents)), len(bot.store.chunks),
            None if getattr(bot.store, "vectors", None) is None else bot.store.vectors.shape)


@given(question=QUESTIONS)
def test_any_question_is_answered_or_refused_with_a_reason(tiny_bot, question):
    from qa.bot import QuestionError

    try:
        answer = tiny_bot.ask(question)
    except QuestionError as exc:
        assert str(exc)
        return
    assert isinstance(answer.text, str) and 0.0 <= answer.score <= 1.0
    assert answer.abstained or answer.text.strip()


@given(question=QUESTIONS)
def test_the_chat_never_raises_and_the_api_raises_only_its_error(tiny_bot, question):
    import gradio as gr

    from ui.app import ChatUI

    ui = ChatUI(tiny_bot)
    history, sources, _ = ui.respond(question, [], 3, "hybrid")
    assert history and history[-1]["role"] == "assistant" and "Traceback" not in history[-1]["content"]
    try:
        assert isinstance(ui.api_ask(question, 3, "hybrid"), dict)
    except gr.Error as exc:
        assert str(exc)


@given(data=FILE_BYTES, suffix=st.sampled_from([".txt", ".md", ".json"]))
def test_any_file_bytes_become_documents_or_a_skip_and_a_failed_add_changes_nothing(tiny_bot, tmp_path_factory,
                                                                                   data, suffix):
    from index.ingest import read_paths

    path = tmp_path_factory.mktemp("fuzz-file") / f"input{suffix}"
    path.write_bytes(data)
    result = read_paths([path])
    assert result.documents or (len(result.skipped) == 1 and result.skipped[0].reason)
    before = _state(tiny_bot)
    added = tiny_bot.add_paths([path])
    try:
        if not added.documents:
            assert _state(tiny_bot) == before
        for doc in added.documents:
            assert doc.id in tiny_bot.store.documents
    finally:
        tiny_bot.remove_documents([d.id for d in added.documents])
    assert _state(tiny_bot) == before


@given(obj=_squadish())
def test_squadish_json_loads_as_questions_or_a_dataset_error_and_ingests_or_skips(tmp_path_factory, obj):
    from index.ingest import read_paths
    from qa.evaluation.datasets import DatasetError, load_eval_set

    path = tmp_path_factory.mktemp("fuzz-json") / "set.json"
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    for strict in (False, True):
        try:
            s = load_eval_set(path, strict=strict, max_question_chars=500)
        except DatasetError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert s.questions and all(q.question.strip() and len(q.question) <= 500 for q in s.questions)
            assert len({q.id for q in s.questions}) == len(s.questions)
            assert all(isinstance(a, str) and a.strip() for q in s.questions for a in q.answers)
            if strict:
                assert not s.skipped
    result = read_paths([path])
    assert result.documents or (len(result.skipped) == 1 and result.skipped[0].reason)
