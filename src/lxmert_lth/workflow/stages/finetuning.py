"""Stage of ``rules/finetuning.smk``: fine-tune theta_0 (the dense network) or retrain a
rewound subnetwork with its mask enforced, then predict, score and write its files.

:func:`finetune` is four named steps: prepare the network (checkpoint, mask, enforcer),
encode the splits, train, and predict, score and write.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import torch

from lxmert_lth.core.checkpoints import CheckpointMeta
from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import write_json
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.core.schema import non_default
from lxmert_lth.data import tasks
from lxmert_lth.data.images import open_store
from lxmert_lth.data.loaders import Loading, QuestionSplit, load_split
from lxmert_lth.data.questions import read_answer_list
from lxmert_lth.data.tasks import Task
from lxmert_lth.data.tokenization import load_tokenizer
from lxmert_lth.data.vqa_eval import consistency, score_predictions
from lxmert_lth.models import tasks as task_models
from lxmert_lth.models.modeling import load_checkpoint, num_parameters, save_checkpoint
from lxmert_lth.pruning.enforcement import MaskEnforcer, prunable_parameter_names
from lxmert_lth.runtime.devices import autocast, choose_device, configure_cuda
from lxmert_lth.training.inference import ComputeClock, predict_indices
from lxmert_lth.training.loop import TrainConfig, num_steps, train_qa
from lxmert_lth.training.resume import Resume, fingerprint
from lxmert_lth.workflow.stages.training_job import (
    FinetuneOutputs,
    JobOptions,
    Scoring,
    StartingPoint,
    Theta0,
    TrainingData,
)

log = logging.getLogger("lxmert_lth")


@dataclass
class PreparedNetwork:
    model: torch.nn.Module
    meta: CheckpointMeta
    mask: Mask | None
    enforcer: MaskEnforcer | None
    num_pruned: int
    num_prunable: int


@dataclass(frozen=True)
class Splits:
    train: QuestionSplit
    val: QuestionSplit
    test: QuestionSplit
    shifted: Mapping[str, QuestionSplit] = field(default_factory=dict)


def finetune(
    data: TrainingData,
    start: StartingPoint,
    outputs: FinetuneOutputs,
    network: Network,
    recipe: Mapping,
    max_length: int,
    scoring: Scoring,
    options: JobOptions,
    job_inputs: Sequence[str] | None = None,
    job_key: Mapping | None = None,
    order: int | None = None,
    splits: Splits | None = None,
) -> None:
    """Train ``start`` into ``network``, select the best epoch on validation, predict the
    test split (an EvalAI submission file for VQA v2) and score ``scoring.split`` (test,
    or val = minival) by ``scoring.rule``. The order of the batches (and dropout's draws)
    comes from the network's seed, or from ``order``, a data-order seed of its own (the
    copies of the stability analysis).

    With ``options.resume_folder``, resumable state goes there (every
    ``options.checkpoint_minutes`` of wall-clock time and at epoch ends), a rerun after a
    kill resumes from it, and it is removed at the end. The state is resumed only if the
    job's input files (``job_inputs``; by default the data and ``start``) and settings
    (the recipe, and ``job_key``) are unchanged: a job that writes ``start`` itself names
    what it made it from instead (a file it rewrote on every attempt would never match).
    A job that has ``data`` encoded already hands over its ``splits``."""
    device = choose_device(options.device)
    log.info("device %s", device)
    precision = configure_cuda(device, options.precision, options.tf32)
    prepared = prepare_network(start, data.answers, device)
    answers = prepared.meta.answers
    splits = splits or encode_splits(
        data, answers, max_length, device, options.loading, scoring.task
    )
    cfg = TrainConfig.from_dict(recipe)
    files = job_inputs or [*data.files(), start.checkpoint, start.mask]
    settings = {**recipe, "precision": precision, **(job_key or {})}
    resume = _resume(options, settings, outputs, network, order, files)
    late = LateSnapshot.of(outputs, prepared, network, cfg, len(splits.train.encoded), resume)
    history = train_qa(
        prepared.model,
        splits.train.encoded,
        splits.val.encoded,
        cfg,
        network.seed if order is None else order,
        prepared.enforcer,
        precision=precision,
        resume=resume,
        on_step=late,
    )
    write_results(prepared, splits, history, outputs, network, scoring, cfg, precision)
    if late:
        late.publish()
    if resume:
        resume.clear()
    log.info("model compute: %.3f s", ComputeClock.seconds)


def _resume(options, settings, outputs, network, order, files) -> Resume | None:
    """The job's resumable state (``options.resume_folder``; none without one), keyed by
    its settings, late-rewinding step, data order and input files."""
    if not options.resume_folder:
        return None
    settings = {**settings, "late": outputs.late[0] if outputs.late else None}
    if order is not None:
        settings["order"] = order
    key = fingerprint(settings, network.seed, files)
    return Resume(options.resume_folder, key, options.checkpoint_minutes)


class LateSnapshot:
    """Writes the network's weights after ``step`` optimizer steps (the late-rewinding
    point of the ``late`` control). While training runs the file waits in the resumable
    state's folder, so a job resumed beyond that step still has it; :meth:`publish` moves
    it to its declared path at the end."""

    def __init__(self, step: int, path: str, prepared: PreparedNetwork, staging: str):
        self.step, self.path, self.prepared, self.staging = step, path, prepared, staging

    @classmethod
    def of(cls, outputs, prepared, network, cfg, num_train, resume) -> LateSnapshot | None:
        if outputs.late is None:
            return None
        step, path = outputs.late
        total = num_steps(num_train, cfg)
        if step > total:
            raise InputError(
                f"study.late_rewind_step: {step} is beyond the fine-tune's {total} optimizer steps"
            )
        staging = str(Path(resume.folder) / Path(path).name) if resume else path
        return cls(step, path, prepared, staging)

    def __call__(self, done: int) -> None:
        if done == self.step:
            meta = self.prepared.meta.with_extra(**self.prepared.meta.extra, late_step=self.step)
            Path(self.staging).parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(self.staging, self.prepared.model, meta)
            log.info("late-rewinding point saved after %d steps", self.step)

    def publish(self) -> None:
        if self.staging != self.path:
            os.replace(self.staging, self.path)


def finetune_dense(
    data: TrainingData,
    theta0: Theta0,
    outputs: FinetuneOutputs,
    seed: int,
    recipe: Mapping,
    max_length: int,
    scoring: Scoring,
    options: JobOptions,
) -> None:
    """The dense network of a seed: its theta_0, written first, fine-tuned. A rerun after
    a kill writes theta_0 again (the same tensors) and resumes the fine-tune: its saved
    state is keyed by what theta_0 is made from, not by theta_0's file."""
    write_theta0(theta0, data.answers, seed, scoring.task)
    start = StartingPoint(theta0.path)
    pretrained = sorted(str(p) for p in Path(theta0.pretrained).rglob("*") if p.is_file())
    settings = {f.name: getattr(theta0, f.name) for f in fields(theta0)}
    del settings["path"], settings["pretrained"]  # the files are inputs
    finetune(
        data, start, outputs, Network(seed), recipe, max_length, scoring, options,
        job_inputs=[*data.files(), *pretrained], job_key={"theta0": settings},
    )  # fmt: skip


