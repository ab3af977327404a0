"""VQA fine-tuning, dense and masked: the training loop.

The recipe is the original LXMERT VQA fine-tuning (``src/tasks/vqa.py`` and
``src/lxrt/optimization.py`` of airsplay/lxmert; ``docs/method.md``, "Training"): binary
cross-entropy with logits against soft scores, averaged and multiplied by the number
of answers; whole batches only, floor(N / batch) x epochs optimizer steps; BertAdam
(AdamW without bias correction, unless ``bias_correction``) with decoupled weight decay
on all parameters; linear warm-up over a fraction of the steps (not rounded to a whole
step), then linear decay; gradient clipping; model selection on the validation split.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from lxmert_lth.core.errors import UserError
from lxmert_lth.data.loaders import EncodedSplit, batches
from lxmert_lth.models import tasks
from lxmert_lth.pruning.enforcement import MaskEnforcer
from lxmert_lth.runtime.devices import autocast
from lxmert_lth.training.inference import ComputeClock, answer_logits, soft_accuracy
from lxmert_lth.training.optim import (
    AdamW,
    adamw,
    bert_adam,
    clip_gradients,
    warmup_then_linear_decay,
)
from lxmert_lth.training.resume import Resume, restore_rng, rng_states

if TYPE_CHECKING:
    pass

log = logging.getLogger("lxmert_lth")


class TrainingDiverged(UserError, RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe: the ``finetune`` or ``pretrain`` section of the configuration,
    whose schema gives every default."""

    epochs: int
    batch_size: int
    lr: float
    warmup_ratio: float
    weight_decay: float
    clip_norm: float
    eval_batch_size: int
    bias_correction: bool

    @classmethod
    def from_dict(cls, recipe: Mapping) -> TrainConfig:
        """The recipe's training fields (a pre-training recipe has others besides)."""
        return cls(**{k: recipe[k] for k in cls.__dataclass_fields__})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_finite(loss: torch.Tensor, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"loss is {loss.item()} at epoch {epoch}, step {step}: training diverged "
            "(lower the learning rate or check the features for NaN/inf)"
        )


def steps_per_epoch(num_questions: int, cfg: TrainConfig) -> int:
    """Whole batches per epoch: the original drops the short last one (``drop_last``)."""
    steps = num_questions // cfg.batch_size
    if steps == 0:
        raise ValueError(
            f"{num_questions} training questions make no whole batch of batch_size={cfg.batch_size}"
        )
    return steps


def num_steps(num_questions: int, cfg: TrainConfig) -> int:
    """Optimizer steps of a fine-tune: floor(N / batch) x epochs, as the original."""
    return steps_per_epoch(num_questions, cfg) * cfg.epochs


@dataclass
class TrainingState:
    """What a fine-tune carries from step to step, and what a resumed one needs: saved by
    :meth:`snapshot` and read back by :meth:`restore`, written side by side so that the
    two cannot drift."""

    model: torch.nn.Module
    optimizer: AdamW
    scheduler: object
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    history: dict
    best: dict | None = None  # the best epoch's weights (None: the last epoch's)
    loss_sum: torch.Tensor | None = None  # the epoch's running loss, on the device
    window_sum: torch.Tensor | None = None  # the logged window's running loss
    # The objects whose state_dict is saved whole.
    STATEFUL = ("model", "optimizer", "scheduler", "scaler")

    def snapshot(self, epoch: int, step: int, epoch_start_rng: torch.Tensor) -> dict:
        """The state after ``step`` steps of ``epoch`` (the shuffle's state at the epoch's
        start, so a resumed epoch redraws the same permutation)."""
        return {
            "epoch": epoch,
            "step": step,
            **{name: getattr(self, name).state_dict() for name in self.STATEFUL},
            "rng": {**rng_states(self.generator), "shuffle": epoch_start_rng},
            "history": self.history,
            "best": self.best,
            "loss_sum": self.loss_sum.detach().cpu(),
            "window_sum": self.window_sum.detach().cpu(),
        }

    def restore(self, saved: Mapping, device: torch.device) -> tuple[int, int]:
        """Back to a snapshot; returns its (epoch, step)."""
        for name in self.STATEFUL:
            getattr(self, name).load_state_dict(saved[name])
        restore_rng(saved["rng"], self.generator)
        self.history, self.best = saved["history"], saved["best"]
        # A state saved at an epoch end starts the next epoch's running loss afresh.
        step = saved["step"]
        self.loss_sum = saved["loss_sum"].to(device) if step else None
        self.window_sum = saved["window_sum"].to(device) if step else None
        return saved["epoch"], step


