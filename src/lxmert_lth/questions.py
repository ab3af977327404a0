"""The workflow's question format, the answer vocabulary, and easy-VQA ingestion.

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

from .io import InputError, read_json
from .vqa_eval import ANSWER_TYPES

REQUIRED_KEYS = ("question_id", "image_id", "question", "answer_type", "answers", "label")
YES_NO = {"yes", "no"}


def validate_questions(records: Sequence[Mapping], source: str) -> None:
    """Stop with a message naming the file and record when a record is malformed."""
    seen = set()
    for i, q in enumerate(records):
        missing = [k for k in REQUIRED_KEYS if k not in q]
        if missing:
            raise InputError(f"{source}: record {i} has no key {missing[0]!r}")
        if q["answer_type"] is not None and q["answer_type"] not in ANSWER_TYPES:
            raise InputError(
                f"{source}: question {q['question_id']} has answer_type "
                f"{q['answer_type']!r}, expected one of {ANSWER_TYPES}"
            )
        if q["question_id"] in seen:
            raise InputError(f"{source}: question_id {q['question_id']} appears twice")
        seen.add(q["question_id"])


def load_questions(path) -> list[dict]:
    records = read_json(path)
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of question records")
    validate_questions(records, str(path))
    return records


def load_answers(path) -> list[str]:
    vocab = read_json(path)
    if not isinstance(vocab, dict) or not isinstance(vocab.get("answers"), list):
        raise InputError(f"{path}: expected {{'answers': [...]}}")
    return vocab["answers"]


def build_answer_vocab(records: Iterable[Mapping], min_count: int = 1) -> list[str]:
    """Answers whose soft label appears in at least ``min_count`` questions, sorted."""
    counts = Counter(a for q in records for a in q["label"])
    return sorted(a for a, n in counts.items() if n >= min_count)


# --- easy-VQA ---------------------------------------------------------------------


def _import_easy_vqa():
    try:
        import easy_vqa
    except ImportError:
        raise InputError(
            "the embedded default needs the 'easy-vqa' package: pip install easy-vqa==1.0"
        ) from None
    return easy_vqa


def easy_vqa_image_id(split: str, index: int) -> str:
    return f"easyvqa_{split}_{index:06d}"


def _easy_vqa_records(split: str, qid_offset: int) -> list[dict]:
    ev = _import_easy_vqa()
    texts, answers, image_ids = (
        ev.get_train_questions() if split == "train" else ev.get_test_questions()
    )
    records = []
    for i, (text, answer, image) in enumerate(zip(texts, answers, image_ids, strict=True)):
        records.append(
            {
                "question_id": qid_offset + i,
                "image_id": easy_vqa_image_id(split, image),
                "question": text,
                "answer_type": "yes/no" if answer in YES_NO else "other",
                # easy-VQA has one ground-truth answer; the evaluator's ten human answers
                # are that answer ten times, so its accuracy is 1 or 0.
                "answers": [answer] * 10,
                "label": {answer: 1.0},
            }
        )
    return records


def subsample(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    if limit is None or limit >= len(records):
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in keep]


def easy_vqa_splits(
    val_fraction: float, split_seed: int, max_questions: Mapping[str, int | None] | None = None
) -> dict[str, list[dict]]:
    """train / val / pretrain / test question lists from the easy-VQA package.

    ``val`` takes ``val_fraction`` of the training *images* (chosen by a seeded
    permutation, so by image and deterministically); ``train`` has the other training
    images. The package's test split is the reported evaluation split, never seen by
    pre-training or model selection. ``pretrain`` is the full ``train`` list.
    """
    train_all = _easy_vqa_records("train", 0)
    test = _easy_vqa_records("test", 10_000_000)
    images = sorted({q["image_id"] for q in train_all})
    random.Random(split_seed).shuffle(images)
    val_images = set(images[: round(val_fraction * len(images))])
    train = [q for q in train_all if q["image_id"] not in val_images]
    val = [q for q in train_all if q["image_id"] in val_images]
    limits = dict(max_questions or {})
    splits = {
        "train": subsample(train, limits.get("train"), split_seed),
        "val": subsample(val, limits.get("val"), split_seed),
        "test": subsample(test, limits.get("test"), split_seed),
    }
    splits["pretrain"] = subsample(train, limits.get("pretrain"), split_seed + 1)
    return splits


def easy_vqa_images() -> dict[str, str]:
    """image_id -> PNG path for every easy-VQA image (train and test)."""
    ev = _import_easy_vqa()
    paths = {}
    for split, table in (
        ("train", ev.get_train_image_paths()),
        ("test", ev.get_test_image_paths()),
    ):
        for index, path in table.items():
            paths[easy_vqa_image_id(split, index)] = path
    return dict(sorted(paths.items()))
