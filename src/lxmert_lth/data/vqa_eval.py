"""VQA accuracy as the official evaluator computes it (``docs/method.md``, "VQA accuracy").

Three rules (``evaluation.rule``), each written from the code it names:

``official`` (the default)
    GT-Vision-Lab/VQA's ``vqaEval.py`` on its master branch, as of commit a013f00
    (2021-03-11, "Fixed processing answers bug"): the prediction and every human answer
    are stripped of newlines, tabs and surrounding space; then, only when the stripped
    human answers are not all identical, both sides get punctuation handling and then
    digit/article handling; identical answers leave both sides as they are.
``vqa2016``
    The same file as of commit 458a8b2 (2016), still copied in many code bases: the
    prediction is always stripped and normalised; the human answers get punctuation
    handling only, only when they are not all identical, and are never stripped.
``lxmert_minival``
    LXMERT's own validation score (``VQAEvaluator.evaluate`` in the original code, which
    the authors' per-sparsity minival table reports): the soft score of the predicted
    answer string in the question's preprocessed label, no normalisation at all.

The two evaluator rules average min(1, matches among the other nine / 3) over the ten
leave-one-out subsets. Quirks of the published code kept on purpose are marked "quirk".
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

ANSWER_TYPES = ("yes/no", "number", "other")

_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip
_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = {"a", "an", "the"}
_PUNCTUATION = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-",
                ">", "<", "@", "`", ",", "?", "!"]  # fmt: skip
# quirk: "(?!<=" is a negative lookahead for the text "<=", not the lookbehind it was
# meant to be, so it never fires: every period not followed by a digit goes.
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
# quirk: the published call is ``periodStrip.sub("", text, re.UNICODE)``, whose third
# positional argument is ``count``: re.UNICODE is 32, so at most 32 periods go.
_PERIOD_COUNT = int(re.UNICODE)
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")


def _process_punctuation(text: str) -> str:
    out = text
    for p in _PUNCTUATION:
        if (p + " " in text or " " + p in text) or _COMMA_STRIP.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, count=_PERIOD_COUNT)


def _process_digits_articles(text: str) -> str:
    words = []
    for word in text.lower().split():
        word = _NUMBER_WORDS.get(word, word)
        if word not in _ARTICLES:
            words.append(word)
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def _strip(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


def normalize_answer(text: str) -> str:
    """The official normalisation of one answer string (stripped, punctuation, then
    digits and articles)."""
    return _process_digits_articles(_process_punctuation(_strip(text)))


OFFICIAL, VQA2016, LXMERT_MINIVAL = "official", "vqa2016", "lxmert_minival"
RULES = (OFFICIAL, VQA2016, LXMERT_MINIVAL)


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"unknown evaluation rule {rule!r}: expected one of {RULES}")
    return rule


def question_accuracy(prediction: str, human_answers: Sequence[str], rule: str = OFFICIAL) -> float:
    """VQA accuracy (0..1) of one prediction against the human answers, by the official
    evaluator of master (``official``) or of 2016 (``vqa2016``)."""
    if not human_answers:
        raise ValueError("a question needs at least one human answer")
    if check_rule(rule) == OFFICIAL:
        pred, answers = _strip(prediction), [_strip(a) for a in human_answers]
        if len(set(answers)) > 1:
            answers = [_process_digits_articles(_process_punctuation(a)) for a in answers]
            pred = _process_digits_articles(_process_punctuation(pred))
    elif rule == VQA2016:
        pred = normalize_answer(prediction)
        differ = len(set(human_answers)) > 1
        answers = [_process_punctuation(a) if differ else a for a in human_answers]
    else:
        raise ValueError(f"rule {rule!r} scores by the label, not by human answers")
    accs = []
    for i in range(len(answers)):
        matches = sum(1 for j, a in enumerate(answers) if j != i and a == pred)
        accs.append(min(1.0, matches / 3.0))
    return sum(accs) / len(accs)


def label_score(prediction: str, label: Mapping[str, float]) -> float:
    """LXMERT's own score of a prediction: its soft score in the label, as written."""
    return float(label.get(prediction, 0.0))


