"""What the workflow knows of a task, declared in one object (:class:`Task`): the format
of its records, the text and images of one, its labels as answer scores, and the answers
when the task fixes them. The loaders, the scoring and the models' task seam
(``lxmert_lth.models.tasks``) read it; nothing else branches on a task's name.

* ``answering``: a question about one image, answered from the dataset's vocabulary and
  scored by its soft label (VQA v2, VQA-CP, GQA, easy-VQA): ``data.questions``' records.
* ``verification``: a statement about two images, true or false, scored by accuracy
  (NLVR2, easy-VQA's statements): ``data.statements``' records, whose label 0 or 1 is the
  index of the answer "false" or "true".

No torch at import: the Snakefile's parse reads these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import read_json
from lxmert_lth.data.questions import load_questions
from lxmert_lth.data.statements import check_records


@dataclass(frozen=True)
class Task:
    name: str
    label: str
    noun: str  # what a record is called in messages
    id_key: str
    text_key: str
    images_per_sample: int
    # The answers the task fixes (the model's outputs in order), or None: the dataset's.
    answers: tuple[str, ...] | None = None

    def image_ids(self, record: Mapping) -> list[str]:
        raise NotImplementedError

    def scores(self, record: Mapping) -> Mapping[str, float]:
        """answer -> soft score, the training target and the score of a prediction."""
        raise NotImplementedError

    def read(self, path) -> list[dict]:
        """A file of the task's records in the workflow's format, checked."""
        raise NotImplementedError


class Answering(Task):
    def image_ids(self, record):
        return [str(record["image_id"])]

    def scores(self, record):
        return record["label"]

    def read(self, path):
        return load_questions(path)


class Verification(Task):
    def image_ids(self, record):
        return [str(i) for i in record["image_ids"]]

    def scores(self, record):
        label = record["label"]
        return {} if label is None else {self.answers[label]: 1.0}

    def read(self, path):
        records = read_json(path)
        if not isinstance(records, list):
            raise InputError(f"{path}: expected a JSON list of statement records")
        check_records(records, str(path))
        return records


ANSWERING = Answering("answering", "question answering", "question", "question_id", "question", 1)
VERIFICATION = Verification(
    "verification", "statement verification", "statement", "statement_id", "sentence", 2,
    answers=("false", "true"),
)  # fmt: skip
TASKS = {task.name: task for task in (ANSWERING, VERIFICATION)}


def get(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise InputError(f"task {name!r}: expected one of {sorted(TASKS)}") from None
