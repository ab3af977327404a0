"""Each task's side of a family's model (``data.tasks`` declares the tasks): its class,
its inputs from a batch, its logits from an output, its loss and its head. The training
loop and prediction go through :func:`of_model`; nothing else branches on a task.

* answering: the family's question-answering model; the original LXMERT VQA loss
  (soft-score binary cross-entropy, ``models.losses.qa_loss``).
* verification: the family's model of a statement about two images
  (``models.verification``); cross-entropy over false and true, as the original LXMERT
  code's NLVR2 fine-tuning (``src/tasks/nlvr2.py``: ``nn.CrossEntropyLoss``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from lxmert_lth.data.tasks import ANSWERING, VERIFICATION, Task
from lxmert_lth.models import families
from lxmert_lth.models.losses import qa_loss
from lxmert_lth.models.modeling import load_pretrained, load_theta0
from lxmert_lth.models.verification import verification_model


class TaskModel:
    task: Task

    def model_class(self, family):
        return family.model_class(self.task.name)

    def inputs(self, family, batch: Mapping[str, torch.Tensor]) -> dict:
        raise NotImplementedError

    def logits(self, family, output) -> torch.Tensor:
        return output.logits

    def loss(self, logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def head_name(self, family) -> str:
        raise NotImplementedError

    def theta0(self, pretrained, answers, seed: int, answer_head: str, family: str | None):
        """theta_0 of a seed: the pretrained encoder and the task's head for ``answers``."""
        raise NotImplementedError


class AnsweringModel(TaskModel):
    task = ANSWERING

    def inputs(self, family, batch):
        return family.inputs(batch)

    def logits(self, family, output):
        return family.logits(output)

    def loss(self, logits, batch):
        return qa_loss(logits, batch)

    def head_name(self, family):
        return family.answer_head_name

    def theta0(self, pretrained, answers, seed, answer_head, family):
        return load_theta0(pretrained, answers, seed, answer_head, family=family)


class VerificationModel(TaskModel):
    task = VERIFICATION

    def inputs(self, family, batch):
        return family.verification_inputs(batch)

    def loss(self, logits, batch):
        return F.cross_entropy(logits, batch["label_idx"][:, 0])

    def head_name(self, family):
        return family.verification_head_name

    def theta0(self, pretrained, answers, seed, answer_head, family):
        """The user's (or the embedded default's) pretrained encoder with a head drawn from
        ``seed``, the global torch stream left as it was (``answer_head`` is random: the
        checks refuse copy_pretrained)."""
        source = load_pretrained(pretrained, family=family)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return verification_model(families.get(family), source)


MODELS = {m.task.name: m for m in (AnsweringModel(), VerificationModel())}


def of_model(model) -> TaskModel:
    """The task a model is built for, by its class within its family."""
    return MODELS[families.of_model(model).task_of(model)]


def task_logits(model, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The model's logits for a batch, through its family's and its task's inputs and
    outputs."""
    family, task_model = families.of_model(model), of_model(model)
    return task_model.logits(family, model(**task_model.inputs(family, batch)))