class _Accuracy:
    """One question's accuracy (0..1) by a rule: the human answers' (the evaluator's), or
    the label's value for a question with a soft label but no human answers (LXMERT's
    files), which is what the evaluator gives an in-vocabulary answer; ``lxmert_minival``:
    the label's score as written. question_accuracy is a pure function, and few
    (prediction, answers) pairs recur often (easy-VQA: ten copies of one of 13 answers):
    each pair is computed once."""

    def __init__(self, rule: str):
        self.rule = check_rule(rule)
        self.known: dict[tuple, float] = {}

    def __call__(self, question: Mapping, prediction: str) -> float:
        if question["answer_type"] is None:
            raise ValueError(
                f"question {question['question_id']} is unlabelled: it cannot be scored locally"
            )
        if self.rule == LXMERT_MINIVAL:
            return label_score(prediction, question["label"])
        if not question["answers"]:
            return question["label"].get(normalize_answer(prediction), 0.0)
        key = (prediction, tuple(question["answers"]))
        if key not in self.known:
            self.known[key] = question_accuracy(prediction, question["answers"], self.rule)
        return self.known[key]


# VQA-Rephrasings' groups: an original question and its three human rephrasings.
CONSISTENCY_K = 4


def consistency(
    predictions: Mapping[int, str], questions: Iterable[Mapping], rule: str = OFFICIAL
) -> dict[str, float | int | None]:
    """The consistency score CS(k), k = 1..CONSISTENCY_K, x100 (Shah et al., CVPR 2019,
    "Cycle-Consistency for Robust Visual Question Answering"), as the code of Kant et al.
    (yashkant/concat-vqa, mmt/metrics.py) computes it: over the groups of at least
    CONSISTENCY_K questions (records sharing a ``group``: the original's question_id), the
    mean share of a group's k-question subsets in which every question scores above 0.
    A group with c of its n questions right has C(c, k) such subsets of C(n, k)."""
    accuracy = _Accuracy(rule)
    groups: dict[int, list[bool]] = defaultdict(list)
    for q in questions:
        groups[q["group"]].append(accuracy(q, predictions[q["question_id"]]) > 0)
    full = [g for g in groups.values() if len(g) >= CONSISTENCY_K]
    scores: dict[str, float | int | None] = {"n_groups": len(full)}
    for k in range(1, CONSISTENCY_K + 1):
        shares = [math.comb(sum(g), k) / math.comb(len(g), k) for g in full]
        scores[f"cs{k}"] = 100.0 * sum(shares) / len(shares) if shares else None
    return scores


def score_predictions(
    predictions: Mapping[int, str], questions: Iterable[Mapping], rule: str = OFFICIAL
) -> dict[str, float | int | None]:
    """Accuracy x100 overall and per answer type by ``rule`` (``RULES``), question counts,
    and ``lxmert_minival``: the overall score by LXMERT's own rule, which the authors'
    minival report used (a question whose label is empty scores 0 there, as in LXMERT).

    ``questions`` are records of the workflow's question format. A type with no
    questions gets ``None`` (shown as a dash in tables), never a number.
    """
    check_rule(rule)
    label_scores: list[float] = []
    per_type: dict[str, list[float]] = defaultdict(list)
    missing = []
    accuracy = _Accuracy(rule)
    for q in questions:
        qid = q["question_id"]
        if qid not in predictions:
            missing.append(qid)
            continue
        label_scores.append(label_score(predictions[qid], q["label"]))
        per_type[q["answer_type"]].append(accuracy(q, predictions[qid]))
    if missing:
        raise ValueError(
            f"{len(missing)} questions have no prediction (first: question_id {missing[0]})"
        )
    everything = [a for accs in per_type.values() for a in accs]
    scores: dict[str, float | int | None] = {
        "overall": 100.0 * sum(everything) / len(everything) if everything else None,
        "n_overall": len(everything),
        "lxmert_minival": 100.0 * sum(label_scores) / len(label_scores) if everything else None,
    }
    for t in ANSWER_TYPES:
        accs = per_type.get(t, [])
        scores[t] = 100.0 * sum(accs) / len(accs) if accs else None
        scores[f"n_{t}"] = len(accs)
    return scores
