"""GQA and NLVR2 in the files of the original LXMERT code (airsplay/lxmert, its
``data/gqa`` and ``data/nlvr2`` folders), read into the workflow's formats.

GQA (Hudson and Manning, 2019), a question-answering task: ``train.json``, ``valid.json``,
``testdev.json``, each a JSON list of ::

    {"img_id": "2375429", "question_id": "07333408", "sent": "What is on the white wall?",
     "label": {"pipe": 1.0}}

with ``trainval_ans2label.json`` and ``trainval_label2ans.json`` for the answers, and
bottom-up features of Visual Genome's images (``vg_gqa_obj36.tsv``, testdev's in
``gqa_testdev_obj36.tsv``). A prediction scores its answer's value in ``label`` (1.0 for
the one answer a GQA question has): exact match, as LXMERT's GQA evaluator counts it.
GQA has no VQA answer types: a question whose answer is yes or no is ``yes/no`` (GQA's
binary questions), the rest ``other``, so tables break accuracy down as for VQA.

NLVR2 (Suhr et al., 2019), statement verification over two images: ``train.json``,
``valid.json`` (dev), ``test.json`` (test-P), each a JSON list of ::

    {"identifier": "train-10171-0-0", "img0": "train-10171-0-img0",
     "img1": "train-10171-0-img1", "sent": "An image shows one leather pencil case.",
     "label": 0, "uid": "nlvr2_train_0"}

with features per split (``train_obj36.tsv``, ``valid_obj36.tsv``, ``test_obj36.tsv``).
Records become :mod:`lxmert_lth.data.statements`'s format, keyed by ``uid``; a
prediction scores 1 when it equals the label (accuracy, as LXMERT's NLVR2 evaluator).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import InputError, refuse_repeats
from lxmert_lth.core.io import read_json
from lxmert_lth.data import statements, tasks
from lxmert_lth.data.vqa_v2 import lxmert_vocabulary

YES_NO = {"yes", "no"}


def _records(path) -> list:
    doc = read_json(path)
    if not isinstance(doc, list):
        raise InputError(f"{path}: expected a JSON list of LXMERT's records")
    for i, d in enumerate(doc):
        if not isinstance(d, dict):
            raise InputError(f"{path}: record {i} is not an object")
    return doc


def _field(record, key: str, kind: type, path, index: int):
    if key not in record:
        raise InputError(f"{path}: record {index} has no key {key!r}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise InputError(f"{path}: record {index}: {key!r} is {value!r}, not a {kind.__name__}")
    return value


def _scores(label) -> bool:
    """An answer -> score mapping of numbers."""
    if not isinstance(label, dict):
        return False
    return all(isinstance(s, int | float) and not isinstance(s, bool) for s in label.values())


def gqa_records(path) -> list[dict]:
    """The workflow's question records of one of LXMERT's GQA files (no ``label``:
    unlabelled, as a submission split)."""
    records = []
    for i, d in enumerate(_records(path)):
        label = d.get("label")
        if label is not None and not _scores(label):
            raise InputError(f"{path}: record {i}: 'label' must map answers to scores")
        answer_type = None
        if label is not None:
            answer_type = "yes/no" if label and set(label) <= YES_NO else "other"
        records.append(
            {
                "question_id": _field(d, "question_id", str, path, i),
                "image_id": _field(d, "img_id", str, path, i),
                "question": _field(d, "sent", str, path, i),
                "answer_type": answer_type,
                "answers": [],  # scored by its label, as LXMERT's evaluator
                "label": {str(a): float(s) for a, s in (label or {}).items()},
            }
        )
    refuse_repeats(records, "question_id", path)
    return records


def nlvr2_records(path) -> list[dict]:
    """The workflow's statement records of one of LXMERT's NLVR2 files."""
    records = []
    for i, d in enumerate(_records(path)):
        label = d.get("label")
        if label is not None and label not in (0, 1) or isinstance(label, bool):
            raise InputError(f"{path}: record {i}: 'label' is {label!r}, not 0 or 1")
        records.append(
            {
                "statement_id": _field(d, "uid", str, path, i),
                "image_ids": [_field(d, key, str, path, i) for key in ("img0", "img1")],
                "sentence": _field(d, "sent", str, path, i),
                "label": label,
                "identifier": _field(d, "identifier", str, path, i),
            }
        )
    statements.check_records(records, str(path))
    return records


def gqa_splits(spec: Mapping[str, str]) -> tuple[dict[str, list], list]:
    """The paper configuration's GQA (``dataset.gqa``): LXMERT's ``train`` trained on,
    ``valid`` for model selection, ``testdev`` scored locally (labelled); the answers of
    its ``trainval_ans2label.json`` / ``trainval_label2ans.json``."""
    answers = lxmert_vocabulary(spec["ans2label"], spec["label2ans"])
    return _splits(spec, gqa_records, "testdev", "question_id"), answers


def nlvr2_splits(spec: Mapping[str, str]) -> tuple[dict[str, list], list]:
    """The paper configuration's NLVR2 (``dataset.nlvr2``): ``train`` trained on,
    ``valid`` (dev) for model selection, ``test`` (test-P) scored locally; the answers
    are the task's own (false, true)."""
    return _splits(spec, nlvr2_records, "test", "statement_id"), list(tasks.VERIFICATION.answers)


def _splits(spec: Mapping[str, str], reader, test: str, key: str) -> dict[str, list]:
    """train, val and test read from ``spec``'s train, valid and ``test`` files."""
    names = {"train": "train", "val": "valid", "test": test}
    splits = {split: reader(spec[name]) for split, name in names.items()}
    _refuse_shared_ids(splits, key, names, spec)
    return splits


def _refuse_shared_ids(splits: Mapping[str, list], key: str, names: Mapping[str, str],
                      spec: Mapping[str, str]) -> None:  # fmt: skip
    """A record id in two splits (a file named twice, or the wrong file) is refused;
    ``names``: each split's key in ``spec``."""
    seen: dict[str, str] = {}
    for split, records in splits.items():
        for r in records:
            other = seen.setdefault(r[key], split)
            if other != split:
                raise InputError(
                    f"{spec[names[split]]} (the {names[split]} file): {key} {r[key]!r} is also "
                    f"in the {names[other]} file, {spec[names[other]]} (each split's is its own)"
                )