def write_theta0(theta0: Theta0, answers: str, seed: int, task: Task = tasks.DEFAULT) -> None:
    """theta_0 of a seed: the pretrained weights plus the task's head for the data's
    answers, initialised with the seed (or copied from pretraining where answers match),
    with the names of its prunable parameters (``prunable_set``, ``scope``)."""
    vocabulary = read_answer_list(answers)
    model = task_models.MODELS[task.name].theta0(
        theta0.pretrained, vocabulary, seed, theta0.answer_head, theta0.family
    )
    prunable = prunable_parameter_names(
        model, theta0.prunable_modules, theta0.prunable_set, theta0.scope
    )
    pruning = {"prunable_set": theta0.prunable_set, "scope": theta0.scope}
    extra = {"answer_head": theta0.answer_head, **non_default("pruning", pruning)}
    meta = CheckpointMeta(
        config=model.config.to_dict(),
        answers=vocabulary,
        seed=seed,
        prunable=prunable,
        num_total_parameters=num_parameters(model),
        extra=extra,
    )
    log.info(
        "theta_0: %d parameters, %d prunable in %d tensors",
        meta.num_total_parameters,
        num_parameters(model, prunable),
        len(prunable),
    )
    save_checkpoint(theta0.path, model, meta)


def prepare_network(start: StartingPoint, answers: str, device) -> PreparedNetwork:
    """The starting checkpoint on ``device``, checked against the data's answers, with its
    mask enforced when it has one."""
    model, meta = load_checkpoint(start.checkpoint)
    check_answers(start.checkpoint, meta.answers, answers)
    model.to(device)
    num_prunable = num_parameters(model, meta.prunable)
    if start.mask is None:
        return PreparedNetwork(model, meta, None, None, 0, num_prunable)
    mask, _ = Mask.load(start.mask)
    log.info(
        "mask: %d of %d prunable weights pruned (%.2f%%)",
        mask.num_pruned,
        mask.num_prunable,
        mask.sparsity,
    )
    if not start.enforce:
        log.info("mask not enforced: pruned weights start at zero and may grow back")
        return PreparedNetwork(model, meta, mask, None, mask.num_pruned, num_prunable)
    enforcer = MaskEnforcer(model, mask)
    return PreparedNetwork(model, meta, mask, enforcer, mask.num_pruned, num_prunable)


