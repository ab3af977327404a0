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


@pytest.mark.parametrize(
    ("prediction", "answers", "current", "older"),
    [
        # The current rule always normalises the prediction, never the identical answers.
        ("Two", ["2"] * 10, 1.0, 0.0),
        ("dont", ["dont"] * 10, 0.0, 1.0),
        ("yes", ["yes "] * 10, 0.0, 1.0),  # answers are not stripped any more
        # Answers that differ: punctuation only (current) or full normalisation (older).
        ("dog", ["the dog"] * 4 + ["cat"] * 6, 0.0, 1.0),
        ("Two", ["2"] * 9 + ["3"], 1.0, 1.0),
        ("the dog", ["dog"] * 3 + ["cat"] * 7, 0.9, 0.9),
        ("black white", ["black/white"] * 5 + ["grey"] * 5, 1.0, 1.0),
        (" yes\n", ["yes"] * 10, 1.0, 1.0),
    ],
)
def test_the_current_and_the_older_rule(prediction, answers, current, older):
    assert question_accuracy(prediction, answers) == pytest.approx(current)
    assert question_accuracy(prediction, answers, "current") == pytest.approx(current)
    assert question_accuracy(prediction, answers, "older") == pytest.approx(older)


def test_an_unknown_rule_is_named():
    with pytest.raises(ValueError, match="'newest'"):
        question_accuracy("yes", ["yes"] * 10, "newest")


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
