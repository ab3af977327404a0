"""VQA v2 ingestion: the official JSONs or LXMERT's preprocessed ones -> the workflow's
question format (see :mod:`lxmert_lth.data.questions`), with the original recipe's splits.

* Official files (``docs/method.md``, "Data formats"): ``v2_OpenEnded_mscoco_*_questions.json`` and
  ``v2_mscoco_*_annotations.json``. The answer vocabulary is built as the original
  work did (bottom-up-attention-vqa's ``compute_softscore``, used by LXMERT): every
  question's ``multiple_choice_answer`` is normalised with the official evaluator's
  rules, and the answers occurring at least ``min_count`` (9) times in train + val are
  kept (3,129 on the real data). A question's soft label gives each in-vocabulary answer
  that ``n`` of its 10 annotators gave the score 0.3, 0.6, 0.9 or 1.0 (``n`` = 1, 2, 3,
  >= 4).
* LXMERT's files: ``train.json``, ``nominival.json``, ``minival.json``, ``test.json`` and
  ``trainval_ans2label.json`` / ``trainval_label2ans.json``, used as they are.

Splits, as in the original recipe: train2014 + nominival for training, minival for model
selection and local scores, test2015 (unlabelled) for the EvalAI server. ``minival`` is
the questions of the first ``minival_images`` val2014 images (in the order the questions
file first mentions them), ``nominival`` the rest of val2014.

Image ids become the bottom-up-attention TSVs' ``img_id`` ("COCO_val2014_000000000042"),
so questions find their features by name.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from lxmert_lth.core.errors import InputError, refuse_repeats
from lxmert_lth.core.io import read_json
from lxmert_lth.data.questions import read_answer_list
from lxmert_lth.data.vqa_eval import ANSWER_TYPES, normalize_answer

log = logging.getLogger("lxmert_lth")

# Images of test-dev2015 are test2015 images; the others are their own subtype.
_IMAGE_SUBTYPE = {"test-dev2015": "test2015"}


HUMAN_ANSWERS = 10  # annotators per question in VQA v2


def soft_score(count: int) -> float:
    """Soft score of an answer given by ``count`` of the 10 annotators."""
    if count <= 0:
        return 0.0
    return (0.3, 0.6, 0.9)[count - 1] if count < 4 else 1.0


def coco_image_id(subtype: str, image_id: int) -> str:
    return f"COCO_{_IMAGE_SUBTYPE.get(subtype, subtype)}_{int(image_id):012d}"


def required_field(record: Mapping, key: str, source: str, index: int):
    try:
        return record[key]
    except (KeyError, TypeError):
        raise InputError(f"{source}: record {index} has no key {key!r}") from None


def list_of(doc, key: str, source: str) -> list:
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise InputError(f"{source}: expected a JSON object with a list {key!r}")
    return doc[key]


# --- official files -----------------------------------------------------------------


def read_official_questions(path) -> tuple[str, list[dict]]:
    """(data_subtype, questions) of an official questions JSON."""
    doc = read_json(path)
    questions = list_of(doc, "questions", str(path))
    subtype = doc.get("data_subtype")
    if not isinstance(subtype, str):
        raise InputError(f"{path}: no 'data_subtype' (e.g. 'train2014')")
    for i, q in enumerate(questions):
        for key in ("image_id", "question", "question_id"):
            required_field(q, key, str(path), i)
    refuse_repeats(questions, "question_id", path)
    return subtype, questions


def read_official_annotations(path) -> dict[int, dict]:
    """question_id -> annotation of an official annotations JSON."""
    return annotations_by_id(list_of(read_json(path), "annotations", str(path)), path)


def annotations_by_id(annotations: Sequence, path) -> dict[int, dict]:
    """question_id -> annotation, each record checked: ten human answers, a multiple-choice
    answer, an answer type the evaluator knows, one annotation per question (VQA v2's
    records, and VQA-CP's, which are VQA v2's)."""
    for i, a in enumerate(annotations):
        qid = required_field(a, "question_id", str(path), i)
        answers = required_field(a, "answers", str(path), i)
        if not isinstance(answers, list) or not all(
            isinstance(x, dict) and "answer" in x for x in answers
        ):
            raise InputError(f"{path}: question {qid} has malformed 'answers'")
        if len(answers) != HUMAN_ANSWERS:
            raise InputError(
                f"{path}: question {qid} has {len(answers)} answers; VQA v2 gives every "
                f"question {HUMAN_ANSWERS} (the accuracy leaves one of ten out)"
            )
        required_field(a, "multiple_choice_answer", str(path), i)
        if required_field(a, "answer_type", str(path), i) not in ANSWER_TYPES:
            raise InputError(
                f"{path}: question {qid} has answer_type {a['answer_type']!r}, "
                f"expected one of {ANSWER_TYPES}"
            )
    refuse_repeats(annotations, "question_id", path)
    return {a["question_id"]: a for a in annotations}


def annotation_of(annotations: Mapping[int, dict], question_id, annotations_path, questions_path):
    """A question's annotation, or one line naming both files (VQA v2, VQA-CP, and
    VQA-Rephrasings' files)."""
    a = annotations.get(question_id)
    if a is None:
        raise InputError(
            f"{annotations_path}: no annotation for question {question_id} of {questions_path}"
        )
    return a


