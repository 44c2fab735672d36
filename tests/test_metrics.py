"""The CMRC2018 metric on crafted cases (expected values worked out by hand from the official script)."""
from __future__ import annotations

import pytest

from qa.evaluation.metrics import (
    evaluate_predictions, exact_match, f1_score, find_lcs, gold_rank, mixed_segmentation, mrr_at_k,
    recall_at_k, remove_punctuation, score_answer, word_tokenize,
)


# ---------------------------------------------------------------- segmentation
@pytest.mark.parametrize("text, segs", [
    ("ESG报告2023年", ["esg", "报", "告", "2023", "年"]),          # lower-cased; runs kept whole
    ("超 110个", ["超", "110", "个"]),                                # spaces only separate
    ("光荣和ω-force", ["光", "荣", "和", "ω", "-", "force"]),         # '-' is a punctuation segment
    ("12.9%", ["12.9", "%"]),                                          # nltk splits off '%'
    ("2,580家", ["2,580", "家"]),                                      # comma between digits stays
    ("New York City.", ["new", "york", "city", "."]),                 # final period split off
    ("歐洲議會", ["歐", "洲", "議", "會"]),                            # traditional characters one by one
])
def test_mixed_segmentation(text, segs):
    assert mixed_segmentation(text) == segs


def test_mixed_segmentation_removes_punctuation_when_asked():
    assert mixed_segmentation("《石头记》，", rm_punc=True) == ["石", "头", "记"]
    assert mixed_segmentation("1+6+N", rm_punc=True) == ["16n"]       # '+' dropped, digits/letters merge
    assert mixed_segmentation("1+6+N") == ["1", "+", "6", "+", "n"]


@pytest.mark.parametrize("text, tokens", [
    ("don't stop", ["do", "n't", "stop"]),
    ("(abc)", ["(", "abc", ")"]),
    ("$5.00", ["$", "5.00"]),
    ("10:30", ["10:30"]),
    ("a, b", ["a", ",", "b"]),
    ('"quoted" text', ["``", "quoted", "''", "text"]),
    ("cannot", ["can", "not"]),
    ("", []),
])
def test_word_tokenize_matches_nltk(text, tokens):
    assert word_tokenize(text) == tokens


def test_remove_punctuation_keeps_official_quirks():
    assert remove_punctuation("  《环境、社会和治理报告（2023）》 ") == "环境社会和治理报告2023"
    assert remove_punctuation("A-B_C") == "abc"
    # '……' is listed as a two-character string in the official script, so a lone '…' stays
    assert remove_punctuation("好…") == "好…"
    # ASCII '.', ',', '%' and inner spaces are not in the list either
    assert remove_punctuation("12.9% ,a b") == "12.9% ,a b"


def test_find_lcs_is_contiguous_and_first():
    assert find_lcs(list("abcxabcd"), list("zabcd")) == (list("abcd"), 4)
    assert find_lcs(list("ab"), list("ba")) == (["a"], 1)     # first of equally long runs
    assert find_lcs([], list("x")) == ([], 0)


# ---------------------------------------------------------------- EM / F1
def test_exact_and_partial_chinese():
    assert exact_match("曹雪芹", ["曹雪芹"]) == 1.0
    assert f1_score("曹雪芹", ["曹雪芹"]) == 1.0
    # pred ['110','个'] vs gold ['超','110','个']: lcs 2, precision 1, recall 2/3
    assert exact_match("110个", ["超110个"]) == 0.0
    assert f1_score("110个", ["超110个"]) == pytest.approx(0.8)


def test_f1_uses_longest_common_substring_not_token_bag():
    # same characters, other order: a bag-of-tokens F1 would say 1.0
    assert f1_score("洲歐", ["歐洲"]) == pytest.approx(0.5)
    assert f1_score("甲乙丙丁", ["甲乙x丙丁"]) == pytest.approx(2 * (2 / 4) * (2 / 5) / (2 / 4 + 2 / 5))


def test_max_over_references():
    assert f1_score("110个", ["超110个", "110个"]) == 1.0
    assert exact_match("110个", ["超110个", "110个"]) == 1.0
    assert f1_score("完全无关", ["超110个", "110个"]) == 0.0