def train_qa(
    model,
    train: EncodedSplit,
    val: EncodedSplit,
    cfg: TrainConfig,
    seed: int,
    enforcer: MaskEnforcer | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    precision: str = "fp32",
    resume: Resume | None = None,
    on_step: Callable[[int], None] | None = None,
) -> dict:
    """Fine-tune ``model`` in place; load the best-on-validation weights at the end.
    ``on_step`` is called with the number of optimizer steps done after each one.

    With ``resume``, the full training state is saved at each epoch end and whenever
    ``resume.due`` says (an interval of wall-clock time), and a saved state is picked up
    where it stopped: on the CPU the result is bitwise identical to an uninterrupted run.
    Returns the history: per-epoch mean loss and validation accuracy, the best epoch, and
    the training loss logged per window of steps (``log_window``: about 50 points an epoch).
    """
    seed_everything(seed)
    device = torch.device(train.device)
    per_epoch = steps_per_epoch(len(train), cfg)
    state = _start(model, cfg, seed, per_epoch * cfg.epochs, device, precision)
    saved = resume.load() if resume else None
    start_epoch, start_step = state.restore(saved, device) if saved else (0, 0)
    bar = tqdm(total=per_epoch * cfg.epochs, disable=not progress, desc="train", unit="step",
               mininterval=2)  # fmt: skip
    bar.update(start_epoch * per_epoch + start_step)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        if epoch != start_epoch or state.loss_sum is None:
            state.loss_sum = torch.zeros((), device=device)
            state.window_sum = torch.zeros((), device=device)
        # The shuffle generator's state before this epoch's permutation: a resumed epoch
        # redraws the same permutation and skips the batches already done.
        epoch_start_rng = state.generator.get_state()
        first = start_step if epoch == start_epoch else 0
        shuffled = batches(train, cfg.batch_size, state.generator, first, drop_last=True)
        for step, batch in enumerate(shuffled, first):
            _step(state, batch, cfg, enforcer, device, precision, epoch, step)
            _log_loss(state, epoch, step, per_epoch)
            bar.update()
            if on_step:
                on_step(epoch * per_epoch + step + 1)
            if resume and resume.due(step + 1, per_epoch):
                resume.save(state.snapshot(epoch, step + 1, epoch_start_rng))
        _end_epoch(state, val, cfg, device, precision, epoch, per_epoch, on_epoch)
        if resume and epoch + 1 < cfg.epochs:
            resume.save(state.snapshot(epoch + 1, 0, state.generator.get_state()))
    bar.close()
    if state.best is not None:
        model.load_state_dict(state.best)
    return state.history


def _start(model, cfg: TrainConfig, seed: int, total: int, device, precision: str):
    """A fresh fine-tune's state: AdamW, its schedule, the fp16 scaler, the shuffle."""
    optimizer = make_optimizer(model, cfg)
    return TrainingState(
        model=model,
        optimizer=optimizer,
        scheduler=warmup_then_linear_decay(optimizer, cfg.warmup_ratio, total),
        scaler=torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and precision == "fp16"),
        generator=torch.Generator().manual_seed(seed),
        history={"epochs": [], "steps": [], "best_epoch": None, "best_val_accuracy": -1.0},
    )


def _step(state: TrainingState, batch, cfg, enforcer, device, precision, epoch, step) -> None:
    """One optimizer step, the mask kept at zero (gradients and weights) by ``enforcer``."""
    model, optimizer, scaler = state.model, state.optimizer, state.scaler
    with ComputeClock.measure():
        with autocast(device, precision):
            logits = answer_logits(model, batch)
        loss = tasks.of_model(model).loss(logits.float(), batch)
        check_finite(loss, epoch, step)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if enforcer is not None:
            enforcer.mask_gradients()
        scaler.unscale_(optimizer)
        clip_gradients(model, cfg.clip_norm)
        scaler.step(optimizer)
        scaler.update()
        state.scheduler.step()
        if enforcer is not None:
            enforcer.mask_weights()
    state.loss_sum += loss.detach()
    state.window_sum += loss.detach()


def _log_loss(state: TrainingState, epoch: int, step: int, per_epoch: int) -> None:
    """The mean loss of the window of steps ending here, at a window's end (one read from
    the device per window)."""
    window = log_window(per_epoch)
    if (step + 1) % window == 0 or step + 1 == per_epoch:
        done = step + 1 - step // window * window
        state.history["steps"].append(
            {
                "step": epoch * per_epoch + step + 1,
                "loss": state.window_sum.item() / done,
                "lr": state.scheduler.get_last_lr()[0],
            }
        )
        state.window_sum = torch.zeros((), device=state.window_sum.device)


def _end_epoch(state, val, cfg, device, precision, epoch, per_epoch, on_epoch) -> None:
    """Validation accuracy, the epoch's record, and the best epoch's weights kept (the
    last epoch's are the model's own)."""
    with autocast(device, precision):
        val_acc = soft_accuracy(state.model, val, cfg.eval_batch_size)
    record = {
        "epoch": epoch + 1,
        "loss": state.loss_sum.item() / per_epoch,
        "val_accuracy": val_acc,
    }
    history = state.history
    history["epochs"].append(record)
    log.info("epoch %d: loss %.4f, val accuracy %.2f", epoch + 1, record["loss"], val_acc)
    if on_epoch:
        on_epoch(record)
    if val_acc > history["best_val_accuracy"]:
        history["best_epoch"], history["best_val_accuracy"] = epoch + 1, val_acc
        last = epoch + 1 == cfg.epochs
        state.best = None if last else copy.deepcopy(state.model.state_dict())


# Training-loss points logged per epoch (history["steps"]): each the mean over a window of
# steps, read from the device once per window.
LOG_POINTS_PER_EPOCH = 50


def log_window(per_epoch: int) -> int:
    """Optimizer steps per logged training-loss point (the last window of an epoch may be
    shorter): every step for short epochs, about 50 points an epoch for long ones."""
    return max(1, per_epoch // LOG_POINTS_PER_EPOCH)


# --- pre-training -----------------------------------------------------------------


def make_optimizer(model, cfg: TrainConfig) -> AdamW:
    """AdamW with decoupled weight decay on all parameters (bias correction optional)."""
    if cfg.bias_correction:
        return adamw(model, cfg.lr, cfg.weight_decay)
    return bert_adam(model.parameters(), cfg.lr, cfg.weight_decay)
