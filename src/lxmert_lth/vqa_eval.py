"""VQA accuracy exactly as the official evaluator computes it (``docs/method.md``, "VQA accuracy").

Two rules circulate. ``current`` (the official evaluator today, the default): the
prediction is stripped of newlines, tabs and surrounding space and always normalised
(punctuation, lower case, number words, articles, contractions); the human answers get
punctuation handling only, and only when they are not all identical. ``older`` (an
earlier copy, still found in many code bases): both sides are stripped, and normalised
alike only when the human answers are not all identical. Accuracy is the mean over the
ten leave-one-out subsets of min(1, matches / 3).
"""

from __future__ import annotations

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
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")


def _process_punctuation(text: str) -> str:
    out = text
    for p in _PUNCTUATION:
        if (p + " " in text or " " + p in text) or _COMMA_STRIP.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out)


def _process_digits_articles(text: str) -> str:
    words = []
    for word in text.lower().split():
        word = _NUMBER_WORDS.get(word, word)
        if word not in _ARTICLES:
            words.append(word)
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(text: str) -> str:
    """The official normalisation of one answer string."""
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return _process_digits_articles(_process_punctuation(text))


RULES = ("current", "older")


def question_accuracy(
    prediction: str, human_answers: Sequence[str], rule: str = "current"
) -> float:
    """Official VQA accuracy of one prediction against the human answers (0..1)."""
    if not human_answers:
        raise ValueError("a question needs at least one human answer")
    pred = prediction.replace("\n", " ").replace("\t", " ").strip()
    differ = len(set(human_answers)) > 1
    if rule == "current":
        pred = _process_digits_articles(_process_punctuation(pred))
        answers = [_process_punctuation(a) if differ else a for a in human_answers]
    elif rule == "older":
        answers = [a.replace("\n", " ").replace("\t", " ").strip() for a in human_answers]
        if len(set(answers)) > 1:
            answers = [_process_digits_articles(_process_punctuation(a)) for a in answers]
            pred = _process_digits_articles(_process_punctuation(pred))
    else:
        raise ValueError(f"unknown evaluation rule {rule!r}: expected one of {RULES}")
    accs = []
    for i in range(len(answers)):
        matches = sum(1 for j, a in enumerate(answers) if j != i and a == pred)
        accs.append(min(1.0, matches / 3.0))
    return sum(accs) / len(accs)


def score_predictions(
    predictions: Mapping[int, str], questions: Iterable[Mapping], rule: str = "current"
) -> dict[str, float | int | None]:
    """Accuracy x100 overall and per answer type, plus question counts.

    ``questions`` are records of the workflow's question format; ``rule`` is the
    evaluator's (``RULES``). A type with no
    questions gets ``None`` (shown as a dash in tables), never a number. A question with a
    soft label but no human answers (LXMERT's files) scores its label's value for the
    normalised prediction, which is what the evaluator gives an in-vocabulary answer.
    """
    per_type: dict[str, list[float]] = defaultdict(list)
    missing = []
    # question_accuracy is a pure function, and few (prediction, answers) pairs recur
    # often (easy-VQA: ten copies of one of 13 answers): compute each pair once.
    known: dict[tuple, float] = {}
    for q in questions:
        qid = q["question_id"]
        if qid not in predictions:
            missing.append(qid)
            continue
        if q["answer_type"] is None:
            raise ValueError(f"question {qid} is unlabelled: it cannot be scored locally")
        if q["answers"]:
            key = (predictions[qid], tuple(q["answers"]))
            if key not in known:
                known[key] = question_accuracy(predictions[qid], q["answers"], rule)
            acc = known[key]
        else:
            acc = q["label"].get(normalize_answer(predictions[qid]), 0.0)
        per_type[q["answer_type"]].append(acc)
    if missing:
        raise ValueError(
            f"{len(missing)} questions have no prediction (first: question_id {missing[0]})"
        )
    everything = [a for accs in per_type.values() for a in accs]
    scores: dict[str, float | int | None] = {
        "overall": 100.0 * sum(everything) / len(everything) if everything else None,
        "n_overall": len(everything),
    }
    for t in ANSWER_TYPES:
        accs = per_type.get(t, [])
        scores[t] = 100.0 * sum(accs) / len(accs) if accs else None
        scores[f"n_{t}"] = len(accs)
    return scores
