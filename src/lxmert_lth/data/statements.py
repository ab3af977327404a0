"""Statement verification: a statement about a pair of images, true or false (NLVR2's
form; Suhr et al., 2019). The workflow's record of one, whatever its source::

    {"statement_id": "easyvqa_test_statement_0000012", "image_ids": ["left id", "right id"],
     "sentence": "both images show a circle.", "label": 1}

``statement_id`` is a string (NLVR2's ``uid``); ``label`` is 1 for true and 0 for false,
as in LXMERT's preprocessed NLVR2 files, and None where a split is unlabelled; the score
of a prediction is whether it equals the label (accuracy). This module holds the
format's check (one home for what a record must be) and the embedded default's
generator: statements about pairs of easy-VQA images, their labels read from each image's
shape and colour (:func:`lxmert_lth.data.easyvqa_shift.image_pairs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lxmert_lth.core.errors import InputError, refuse_repeats
from lxmert_lth.data.easyvqa_shift import COLOURS, SHAPES

Attributes = tuple[str, str]  # (shape, colour)


@dataclass(frozen=True)
class Template:
    """One form of statement: its text with an optional {shape} or {color} slot, and
    whether it holds of a (left, right) pair of images for a slot value."""

    text: str
    holds: Callable[[Attributes, Attributes, str | None], bool]

    @property
    def slot(self) -> str | None:
        return "shape" if "{shape}" in self.text else "color" if "{color}" in self.text else None

    def values(self) -> Sequence[str | None]:
        return {"shape": SHAPES, "color": COLOURS, None: (None,)}[self.slot]

    def sentence(self, value: str | None) -> str:
        return self.text.format(**({self.slot: value} if self.slot else {}))


def _shape(a: Attributes, value) -> bool:
    return a[0] == value


def _colour(a: Attributes, value) -> bool:
    return a[1] == value


# The embedded default's statement forms, each true or false of a pair depending on the
# images' attributes (and the slot's value): about one image, both, exactly one, or how
# the two compare.
TEMPLATES = (
    Template("the left image shows a {shape}.", lambda a, b, v: _shape(a, v)),
    Template("the right image shows a {shape}.", lambda a, b, v: _shape(b, v)),
    Template("the left shape is {color}.", lambda a, b, v: _colour(a, v)),
    Template("the right shape is {color}.", lambda a, b, v: _colour(b, v)),
    Template("both images show a {shape}.", lambda a, b, v: _shape(a, v) and _shape(b, v)),
    Template("both shapes are {color}.", lambda a, b, v: _colour(a, v) and _colour(b, v)),
    Template("exactly one image shows a {shape}.", lambda a, b, v: _shape(a, v) != _shape(b, v)),
    Template("exactly one shape is {color}.", lambda a, b, v: _colour(a, v) != _colour(b, v)),
    Template("the two images show the same shape.", lambda a, b, v: a[0] == b[0]),
    Template("the two shapes are the same color.", lambda a, b, v: a[1] == b[1]),
)


def label_of(template: Template, left: Attributes, right: Attributes, value) -> int:
    return int(template.holds(left, right, value))


def _values(template: Template, left: Attributes, right: Attributes, target: int) -> list:
    return [v for v in template.values() if label_of(template, left, right, v) == target]


MAX_DRAWS = 10_000  # pairs drawn for one statement before giving up (a degenerate image set)


def generate(images: Mapping[str, Attributes], count: int, seed: int, prefix: str) -> list[dict]:
    """``count`` statements about pairs of two different ``images`` (image id -> (shape,
    colour)). Each template takes an equal share of the statements and each template's
    statements are half true (a seeded permutation assigns both), so neither the words
    nor the form tell the label; for each statement, pairs are drawn until one has a slot
    value that gives its label, and the value is drawn among those that do. All draws
    from the seed: the same arguments, the same statements."""
    if len(images) < 2:
        raise InputError(f"statement pairs need two images or more, {len(images)} given")
    ids = sorted(images)
    rng = np.random.default_rng(seed)
    order = rng.permutation(count)
    records = []
    for k, n in enumerate(order.tolist()):
        template, target = TEMPLATES[n % len(TEMPLATES)], n // len(TEMPLATES) % 2
        for _ in range(MAX_DRAWS):
            left, right = rng.choice(len(ids), size=2, replace=False).tolist()
            values = _values(template, images[ids[left]], images[ids[right]], target)
            if values:
                break
        else:
            raise InputError(
                f"no pair of the {len(ids)} images makes {template.text!r} "
                f"{'true' if target else 'false'}"
            )
        records.append(
            {
                "statement_id": f"{prefix}{k:07d}",
                "image_ids": [ids[left], ids[right]],
                "sentence": template.sentence(values[int(rng.integers(len(values)))]),
                "label": target,
            }
        )
    return records


KEYS = {"statement_id": str, "image_ids": list, "sentence": str, "label": int}
_NAMES = {int: "an integer", list: "a list", str: "a string"}


def check_records(records: Sequence[Mapping], where: str) -> None:
    """Every record in the workflow's statement format: its keys and their types, two
    image ids, a label 0 or 1 (or None: unlabelled), no statement id twice; ``where``
    names the file in the message."""
    for i, r in enumerate(records):
        for key, kind in KEYS.items():
            if key == "label" and r.get(key, 0) is None:
                continue
            if not isinstance(r.get(key), kind) or isinstance(r.get(key), bool):
                raise InputError(f"{where}: record {i}: {key!r} must be {_NAMES[kind]}")
        if len(r["image_ids"]) != 2 or not all(isinstance(x, str) for x in r["image_ids"]):
            raise InputError(f"{where}: record {i}: 'image_ids' must be two image ids")
        if r["label"] not in (0, 1, None):
            raise InputError(f"{where}: record {i}: 'label' must be 0 or 1, not {r['label']}")
    refuse_repeats(records, "statement_id", where)
