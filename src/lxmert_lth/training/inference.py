"""Answering questions: a model's answer logits, its predicted answers for a split, its
soft (VQA) accuracy, and the clock of the model's compute time that jobs report.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

import torch

from lxmert_lth.data.loaders import EncodedSplit, batches
from lxmert_lth.models.tasks import task_logits


class ComputeClock:
    """Wall seconds this process spends in model compute: forward and backward passes,
    optimizer steps and prediction. Training jobs log the total, which
    ``bench/bench_embedded.py`` sets against the machine's time; it never enters an
    output (it is not reproducible)."""

    seconds = 0.0

    @classmethod
    @contextlib.contextmanager
    def measure(cls):
        start = time.perf_counter()
        try:
            yield
        finally:
            cls.seconds += time.perf_counter() - start


def answer_logits(model, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The model's answer logits for a batch (its task's answers: the vocabulary's, or
    false and true), through its family's and its task's inputs and outputs."""
    return task_logits(model, batch)


@torch.no_grad()
def predict_indices(model, split: EncodedSplit, batch_size: int) -> torch.Tensor:
    """argmax answer index per question, in split order."""
    model.eval()
    out = []
    for b in batches(split, batch_size):
        with ComputeClock.measure():
            out.append(answer_logits(model, b).argmax(1))
    return torch.cat(out).cpu()


@torch.no_grad()
def soft_accuracy(model, split: EncodedSplit, batch_size: int) -> float:
    """Mean soft score of the predicted answer (= VQA accuracy for in-vocabulary answers)."""
    pred = predict_indices(model, split, batch_size)
    hit = (split.label_idx.cpu() == pred[:, None]).float() * split.label_score.cpu()
    return 100.0 * hit.sum(1).mean().item()
