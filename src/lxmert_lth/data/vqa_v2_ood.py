"""Evaluation-only subsets of VQA v2 val (``dataset.ood``), scored on their minival
questions by every training job beside minival (``docs/method.md``, "Do tickets
generalize?"). Only minival is scored: nominival is trained on.

* **VQA-CE** (Dancette et al., ICCV 2021, "Beyond Question-Based Biases"; the files
  ``counterexamples.json`` and ``easy.json`` that cdancette/detect-shortcuts' ``vqa.py``
  writes, at commit 1a3ca98): each a JSON list of VQA v2 val question ids. A
  counterexample is a question that shortcut rules (question words and detected objects
  -> answer) match and all answer wrongly; an easy one has a matching rule that answers
  right. The subset is the minival questions among the ids, scored as minival is.
* **VQA-Rephrasings** (Shah et al., CVPR 2019; ``v2_OpenEnded_mscoco_valrep2014_humans_og_
  {questions,annotations}.json``): VQA v2's questions object (``{"questions": [...]}``)
  and annotations object (``{"annotations": [...]}``, VQA v2's records), holding val
  questions and three human rephrasings of each; a rephrasing has its own question_id
  and names its original by ``rephrasing_of``, the original has none (as the loaders of
  yashkant/concat-vqa and of public preprocessing scripts read them). The set is every
  group (an original and its rephrasings) whose original is a minival question; each
  record carries its ``group`` (the original's id) for the consistency score
  (``vqa_eval.consistency``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lxmert_lth.core.errors import InputError, Once, refuse_repeats
from lxmert_lth.core.io import read_json
from lxmert_lth.data.vqa_v2 import (
    annotation_of,
    coco_image_id,
    human_answers,
    list_of,
    read_official_annotations,
    refuse_orphans,
    required_field,
)

log = logging.getLogger("lxmert_lth")


def vqace_subset(path, scored: Sequence[dict]) -> list[dict]:
    """The ``scored`` (minival) questions among a VQA-CE id list, in minival's order."""
    ids = read_json(path)
    if not isinstance(ids, list):
        raise InputError(f"{path}: expected a JSON list of VQA v2 question ids (VQA-CE's format)")
    once = Once(path, "question id")
    for i, qid in enumerate(ids):
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise InputError(f"{path}: record {i} is {qid!r}, not a question id")
        once.add(qid, f"record {i}")
    wanted = set(ids)
    subset = [q for q in scored if q["question_id"] in wanted]
    if not subset:
        raise InputError(
            f"{path}: none of its {len(ids)} question ids is a minival question (are they "
            "VQA v2 val ids?)"
        )
    log.info("%s: %d of its %d questions are minival questions", path, len(subset), len(ids))
    return subset


def rephrasings(
    questions_path, annotations_path, scored: Sequence[dict], answers: Sequence[str]
) -> list[dict]:
    """The groups of VQA-Rephrasings whose original is a ``scored`` (minival) question,
    as labelled records with their ``group``."""
    questions = list_of(read_json(questions_path), "questions", str(questions_path))
    annotations = read_official_annotations(annotations_path)
    for i, q in enumerate(questions):
        for key in ("image_id", "question", "question_id"):
            required_field(q, key, str(questions_path), i)
    refuse_repeats(questions, "question_id", questions_path)
    by_id = {q["question_id"]: q for q in questions}
    minival = {q["question_id"] for q in scored}
    vocab = set(answers)
    records = []
    refuse_orphans(annotations, questions, annotations_path, questions_path)
    for i, q in enumerate(questions):
        group = q.get("rephrasing_of", q["question_id"])
        if type(group) is not type(q["question_id"]):
            raise InputError(
                f"{questions_path}: record {i} (question {q['question_id']}) has rephrasing_of "
                f"{group!r} of type {type(group).__name__}, not a question id (of type "
                f"{type(q['question_id']).__name__}, as question_id)"
            )
        original = by_id.get(group)
        if original is None or ("rephrasing_of" in original and group != q["question_id"]):
            raise InputError(
                f"{questions_path}: record {i} (question {q['question_id']}) rephrases "
                f"question {group}, which is not an original question of the file"
            )
        if original["image_id"] != q["image_id"]:
            raise InputError(
                f"{questions_path}: record {i} (question {q['question_id']}) is on image "
                f"{q['image_id']}, its original {group} on {original['image_id']}"
            )
        if group not in minival:
            continue
        a = annotation_of(annotations, q["question_id"], annotations_path, questions_path)
        records.append(
            {
                "question_id": q["question_id"],
                "image_id": coco_image_id("val2014", q["image_id"]),
                "question": q["question"],
                **human_answers(a, vocab),
                "group": group,
            }
        )
    if not records:
        raise InputError(
            f"{questions_path}: none of its {len(questions)} questions rephrases a minival "
            "question (is it VQA-Rephrasings' val file?)"
        )
    groups = len({r["group"] for r in records})
    log.info("%s: %d questions in %d minival groups", questions_path, len(records), groups)
    return records
