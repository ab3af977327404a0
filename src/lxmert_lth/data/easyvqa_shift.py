"""Out-of-distribution test sets made from easy-VQA's own data by two documented rules
(``dataset.shift``; ``docs/method.md``, "Do tickets generalize?").

easy-VQA asks 24 question templates (:data:`TEMPLATES`) about images of one shape (3) in
one colour (8). Holding some out of fine-tuning gives two shifts:

* **pairs**, a compositional shift: the images whose (shape, colour) is a held-out pair
  leave train, val and pre-training; their test questions (on the kept templates) are the
  ``pairs`` set. Each shape and colour is still seen, only never together.
* **templates**, a language shift: questions of a held-out template (a rephrasing, a
  negation form) leave train, val and pre-training; the test questions of those templates
  (on images of kept pairs) are the ``templates`` set.

The test split becomes the in-distribution rest: kept pairs, kept templates. A test
question with both shifts is in neither set (it would mix them).

An image's (shape, colour) is read from its own questions and answers (the package has no
other record of it): "what color is the shape?" -> red names its colour, "is there not a
circle?" -> no names its shape. Images whose pair no question names (458 of easy-VQA's
4,000 training and 120 of its 1,000 test images) leave every split of a shifted run: one
of them might show a held-out pair, and training on it would leak the shift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from lxmert_lth.core.errors import ConfigError, InputError

SHAPES = ("circle", "rectangle", "triangle")
COLOURS = ("black", "blue", "brown", "gray", "green", "red", "teal", "yellow")

# The 24 question forms of easy-VQA 1.0 (counted over its 48,248 questions), with {shape}
# and {color} where a shape or colour word stands.
TEMPLATES = (
    "does the image contain a {color} shape?",
    "does the image contain a {shape}?",
    "does the image not contain a {color} shape?",
    "does the image not contain a {shape}?",
    "is a {color} shape present?",
    "is a {shape} present?",
    "is no {color} shape present?",
    "is no {shape} present?",
    "is there a {color} shape in the image?",
    "is there a {color} shape?",
    "is there a {shape} in the image?",
    "is there a {shape}?",
    "is there not a {color} shape in the image?",
    "is there not a {color} shape?",
    "is there not a {shape} in the image?",
    "is there not a {shape}?",
    "what color is the shape?",
    "what color is the {shape}?",
    "what is the color of the shape?",
    "what is the color of the {shape}?",
    "what is the {color} shape?",
    "what shape does the image contain?",
    "what shape is in the image?",
    "what shape is present?",
)
_WORDS = re.compile(r"\b(" + "|".join(SHAPES + COLOURS) + r")\b")
_NEGATED = re.compile(r"\b(not|no)\b")


def parse(question: str) -> tuple[str, dict[str, str]]:
    """(template, {"shape"/"color": word}) of an easy-VQA question."""
    found: dict[str, str] = {}

    def slot(match: re.Match) -> str:
        word = match.group(1)
        key = "shape" if word in SHAPES else "color"
        found[key] = word
        return "{" + key + "}"

    template = _WORDS.sub(slot, question)
    return template, found


def named_attributes(question: str, answer: str) -> dict[str, str]:
    """What a question and its answer say about the image: {"shape": ..., "color": ...}."""
    template, slots = parse(question)
    if answer in SHAPES:
        return {**slots, "shape": answer}
    if answer in COLOURS:
        return {**slots, "color": answer}
    # yes/no: the named attribute is the image's when the answer affirms it.
    affirms = (answer == "yes") != bool(_NEGATED.search(template))
    return slots if affirms else {}


def image_pairs(records: Iterable[Mapping]) -> dict[str, tuple[str, str]]:
    """image_id -> (shape, colour) for every image whose questions name both; two
    questions that disagree stop with the first's question_id."""
    named: dict[str, dict[str, tuple[str, int]]] = {}
    for q in records:
        answer = q["answers"][0]
        for key, value in named_attributes(q["question"], answer).items():
            seen = named.setdefault(q["image_id"], {})
            if key in seen and seen[key][0] != value:
                raise InputError(
                    f"easy-VQA: image {q['image_id']} is {seen[key][0]!r} by question "
                    f"{seen[key][1]} but {value!r} by question {q['question_id']}"
                )
            seen.setdefault(key, (value, q["question_id"]))
    return {
        image: (attrs["shape"][0], attrs["color"][0])
        for image, attrs in named.items()
        if "shape" in attrs and "color" in attrs
    }