def refuse_orphans(annotations: Mapping[int, dict], questions, annotations_path, questions_path):
    """Annotations of no question of the questions file: the two files are of other splits."""
    orphans = sorted(set(annotations) - {q["question_id"] for q in questions})
    if orphans:
        raise InputError(
            f"{annotations_path}: {len(orphans)} annotations are of no question in "
            f"{questions_path} (first: question_id {orphans[0]}); are the two files of the "
            "same split?"
        )


def human_answers(annotation: Mapping, vocab) -> dict:
    """A labelled record's answer fields: its answer type, the ten human answers, and the
    soft label of each in-vocabulary answer (normalised as the evaluator does)."""
    human = [x["answer"] for x in annotation["answers"]]
    counts = Counter(normalize_answer(x) for x in human)
    return {
        "answer_type": annotation["answer_type"],
        "answers": human,
        "label": {ans: soft_score(n) for ans, n in sorted(counts.items()) if ans in vocab},
    }


def official_vocabulary(annotations: Sequence[Mapping[int, dict]], min_count: int) -> list[str]:
    """Normalised multiple-choice answers occurring at least ``min_count`` times, sorted by
    decreasing count then alphabetically (a stable order: index i is output i)."""
    counts = Counter(
        normalize_answer(a["multiple_choice_answer"]) for ann in annotations for a in ann.values()
    )
    kept = [(a, n) for a, n in counts.items() if n >= min_count and a]
    return [a for a, _ in sorted(kept, key=lambda x: (-x[1], x[0]))]


def refuse_empty(answers: Sequence[str], min_count: int, source, splits: str, section: str):
    """No answer occurs ``min_count`` times: said naming the file and the key."""
    if not answers:
        raise InputError(
            f"{source}: no answer occurs {min_count} times in {splits} ({section}.min_answer_count)"
        )


def official_records(
    questions_path, annotations_path=None, answers: Sequence[str] | None = None
) -> list[dict]:
    """Workflow records of one official split; unlabelled without annotations."""
    subtype, questions = read_official_questions(questions_path)
    annotations = read_official_annotations(annotations_path) if annotations_path else None
    vocab = set(answers or ())
    records = []
    for q in questions:
        record = {
            "question_id": q["question_id"],
            "image_id": coco_image_id(subtype, q["image_id"]),
            "question": q["question"],
            "answer_type": None,
            "answers": [],
            "label": {},
        }
        if annotations is not None:
            a = annotation_of(annotations, q["question_id"], annotations_path, questions_path)
            if a["image_id"] != q["image_id"]:
                raise InputError(
                    f"{annotations_path}: question {q['question_id']} is on image "
                    f"{a['image_id']} there but on {q['image_id']} in {questions_path}"
                )
            record.update(human_answers(a, vocab))
        records.append(record)
    if annotations is not None:
        refuse_orphans(annotations, questions, annotations_path, questions_path)
    return records


