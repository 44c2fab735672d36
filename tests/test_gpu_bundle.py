"""The GPU bundle's drawn training files: the same questions a CPU run's ``--train PATH@N`` draws."""
from __future__ import annotations

import json

import pytest

from index.readers.squad import load_squad
from qa.training.gpu_bundle import _bundle_name, sampled_squad
from qa.training.reader import sample_questions


def squad(n_articles: int = 4, per_paragraph: int = 3) -> dict:
    data = []
    for a in range(n_articles):
        paragraphs = []
        for p in range(2):
            context = f"第{a}篇第{p}段：钉钉用户超{a}{p}亿。"
            qas = [{"id": f"A{a}P{p}Q{q}", "question": f"问题{a}{p}{q}？",
                    "answers": [{"text": f"超{a}{p}亿", "answer_start": context.index("超")}]}
                   for q in range(per_paragraph)]
            paragraphs.append({"context": context, "qas": qas})
        paragraphs.append({"context": None, "qas": []})   # skipped by the loader, as in parse_squad
        data.append({"title": f"标题{a}", "paragraphs": paragraphs})
    return {"version": "test", "data": data}


@pytest.mark.parametrize("limit, seed", [(5, 13), (5, 14), (1, 7), (24, 13)])
def test_a_drawn_file_holds_the_questions_a_training_draw_takes(tmp_path, limit, seed):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad(), ensure_ascii=False), encoding="utf-8")
    drawn_file = tmp_path / "drawn.json"
    drawn_file.write_text(json.dumps(sampled_squad(str(path), limit, seed), ensure_ascii=False), encoding="utf-8")
    full = load_squad(path)
    expected = sample_questions(full.questions, limit, seed)
    got = load_squad(drawn_file)
    assert [q.id for q in got.questions] == [q.id for q in expected]
    assert got.questions == expected, "same text, answers and paragraph ids"
    contexts = {p.id: p.context for p in full.paragraphs}
    assert all(contexts[p.id] == p.context for p in got.paragraphs)
    assert {p.id for p in got.paragraphs} == {q.paragraph_id for q in expected}, "no paragraph without a question"


def test_without_a_limit_the_file_is_whole_and_names_say_what_was_drawn(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(squad(), ensure_ascii=False), encoding="utf-8")
    assert sampled_squad(str(path), None, 13) == squad()
    assert _bundle_name("../x/squad1.1_train_en.json", 30000) == "squad1.1_train_en.30000.json"
    assert _bundle_name("../x/DRCD_dev.json", None) == "DRCD_dev.json"
