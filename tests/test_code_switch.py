"""Code-switched training questions (qa/training/code_switch.py) on the real CC-CEDICT glossary."""
import random

import pytest

from qa.glossary import Glossary, clean_gloss
from qa.training.code_switch import QUESTION_WORDS, code_switch, segment


@pytest.fixture(scope="module")
def glossary():
    return Glossary.from_cedict()


def test_glosses_are_short_translations_not_notes():
    assert clean_gloss("to be located at") == "located at"
    assert clean_gloss("Beijing, capital of the People's Republic of China") == "Beijing"
    assert clean_gloss("chief executive officer (CEO)") == "chief executive officer"
    for note in ("CL:場|场[chang2]", "variant of 是[shi4]", "surname Wang", "(bound form) bull's-eye", "用"):
        assert clean_gloss(note) is None, note


def test_common_readings_come_before_proper_names(glossary):
    assert glossary.english("钉钉") == "DingTalk"
    assert glossary.english("财年") == "fiscal year"
    assert glossary.glosses["团"][0] != "Tuan", "a surname reading must not come first"
    assert glossary is Glossary.from_cedict(), "parsed once per process"


def test_segment_keeps_dictionary_words_whole(glossary):
    assert segment("阿里巴巴的首席执行官是谁", glossary) == ["阿里巴巴", "的", "首席执行官", "是", "谁"]
    assert "钉钉" in segment("钉钉有多少用户？", glossary)


def test_full_switch_is_english_around_figures_and_unknown_words(glossary):
    q = code_switch("2023财年钉钉有多少用户？", glossary, random.Random(0), 1.0)
    assert q.startswith("2023 ") and q.endswith("?") and "DingTalk" in q and "how many" in q
    assert "财年" not in q and "钉钉" not in q and "用户" not in q
    # single characters other than question words stay Chinese; particles go once most words are English
    q = code_switch("阿里巴巴的首席执行官是谁？", glossary, random.Random(0), 1.0)
    assert q == "Alibaba chief executive officer 是 who?"


def test_partial_switch_and_nothing_to_switch(glossary):
    rng = random.Random(3)
    outs = {code_switch("2023财年阿里活跃的公益幸福团有多少个？", glossary, rng, 0.35) for _ in range(30)}
    outs.discard(None)
    assert len(outs) > 5, "different words are switched from draw to draw"
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in q) and any(ch.isascii() and ch.isalpha() for ch in q)
               for q in outs), "a partial switch mixes the two languages"
    assert code_switch("钉钉有多少用户？", glossary, rng, 0.0) is None
    assert code_switch("How many users?", glossary, rng, 1.0) is None
    assert set(QUESTION_WORDS.values()) >= {"how many", "who", "when", "where"}


def test_training_examples_carry_code_switched_questions(tmp_path):
    import json

    from qa.training.reader import TrainConfig, build_examples

    ctx = "截至2023年3月31日，钉钉用户超6亿，服务企业组织超2300万。阿里巴巴的首席执行官是张勇。"
    qas = [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}
           for i, (q, a) in enumerate([("钉钉用户有多少？", "超6亿"), ("阿里巴巴的首席执行官是谁？", "张勇")])]
    other = {"context": "杭州是浙江省的省会，西湖位于杭州西部。", "qas": []}
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": qas}, other]}]},
                               ensure_ascii=False), encoding="utf-8")
    plain = build_examples([str(path)], TrainConfig(cross_paragraph_negatives=0.0), random.Random(1))
    assert [e.question for e in plain] == ["钉钉用户有多少？", "阿里巴巴的首席执行官是谁？"]
    mixed = build_examples([str(path)], TrainConfig(cross_paragraph_negatives=1.0, code_switch=1.0), random.Random(1))
    switched = [e for e in mixed if e.question not in ("钉钉用户有多少？", "阿里巴巴的首席执行官是谁？")]
    positives = [e for e in switched if e.answer_start >= 0]
    assert positives and all(e.context[e.answer_start:].startswith(e.answer_text) for e in positives)
    assert any(e.answer_start == -1 for e in switched), "code-switched questions over another paragraph: no answer"


QUESTIONS = ["2023财年阿里活跃的公益幸福团有多少个？", "阿里巴巴的首席执行官是谁？", "钉钉有多少用户？",
             "阿里巴巴集團的執行長是誰？"]


def test_the_glossary_within_some_questions_switches_them_alike(glossary):
    small = glossary.within(QUESTIONS)
    assert 0 < len(small.glosses) < 200 < len(glossary.glosses)
    assert all(any(w in q for q in QUESTIONS) and len(w) >= 2 for w in small.glosses)
    for q in QUESTIONS:
        assert segment(q, small) == segment(q, glossary)
        for seed in range(5):
            for rate in (0.35, 1.0):
                assert code_switch(q, small, random.Random(seed), rate) == code_switch(q, glossary, random.Random(seed), rate)


def test_a_saved_glossary_is_read_instead_of_the_dictionary(glossary, tmp_path, monkeypatch):
    import json

    import qa.glossary as module
    from qa.glossary import GlossaryUnavailable

    path = tmp_path / "glossary.json"
    path.write_text(json.dumps(glossary.within(QUESTIONS).glosses, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("ZHQA_GLOSSARY", str(path))
    monkeypatch.setattr(module, "_GLOSSARY", None)
    saved = Glossary.from_cedict()
    assert saved == glossary.within(QUESTIONS) and saved is Glossary.from_cedict()
    monkeypatch.setattr(module, "_GLOSSARY", None)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(GlossaryUnavailable, match="ZHQA_GLOSSARY="):
        Glossary.from_cedict()
    monkeypatch.setattr(module, "_GLOSSARY", None)
