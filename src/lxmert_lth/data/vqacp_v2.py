"""VQA-CP v2 (Agrawal et al., CVPR 2018, "Don't Just Assume; Look and Answer"): VQA v2's
labelled questions re-split so that, for every question type, the answers' distribution
differs between train and test: a model that learns the training priors fails its test.

The release's four JSON files, each a top-level list (not an object as VQA v2's are):

* ``vqacp_v2_{train,test}_questions.json``: ``{"image_id", "question", "question_id",
  "coco_split"}``, where ``coco_split`` ("train2014" or "val2014") names the COCO folder
  (and bottom-up-attention TSV) that holds the image;
* ``vqacp_v2_{train,test}_annotations.json``: VQA v2's annotation records (``answers``:
  ten human answers, ``multiple_choice_answer``, ``answer_type``, ``question_type``) with
  ``coco_split`` beside them.

The splits: VQA-CP has no validation split, and selecting a model on its test split would
leak the shifted priors into it; ``val`` is held out of VQA-CP train by image (seeded), the
rest is ``train``, and ``test`` is VQA-CP test, labelled and scored locally by answer type
as its papers report it. The answer vocabulary is built as for VQA v2
(:func:`lxmert_lth.data.vqa_v2.official_vocabulary`: normalised multiple-choice answers
seen at least ``min_answer_count`` times, here over train and test, the same questions as
VQA v2's train and val); soft labels as for VQA v2.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import InputError, refuse_repeats
from lxmert_lth.core.io import read_json
from lxmert_lth.data.questions import hold_out_images
from lxmert_lth.data.vqa_v2 import (
    annotation_of,
    annotations_by_id,
    coco_image_id,
    human_answers,
    official_vocabulary,
    refuse_empty,
    refuse_orphans,
)

COCO_SPLITS = ("train2014", "val2014")
QUESTION_KEYS = ("image_id", "question", "question_id", "coco_split")
ANNOTATION_KEYS = (
    "question_id", "image_id", "coco_split", "answer_type", "multiple_choice_answer", "answers",
)  # fmt: skip


def _records(path, keys: tuple[str, ...]) -> list[dict]:
    """A VQA-CP file's records, each checked for ``keys`` and its ``coco_split``."""
    doc = read_json(path)
    if not isinstance(doc, list):
        what = "an object" if isinstance(doc, dict) else type(doc).__name__
        raise InputError(
            f"{path}: expected a JSON list of VQA-CP records, found {what} (a VQA v2 file? "
            "set dataset.name: vqa_v2 for those)"
        )
    for i, record in enumerate(doc):
        if not isinstance(record, dict):
            raise InputError(f"{path}: record {i} is not an object")
        missing = [k for k in keys if k not in record]
        if missing:
            raise InputError(f"{path}: record {i} has no key {missing[0]!r}")
        if record["coco_split"] not in COCO_SPLITS:
            raise InputError(
                f"{path}: record {i} (question {record['question_id']}) has coco_split "
                f"{record['coco_split']!r}, expected one of {COCO_SPLITS}"
            )
    refuse_repeats(doc, "question_id", path)
    return doc


def read_questions(path) -> list[dict]:
    return _records(path, QUESTION_KEYS)


def read_annotations(path) -> dict[int, dict]:
    """question_id -> annotation, checked as VQA v2's."""
    return annotations_by_id(_records(path, ANNOTATION_KEYS), path)


def records(questions_path, annotations: Mapping[int, dict], annotations_path, answers) -> list:
    """Workflow records of one VQA-CP split (labelled)."""
    vocab = set(answers)
    out = []
    for q in read_questions(questions_path):
        a = annotation_of(annotations, q["question_id"], annotations_path, questions_path)
        if (a["image_id"], a["coco_split"]) != (q["image_id"], q["coco_split"]):
            raise InputError(
                f"{annotations_path}: question {q['question_id']} is on {a['coco_split']} "
                f"image {a['image_id']} there but on {q['coco_split']} image {q['image_id']} "
                f"in {questions_path}"
            )
        out.append(
            {
                "question_id": q["question_id"],
                "image_id": coco_image_id(q["coco_split"], q["image_id"]),
                "question": q["question"],
                **human_answers(a, vocab),
            }
        )
    refuse_orphans(annotations, out, annotations_path, questions_path)
    return out


def splits(paths: Mapping[str, str], min_answer_count: int, val_fraction: float, seed: int):
    """train (VQA-CP train less the held-out images), val (those images), test (VQA-CP
    test), and the answer vocabulary."""
    train_ann = read_annotations(paths["train_annotations"])
    test_ann = read_annotations(paths["test_annotations"])
    answers = official_vocabulary([train_ann, test_ann], min_answer_count)
    refuse_empty(answers, min_answer_count, paths["train_annotations"], "train + test",
                 "dataset.vqacp")  # fmt: skip
    train = records(paths["train_questions"], train_ann, paths["train_annotations"], answers)
    test = records(paths["test_questions"], test_ann, paths["test_annotations"], answers)
    train, val = hold_out_images(train, val_fraction, seed)
    return {"train": train, "val": val, "test": test}, answers