def check_answers(checkpoint: str, head: list[str], answers_path: str) -> None:
    """The checkpoint's answer head must be the data's vocabulary, index for index."""
    answers = read_answer_list(answers_path)
    if head == answers:
        return
    if len(head) != len(answers):
        raise InputError(
            f"{checkpoint}: its answer head has {len(head)} answers, but {answers_path} has "
            f"{len(answers)}"
        )
    i = next(k for k, (a, b) in enumerate(zip(head, answers, strict=True)) if a != b)
    raise InputError(
        f"{checkpoint}: answer {i} of its head is {head[i]!r}, but {answers[i]!r} in {answers_path}"
    )


def encode_splits(
    data: TrainingData,
    answers: list[str],
    max_length: int,
    device,
    loading: Loading,
    task: Task = tasks.DEFAULT,
) -> Splits:
    tokenizer = load_tokenizer(data.tokenizer)
    store = open_store(data.features)

    def load(path: str) -> QuestionSplit:
        return load_split(path, tokenizer, answers, store, max_length, device, loading, task)

    shifted = {name: load(path) for name, path in data.shifted.items()}
    return Splits(load(data.train), load(data.val), load(data.test), shifted)


def write_results(
    prepared: PreparedNetwork,
    splits: Splits,
    history: dict,
    outputs: FinetuneOutputs,
    network: Network,
    scoring: Scoring,
    cfg: TrainConfig,
    precision: str,
) -> None:
    """Predictions of the test split (a submission file), scores of ``scoring.split``
    and of each shifted set, the trained network and its history."""
    model, answers = prepared.model, prepared.meta.answers
    device = next(model.parameters()).device

    def predict(split: QuestionSplit) -> dict[int, str]:
        with autocast(device, precision):
            pred = predict_indices(model, split.encoded, cfg.eval_batch_size).tolist()
        return {q: answers[i] for q, i in zip(split.encoded.question_ids, pred, strict=True)}

    scored = getattr(splits, scoring.split)
    # The test split is predicted for its submission file, or when it is the scored one.
    wanted = outputs.predictions is not None or scored is splits.test
    predictions = predict(splits.test) if wanted else {}
    scores = scoring.task.score(
        predictions if scored is splits.test else predict(scored), scored.questions, scoring.rule
    )
    log.info("%s accuracy (%s rule) %s", scoring.split, scoring.rule, scores)
    row = {
        **network.row(),
        "split": scoring.split,
        "best_epoch": history["best_epoch"],
        "val_accuracy": history["best_val_accuracy"],
        "num_pruned": prepared.num_pruned,
        "num_prunable": prepared.num_prunable,
    }
    if prepared.mask is not None and prepared.enforcer is None:
        row["mask_enforced"] = False
    for name, split in splits.shifted.items():
        row.update(score_shifted(name, predict(split), split.questions, scoring.rule))
    if outputs.predictions is not None:
        scoring.task.write_predictions(outputs.predictions, predictions, splits.test.questions)
    trained = replace(prepared.meta, seed=network.seed).with_extra(
        kind=network.kind, sparsity=network.sparsity
    )
    if outputs.model is not None:
        # Compact only when the mask held: grown-back weights are kept in full.
        compact_under = prepared.mask if prepared.enforcer is not None else None
        save_checkpoint(outputs.model, model, trained, compact_under)
    write_json(outputs.history, history)
    write_json(outputs.scores, {**row, **scores})


def score_shifted(name: str, predictions, questions, rule: str) -> dict:
    """A shifted set's scores as columns of the network's row, ``NAME:METRIC``: accuracy
    overall and per answer type by the same rule as the scored split, and for a set of
    rephrasings (records with a ``group``) the consistency CS(k)."""
    scores = score_predictions(predictions, questions, rule)
    if questions and "group" in questions[0]:
        scores.update(consistency(predictions, questions, rule))
    log.info("%s accuracy (%s rule) %s", name, rule, scores)
    return {f"{name}:{metric}": value for metric, value in scores.items()}
