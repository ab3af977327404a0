"""The workflow's question format and answer lists (every dataset is converted to them).

A question file is a JSON list of records::

    {"question_id": 17, "image_id": "easyvqa_train_000004", "question": "what color ...?",
     "answer_type": "other", "answers": ["red", ... 10 human answers],
     "label": {"red": 1.0}}

``answers`` are the human answers the official evaluator scores against; ``label`` maps
answers to soft scores (VQA: 0.3/0.6/0.9/1.0 for 1/2/3/>=4 annotators) and is the training
target. Unlabelled questions (VQA test2015) have ``answer_type`` null and empty ``answers``
and ``label``; labelled ones from LXMERT's files have a ``label`` but no ``answers`` (they
are scored by their label).

The answer vocabulary file is ``{"answers": [...]}``: index ``i`` is the model's output ``i``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from lxmert_lth.core.errors import InputError, refuse_repeats
from lxmert_lth.core.io import read_json
from lxmert_lth.data.vqa_eval import ANSWER_TYPES

REQUIRED_KEYS = ("question_id", "image_id", "question", "answer_type", "answers", "label")


def validate_questions(records: Sequence[Mapping], source: str) -> None:
    """Stop with a message naming the file and record when a record is malformed."""
    for i, q in enumerate(records):
        missing = [k for k in REQUIRED_KEYS if k not in q]
        if missing:
            raise InputError(f"{source}: record {i} has no key {missing[0]!r}")
        if q["answer_type"] is not None and q["answer_type"] not in ANSWER_TYPES:
            raise InputError(
                f"{source}: question {q['question_id']} has answer_type "
                f"{q['answer_type']!r}, expected one of {ANSWER_TYPES}"
            )
    refuse_repeats(records, "question_id", source)


def load_questions(path) -> list[dict]:
    records = read_json(path)
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of question records")
    validate_questions(records, str(path))
    return records


def read_answer_list(path) -> list[str]:
    """An answer list, index ``i`` being output ``i``: the workflow's ``{"answers": [...]}``,
    a plain JSON list of strings (``trainval_label2ans.json``, the pretrained head's list),
    or LXMERT's ``all_ans.json`` (a list of ``{"ans": ...}``)."""
    doc = read_json(path)
    if isinstance(doc, dict) and "answers" in doc:
        doc = doc["answers"]
    if isinstance(doc, list) and doc and all(isinstance(a, dict) and "ans" in a for a in doc):
        doc = [a["ans"] for a in doc]
    if not isinstance(doc, list) or not all(isinstance(a, str) for a in doc):
        raise InputError(
            f"{path}: expected an answer list ({{'answers': [...]}} or a JSON list of strings)"
        )
    return doc


def build_answer_vocab(records: Iterable[Mapping], min_count: int = 1) -> list[str]:
    """Answers whose soft label appears in at least ``min_count`` questions, sorted."""
    counts = Counter(a for q in records for a in q["label"])
    return sorted(a for a, n in counts.items() if n >= min_count)


def hold_out_images(records: list[dict], fraction: float, seed: int) -> tuple[list, list]:
    """(kept, held out): ``fraction`` of the records' images, drawn by a seeded permutation
    of their sorted ids, held out with all their questions (a validation split by image)."""
    images = sorted({q["image_id"] for q in records})
    random.Random(seed).shuffle(images)
    held = set(images[: round(fraction * len(images))])
    return (
        [q for q in records if q["image_id"] not in held],
        [q for q in records if q["image_id"] in held],
    )


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or limit >= len(records):
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in keep]