def test_punctuation_is_ignored():
    assert exact_match("7月24日。", ["7月24日"]) == 1.0
    assert exact_match("《石头记》", ["石头记"]) == 1.0
    assert exact_match("“1+6+N”", ["1+6+N"]) == 1.0
    assert f1_score("「臺北101」", ["臺北101"]) == 1.0
    # a prediction that is nothing but punctuation has no segments: F1 0
    assert f1_score("。", ["7月24日"]) == 0.0


def test_english_words_and_case():
    assert exact_match("NEW YORK", ["new york"]) == 1.0
    # ['new','york','city'] vs ['new','york']: precision 2/3, recall 1
    assert f1_score("New York City", ["new york"]) == pytest.approx(0.8)
    assert f1_score("the Yorkshire", ["york"]) == 0.0          # words are not split into letters


def test_numbers():
    # '12.9%' → ['12.9','%'] vs ['12.9']: precision 1/2, recall 1
    assert f1_score("12.9%", ["12.9"]) == pytest.approx(2 / 3)
    assert exact_match("12.9%", ["12.9%"]) == 1.0
    assert f1_score("2,580", ["2580"]) == 0.0                  # different tokens
    assert f1_score("468.1万吨", ["468.1 万吨"]) == 1.0           # space only separates segments
    assert exact_match("468.1万吨", ["468.1 万吨"]) == 0.0        # but EM sees it


def test_traditional_characters_are_not_converted():
    assert exact_match("歐洲", ["歐洲"]) == 1.0
    assert exact_match("欧洲", ["歐洲"]) == 0.0
    assert f1_score("欧洲", ["歐洲"]) == pytest.approx(0.5)       # only '洲' is shared


def test_whitespace_insensitive_variant():
    assert exact_match("超 110个", ["超110个"]) == 0.0
    assert exact_match("超 110个", ["超110个"], ignore_space=True) == 1.0
    # OCR split a number: ['1','10','个'] vs ['110','个'] share only '个'
    assert f1_score("1 10个", ["110个"]) == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert f1_score("1 10个", ["110个"], ignore_space=True) == 1.0
    s = score_answer("2021 年年底", ["2021年年底"])
    assert (s.em, s.f1, s.em_nospace, s.f1_nospace) == (0.0, 1.0, 1.0, 1.0)


def test_empty_predictions_and_unanswerable_questions():
    # abstaining on an answerable question is wrong
    assert exact_match("", ["曹雪芹"]) == 0.0 and f1_score("", ["曹雪芹"]) == 0.0
    # abstaining on an unanswerable question (no references) is right, answering it is wrong
    assert exact_match("", []) == 1.0 and f1_score("", []) == 1.0
    assert exact_match("  ", []) == 1.0
    assert exact_match("腾讯", []) == 0.0 and f1_score("腾讯", []) == 0.0
    assert score_answer("", []).f1_nospace == 1.0


def test_scores_are_bounded_and_symmetric_in_identity():
    for pred, gold in [("a", "b"), ("超110个", "110"), ("New York", "york city"), ("…", "…")]:
        f = f1_score(pred, [gold])
        assert 0.0 <= f <= 1.0
        assert f1_score(gold, [gold]) in (0.0, 1.0)


def test_evaluate_predictions_counts_missing_as_zero():
    refs = {"q1": ["曹雪芹"], "q2": ["1416年"], "q3": [], "q4": ["青海湖"]}
    preds = {"q1": "曹雪芹", "q2": "1416", "q3": ""}
    out = evaluate_predictions(refs, preds)
    assert out["n"] == 4 and out["missing"] == 1
    assert out["em"] == pytest.approx(100 * 2 / 4)
    # q2: ['1416'] vs ['1416','年'] → precision 1, recall 1/2 → 2/3
    assert out["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 4)


# ---------------------------------------------------------------- retrieval
def test_retrieval_metrics():
    assert gold_rank(["a", "b", "a", "c"], "c") == 4
    assert gold_rank(["a", "b"], "z") is None
    assert gold_rank(["a", "b"], {"z", "b"}) == 2
    ranks = [1, 3, None, 7]
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 5) == 0.5
    assert recall_at_k(ranks, 10) == 0.75
    assert mrr_at_k(ranks, 10) == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert mrr_at_k(ranks, 5) == pytest.approx((1 + 1 / 3) / 4)
    assert recall_at_k([], 5) == 0.0
