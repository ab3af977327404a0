"""Stages of ``rules/stability.smk``: are tickets stable? (``docs/method.md``, "Are
tickets stable?"; Frankle et al., ICML 2020.)

A network of the study is trained again twice from its own starting point (theta_0, the
dense network after k steps for the late control, fresh weights for reinit) under its
own mask, each copy with a data-order seed of its own (``stability.orders``); then the
straight line between the two copies is evaluated on the validation split
(:mod:`lxmert_lth.training.connectivity`), and the report says where the error barrier
stays under ``stability.threshold``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import read_json, write_json
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.data.images import open_store
from lxmert_lth.data.loaders import load_split
from lxmert_lth.data.tokenization import load_tokenizer
from lxmert_lth.data.vqa_eval import score_predictions
from lxmert_lth.models.modeling import load_checkpoint
from lxmert_lth.reporting.report import write_table
from lxmert_lth.reporting.stability import plot_barriers, plot_lines, stability_table
from lxmert_lth.runtime.devices import autocast, choose_device, configure_cuda
from lxmert_lth.training.connectivity import evaluate_line
from lxmert_lth.training.inference import predict_indices
from lxmert_lth.workflow.stages.finetuning import (
    FinetuneOutputs,
    JobOptions,
    Scoring,
    StartingPoint,
    TrainingData,
    finetune,
)
from lxmert_lth.workflow.stages.subnetworks import rewind_again

log = logging.getLogger("lxmert_lth")


@dataclass(frozen=True)
class CopyStart:
    """Where a copy starts: theta_0, or the dense network after k steps (``late``) for a
    rewind to step k; a subnetwork's kept ``mask`` is applied to it again, the result
    written to ``rewound`` (its kind's own start: ``subnetworks.rewind_again``)."""

    theta0: str
    late: str | None
    mask: str | None
    rewound: str  # where a subnetwork's start is written (a temporary file)
    enforce: bool = True


def train_copy(
    data: TrainingData,
    start: CopyStart,
    outputs: FinetuneOutputs,
    network: Network,
    order: int,
    recipe: Mapping,
    max_length: int,
    scoring: Scoring,
    options: JobOptions,
) -> None:
    """One copy: ``network``'s starting point trained again with data-order seed
    ``order`` (its own mask enforced), scored as the study's networks are."""
    if network.is_dense:
        point = start.late or start.theta0
        begin = StartingPoint(point)
    else:
        rewind_again(network, start.theta0, start.late, start.mask, start.rewound)
        begin = StartingPoint(start.rewound, start.mask, start.enforce)
    made_from = [*data.files(), start.theta0, *(p for p in (start.late, start.mask) if p)]
    finetune(data, begin, outputs, network, recipe, max_length, scoring, options, made_from,
             order=order)  # fmt: skip


@dataclass(frozen=True)
class LineData:
    """What the line is evaluated on: the validation split and what reads it."""

    val: str
    answers: str
    features: str
    tokenizer: str


def line(
    copies: Sequence[str],
    mask: str | None,
    data: LineData,
    out: str,
    network: Network,
    rewind: str,
    orders: Sequence[int],
    points: int,
    max_length: int,
    rule: str,
    options: JobOptions,
    eval_batch_size: int,
) -> None:
    """The error along the line between the two copies, on the validation split, and
    its barrier. Holds the two copies and the one network the points are loaded into."""
    device = choose_device(options.device)
    precision = configure_cuda(device, options.precision, options.tf32)
    model, meta = load_checkpoint(copies[0])
    other, other_meta = load_checkpoint(copies[1])
    if other_meta.answers != meta.answers:
        raise InputError(f"{copies[1]}: its answers are not those of {copies[0]}")
    a = {k: v.detach().clone().to(device) for k, v in model.state_dict().items()}
    b = {k: v.detach().to(device) for k, v in other.state_dict().items()}
    del other
    model.to(device).eval()
    pruned = None
    if mask is not None:
        keep, _ = Mask.load(mask)
        pruned = {n: torch.from_numpy(~t).to(device) for n, t in keep.tensors.items()}
        for path, state in zip(copies, (a, b), strict=True):
            refuse_pruned_weights(path, state, pruned, mask)
    store = open_store(data.features)
    val = load_split(data.val, load_tokenizer(data.tokenizer), meta.answers, store, max_length,
                     device, options.loading)  # fmt: skip
    ids = val.encoded.question_ids

    def accuracy(net) -> float:
        with autocast(device, precision):
            pred = predict_indices(net, val.encoded, eval_batch_size).tolist()
        answers = {q: meta.answers[i] for q, i in zip(ids, pred, strict=True)}
        return score_predictions(answers, val.questions, rule)["overall"]

    try:
        result = evaluate_line(model, a, b, points, accuracy, pruned)
    except ValueError as err:  # copies that are not two trainings of one network
        raise InputError(f"{copies[0]} and {copies[1]}: {err}") from None
    log.info("%s (%s): barrier %.2f, errors %s", network.name, rewind, result["barrier"],
             [round(e, 2) for e in result["error"]])  # fmt: skip
    write_json(out, {**network.row(), "rewind": rewind, "orders": list(orders), **result})


def refuse_pruned_weights(path: str, state: Mapping, pruned: Mapping, mask: str) -> None:
    """A copy trained under the mask keeps every pruned weight 0; one that does not was
    trained otherwise or changed since."""
    for name, where in pruned.items():
        if state[name][where].any():
            raise InputError(
                f"{path}: {name} holds weights that the mask {mask} prunes (a copy trained "
                "under it keeps them 0): the file was made otherwise or changed since"
            )


def report(
    lines: Sequence[str],
    outputs: Mapping[str, str],
    threshold: float,
    table_sparsity: int,
    dataset: str,
) -> None:
    """The stability table, the error along the lines and the barrier against sparsity."""
    rows = [read_json(p) for p in lines]
    frame = pd.DataFrame(rows)
    table = stability_table(frame, threshold)
    seeds = sorted(frame.seed.unique().tolist())
    caption = (
        f"Linear mode connectivity ({dataset}, validation split): for each network, two "
        "copies trained from its starting point under its mask with different data orders; "
        "the barrier is the highest error (100 - VQA accuracy) on the line between them "
        f"minus the mean of the ends' errors, mean ± sample std over seeds {seeds}; stable: "
        f"the seeds whose barrier is below {threshold:g} points."
    )
    write_table(table, outputs["csv"], outputs["md"], caption, outputs.get("html"))
    title = f"{dataset}: error along the line between two copies, seeds {seeds}"
    plot_lines(frame, table_sparsity, outputs["lines_png"], outputs["lines_pdf"], title)
    title = f"{dataset}: barrier against sparsity (threshold {threshold:g}), seeds {seeds}"
    plot_barriers(frame, threshold, outputs["barrier_png"], outputs["barrier_pdf"], title)
