"""The official VQA accuracy on hand-made cases."""

import pytest

from lxmert_lth.vqa_eval import normalize_answer, question_accuracy, score_predictions


@pytest.mark.parametrize(
    ("n_matching", "expected"),
    # mean over the 10 leave-one-out subsets of min(1, matches/3)
    [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)],
)
def test_accuracy_equals_soft_score(n_matching, expected):
    answers = ["cat"] * n_matching + ["dog"] * (10 - n_matching)
    assert question_accuracy("cat", answers) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Two", "2"),
        ("none", "0"),
        ("the dog", "dog"),
        ("a red ball", "red ball"),
        ("dont", "don't"),
        ("yes.", "yes"),
        ("3.5", "3.5"),
        ("1,000", "1000"),
        ("black/white", "black white"),
        ("hi!", "hi"),
        ("  cat\n", "cat"),
    ],
)
def test_normalisation(text, normalised):
    assert normalize_answer(text) == normalised


def test_normalisation_applies_only_when_answers_differ():
    # Identical human answers: no normalisation, so "Two" does not match "2".
    assert question_accuracy("Two", ["2"] * 10) == 0.0
    # Different human answers: both sides normalised.
    assert question_accuracy("Two", ["2"] * 9 + ["3"]) == pytest.approx(1.0)
    assert question_accuracy("the dog", ["dog"] * 3 + ["cat"] * 7) == pytest.approx(0.9)


def test_whitespace_is_stripped_always():
    assert question_accuracy(" yes\n", ["yes"] * 10) == 1.0


def test_scores_per_type_and_dash_for_missing_type():
    qs = [
        {"question_id": 1, "answer_type": "yes/no", "answers": ["yes"] * 10},
        {"question_id": 2, "answer_type": "yes/no", "answers": ["no"] * 10},
        {"question_id": 3, "answer_type": "other", "answers": ["red"] * 10},
    ]
    s = score_predictions({1: "yes", 2: "yes", 3: "red"}, qs)
    assert s["yes/no"] == pytest.approx(50.0)
    assert s["other"] == pytest.approx(100.0)
    assert s["number"] is None and s["n_number"] == 0
    assert s["overall"] == pytest.approx(200 / 3)


def test_missing_prediction_is_an_error():
    qs = [{"question_id": 7, "answer_type": "other", "answers": ["a"] * 10}]
    with pytest.raises(ValueError, match="question_id 7"):
        score_predictions({}, qs)