def check_shift(shift: Mapping) -> None:
    """Each held-out pair a (shape, colour) of easy-VQA, each template one of its 24."""
    for pair in shift["pairs"]:
        shape, colour = pair
        if shape not in SHAPES or colour not in COLOURS:
            raise ConfigError(
                f"dataset.shift.pairs: {list(pair)} is not a (shape, colour) of easy-VQA "
                f"(shapes {list(SHAPES)}, colours {list(COLOURS)})"
            )
    for template in shift["templates"]:
        if template not in TEMPLATES:
            raise ConfigError(
                f"dataset.shift.templates: {template!r} is not one of easy-VQA's 24 templates "
                "(lxmert_lth.data.easyvqa_shift.TEMPLATES; docs/method.md lists them)"
            )
    _check_something_left(shift)


def _check_something_left(shift: Mapping) -> None:
    """What a shift leaves to train on: some images and templates, and every shape and
    colour seen with another (a held-out pair is a new composition of seen words)."""
    pairs = {tuple(p) for p in shift["pairs"]}
    if len(pairs) == len(SHAPES) * len(COLOURS):
        raise ConfigError(
            f"dataset.shift.pairs: holds all {len(pairs)} (shape, colour) pairs of easy-VQA: "
            "a held-out pair's images leave train, val and pre-training, so none is left to "
            "train on"
        )
    if len(set(shift["templates"])) == len(TEMPLATES):
        raise ConfigError(
            f"dataset.shift.templates: holds all {len(TEMPLATES)} templates of easy-VQA: a "
            "held-out template's questions leave train, val and pre-training, so none is left"
        )
    for position, words in ((0, SHAPES), (1, COLOURS)):
        for word in words:
            others = {p[1 - position] for p in pairs if p[position] == word}
            if len(others) == len(COLOURS if position == 0 else SHAPES):
                raise ConfigError(
                    f"dataset.shift.pairs: holds every pair with {word!r}, which training then "
                    "never sees: a held-out pair must be a new composition of seen words"
                )


def apply_shift(
    train: Sequence[dict], test: Sequence[dict], shift: Mapping
) -> tuple[list[dict], list[dict], dict[str, list[dict]]]:
    """(train, test, {set: questions}): train without the held-out pairs' images and
    templates (and without images of unknown pair), test in distribution, and each
    shifted set (an empty list of pairs or templates makes none)."""
    check_shift(shift)
    pairs = {tuple(p) for p in shift["pairs"]}
    templates = set(shift["templates"])
    known = image_pairs([*train, *test])

    def shifted(q: Mapping) -> tuple[bool, bool]:
        return known[q["image_id"]] in pairs, parse(q["question"])[0] in templates

    kept = [q for q in train if q["image_id"] in known and shifted(q) == (False, False)]
    by_shift: dict[tuple[bool, bool], list[dict]] = {}
    for q in test:
        if q["image_id"] in known:
            by_shift.setdefault(shifted(q), []).append(q)
    found = {"pairs": by_shift.get((True, False), []), "templates": by_shift.get((False, True), [])}
    names = [name for name in found if shift.get(name)]  # in the tables' order
    sets = {name: found[name] for name in names}
    for name, records in sets.items():
        if not records:
            raise ConfigError(f"dataset.shift.{name}: leaves no test question in its set")
    return kept, by_shift.get((False, False), []), sets