def split_minival(records: Sequence[dict], minival_images: int) -> tuple[list, list]:
    """(nominival, minival): minival has the first ``minival_images`` images' questions."""
    order = list(dict.fromkeys(q["image_id"] for q in records))
    mini = set(order[:minival_images])
    return (
        [q for q in records if q["image_id"] not in mini],
        [q for q in records if q["image_id"] in mini],
    )


def official_splits(paths: Mapping[str, str], min_answer_count: int, minival_images: int):
    """train (train2014 + nominival), val (minival), test (test2015) and the vocabulary."""
    train_ann = read_official_annotations(paths["train_annotations"])
    val_ann = read_official_annotations(paths["val_annotations"])
    answers = official_vocabulary([train_ann, val_ann], min_answer_count)
    refuse_empty(answers, min_answer_count, paths["train_annotations"], "train + val",
                 "dataset.official")  # fmt: skip
    train = official_records(paths["train_questions"], paths["train_annotations"], answers)
    val = official_records(paths["val_questions"], paths["val_annotations"], answers)
    nominival, minival = split_minival(val, minival_images)
    test = official_records(paths["test_questions"])
    return {"train": train + nominival, "val": minival, "test": test}, answers


# --- LXMERT's preprocessed files --------------------------------------------------------


def lxmert_records(path) -> list[dict]:
    """Workflow records of one of LXMERT's JSON files (``label`` absent: unlabelled)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of LXMERT question records")
    records = []
    for i, d in enumerate(data):
        if not isinstance(d, dict):
            raise InputError(f"{path}: record {i} is not an object")
        labelled = "label" in d
        label = d.get("label", {})
        if not isinstance(label, dict):
            raise InputError(f"{path}: record {i} has a 'label' that is not an object")
        answer_type = d.get("answer_type") if labelled else None
        if labelled and answer_type not in ANSWER_TYPES:
            raise InputError(
                f"{path}: question {d.get('question_id')} has answer_type {answer_type!r}, "
                f"expected one of {ANSWER_TYPES}"
            )
        records.append(
            {
                "question_id": required_field(d, "question_id", str(path), i),
                "image_id": required_field(d, "img_id", str(path), i),
                "question": required_field(d, "sent", str(path), i),
                "answer_type": answer_type,
                # LXMERT's files keep soft labels, not the ten human answers: a labelled
                # question is scored by its label (the same number for in-vocabulary answers).
                "answers": [],
                "label": {str(a): float(s) for a, s in label.items()},
            }
        )
    refuse_repeats(records, "question_id", path)
    return records


def lxmert_vocabulary(ans2label_path, label2ans_path) -> list[str]:
    """The answer list of ``trainval_label2ans.json``, checked against ``ans2label``."""
    label2ans = read_answer_list(label2ans_path)
    ans2label = read_json(ans2label_path)
    if not isinstance(ans2label, dict):
        raise InputError(f"{ans2label_path}: expected a JSON object answer -> index")
    for answer, index in ans2label.items():
        if not isinstance(index, int) or not 0 <= index < len(label2ans):
            raise InputError(f"{ans2label_path}: answer {answer!r} has index {index!r}")
        if label2ans[index] != answer:
            raise InputError(
                f"{ans2label_path}: answer {answer!r} has index {index}, but entry {index} of "
                f"{label2ans_path} is {label2ans[index]!r}"
            )
    return label2ans


def lxmert_splits(paths: Mapping[str, str]):
    answers = lxmert_vocabulary(paths["ans2label"], paths["label2ans"])
    splits = {
        "train": lxmert_records(paths["train"]) + lxmert_records(paths["nominival"]),
        "val": lxmert_records(paths["minival"]),
        "test": lxmert_records(paths["test"]),
    }
    return splits, answers
