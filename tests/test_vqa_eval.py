"""The official VQA accuracy on hand-made cases."""

import pytest

from lxmert_lth.data.vqa_eval import normalize_answer, question_accuracy, score_predictions


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


# (prediction, ten human answers, official master a013f00, 2016 version 458a8b2): the
# cases on which the two versions of vqaEval.py differ, and some on which they agree.
RULE_CASES = [
    # master leaves both sides alone when the ten (stripped) answers are identical ...
    ("Two", ["2"] * 10, 0.0, 1.0),
    ("dont", ["dont"] * 10, 1.0, 0.0),  # 2016 turns the prediction into "don't"
    ("the dog", ["the dog"] * 10, 1.0, 0.0),
    # ... and strips the answers, which 2016 does not
    ("yes", ["yes "] * 10, 1.0, 0.0),
    ("yes", ["yes\t"] * 4 + ["no"] * 6, 1.0, 0.0),
    # answers that differ: master normalises both sides fully, 2016 the answers'
    # punctuation only
    ("dog", ["the dog"] * 4 + ["cat"] * 6, 1.0, 0.0),
    ("2", ["two"] * 3 + ["3"] * 7, 0.9, 0.0),
    ("Two", ["2"] * 9 + ["3"], 1.0, 1.0),
    ("the dog", ["dog"] * 3 + ["cat"] * 7, 0.9, 0.9),
    ("black white", ["black/white"] * 5 + ["grey"] * 5, 1.0, 1.0),
    (" yes\n", ["yes"] * 10, 1.0, 1.0),
    ("Yes", ["yes"] * 10, 0.0, 1.0),
]


@pytest.mark.parametrize(("prediction", "answers", "official", "vqa2016"), RULE_CASES)
def test_the_official_and_the_2016_rule(prediction, answers, official, vqa2016):
    assert question_accuracy(prediction, answers) == pytest.approx(official)
    assert question_accuracy(prediction, answers, "official") == pytest.approx(official)
    assert question_accuracy(prediction, answers, "vqa2016") == pytest.approx(vqa2016)


def test_at_most_32_periods_are_removed():
    """quirk kept: the published sub() call passes re.UNICODE (32) as its count."""
    assert normalize_answer("." * 40) == "." * 8
    assert normalize_answer("a.b.c") == "abc"
    assert normalize_answer("5. 3.5") == "5 3.5"  # the broken lookbehind: "5." loses it


def test_lxmert_minival_is_the_label_score_of_the_raw_prediction():
    qs = [
        {"question_id": 1, "answer_type": "other", "answers": ["red"] * 10, "label": {"red": 1.0}},
        {"question_id": 2, "answer_type": "number", "answers": ["2"] * 2 + ["3"] * 8,
         "label": {"2": 0.6, "3": 1.0}},
        {"question_id": 3, "answer_type": "other", "answers": ["cat"] * 10, "label": {}},
    ]  # fmt: skip
    predictions = {1: "Red", 2: "2", 3: "cat"}
    s = score_predictions(predictions, qs, "lxmert_minival")
    # "Red" is not the label's "red"; question 3's empty label scores 0, as in LXMERT.
    assert s["overall"] == pytest.approx(100 * 0.6 / 3)
    assert s["number"] == pytest.approx(60.0)
    official = score_predictions(predictions, qs)
    assert official["lxmert_minival"] == pytest.approx(s["overall"])
    assert official["overall"] == pytest.approx(100 * (0 + 0.6 + 1) / 3)


def test_scores_per_type_and_dash_for_missing_type():
    qs = [
        {"question_id": 1, "answer_type": "yes/no", "answers": ["yes"] * 10, "label": {}},
        {"question_id": 2, "answer_type": "yes/no", "answers": ["no"] * 10, "label": {}},
        {"question_id": 3, "answer_type": "other", "answers": ["red"] * 10, "label": {}},
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
