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
from dataclasses import dataclass, field

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import read_json, write_json
from lxmert_lth.data.evalai import write_submission
from lxmert_lth.data.questions import load_questions
from lxmert_lth.data.statements import check_records
from lxmert_lth.data.vqa_eval import score_predictions


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
    # Table 1's score columns: a score's key -> its title (the breakdown, then overall),
    # what its numbers are, and what a dash in a column means.
    columns: Mapping[str, str] = field(default_factory=dict)
    metric: str = "accuracy"
    dash: str = ""

    def image_ids(self, record: Mapping) -> list[str]:
        raise NotImplementedError

    def labelled(self, record: Mapping) -> bool:
        """Whether a record has its label (a test split's may not)."""
        raise NotImplementedError

    def check_labelled(self, records, source: str) -> None:
        """Training and validation records need their labels: the first without is named."""
        unlabelled = next((r for r in records if not self.labelled(r)), None)
        if unlabelled is not None:
            raise InputError(
                f"{source}: {self.noun} {unlabelled[self.id_key]} is unlabelled "
                "(training and validation splits must be labelled)"
            )

    def scores(self, record: Mapping) -> Mapping[str, float]:
        """answer -> soft score, the training target and the score of a prediction."""
        raise NotImplementedError

    def read(self, path) -> list[dict]:
        """A file of the task's records in the workflow's format, checked."""
        raise NotImplementedError

    def score(self, predictions: Mapping, records, rule: str) -> dict:
        """Scores x100 of ``predictions`` (record id -> answer) on ``records``: overall,
        its count, and the task's breakdown."""
        raise NotImplementedError

    def write_predictions(self, path, predictions: Mapping, records) -> None:
        """The test split's predictions, one entry per record, checked to cover them."""
        raise NotImplementedError


class Answering(Task):
    def image_ids(self, record):
        return [str(record["image_id"])]

    def labelled(self, record):
        return record.get("answer_type") is not None

    def scores(self, record):
        return record["label"]

    def read(self, path):
        return load_questions(path)

    def score(self, predictions, records, rule):
        """The VQA evaluator's (``data.vqa_eval``), by ``rule``, per answer type."""
        return score_predictions(predictions, records, rule)

    def write_predictions(self, path, predictions, records):
        """An EvalAI submission file (``data.evalai``)."""
        write_submission(path, predictions, [r[self.id_key] for r in records])


class Verification(Task):
    def image_ids(self, record):
        return [str(i) for i in record["image_ids"]]

    def labelled(self, record):
        return record.get("label") is not None

    def scores(self, record):
        label = record["label"]
        return {} if label is None else {self.answers[label]: 1.0}

    def read(self, path):
        records = read_json(path)
        if not isinstance(records, list):
            raise InputError(f"{path}: expected a JSON list of statement records")
        check_records(records, str(path))
        return records

    def score(self, predictions, records, rule):
        """Accuracy (``rule`` aside: a statement is true or false), overall and on the
        true and on the false statements."""
        hits: dict[str, list[bool]] = {answer: [] for answer in self.answers}
        for r in records:
            if r[self.id_key] not in predictions:
                raise ValueError(f"statement {r[self.id_key]} has no prediction")
            truth = self.answers[r["label"]]
            hits[truth].append(predictions[r[self.id_key]] == truth)
        every = [h for answer in self.answers for h in hits[answer]]
        scores = {"overall": _percent(every), "n_overall": len(every)}
        for answer in self.answers:
            scores[answer], scores[f"n_{answer}"] = _percent(hits[answer]), len(hits[answer])
        return scores

    def write_predictions(self, path, predictions, records):
        """[{"statement_id": ..., "answer": "true" or "false"}, ...] in the records' order."""
        ids = [r[self.id_key] for r in records]
        if set(ids) != set(predictions):
            raise ValueError(f"{path}: the predictions are not the test statements'")
        write_json(path, [{self.id_key: i, "answer": predictions[i]} for i in ids])


def _percent(hits: list[bool]) -> float | None:
    return 100.0 * sum(hits) / len(hits) if hits else None


ANSWERING = Answering(
    "answering", "question answering", "question", "question_id", "question", 1,
    columns={"yes/no": "Yes/No", "number": "Number", "other": "Other", "overall": "Overall"},
    metric="VQA accuracy", dash=" A dash: the split has no question of that type.",
)  # fmt: skip
VERIFICATION = Verification(
    "verification", "statement verification", "statement", "statement_id", "sentence", 2,
    answers=("false", "true"), columns={"true": "True", "false": "False", "overall": "Overall"},
)  # fmt: skip
TASKS = {task.name: task for task in (ANSWERING, VERIFICATION)}
DEFAULT = ANSWERING  # runs and checkpoints made before tasks


def params(task: Task) -> dict:
    """A job's ``task`` param: none for the default task (runs made before tasks keep
    their params, so nothing reruns)."""
    return {} if task is DEFAULT else {"task": task.name}


def of_scores(columns) -> Task:
    """The task whose score columns a scores table has."""
    have = set(columns)
    for task in TASKS.values():
        if set(task.columns) <= have:
            return task
    raise InputError(f"scores with columns {sorted(have)} are of no task's")


def of_params(params: Mapping) -> Task:
    """The task of a job's params (``params``' inverse)."""
    return get(params.get("task", DEFAULT.name))


def get(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise InputError(f"task {name!r}: expected one of {sorted(TASKS)}") from None
