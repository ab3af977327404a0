"""VQA fine-tuning (dense and masked), prediction, and the embedded default's pre-training.

The recipe is the original LXMERT VQA fine-tuning (``src/tasks/vqa.py`` and
``src/lxrt/optimization.py`` of airsplay/lxmert; ``docs/method.md``, "Training"): binary
cross-entropy with logits against soft scores, averaged and multiplied by the number
of answers; whole batches only, floor(N / batch) x epochs optimizer steps; BertAdam
(AdamW without bias correction, unless ``bias_correction``) with decoupled weight decay
on all parameters; linear warm-up over a fraction of the steps (not rounded to a whole
step), then linear decay; gradient clipping; model selection on the validation split.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from . import families
from .data import EncodedSplit, batches, soft_targets
from .devices import autocast
from .enforcement import MaskEnforcer
from .io import UserError
from .optim import AdamW
from .resume import Resume, restore_rng, rng_states

if TYPE_CHECKING:
    from .augment import Augment

log = logging.getLogger("lxmert_lth")


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


def bert_adam(params, lr: float, weight_decay: float) -> AdamW:
    """The original LXMERT's BertAdam: AdamW without bias correction, epsilon 1e-6."""
    return AdamW(params, lr=lr, eps=1e-6, weight_decay=weight_decay, bias_correction=False)


def adamw(model, lr: float, weight_decay: float) -> AdamW:
    """torch's AdamW (with bias correction), its square root correctly rounded."""
    return AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def clip_gradients(model, max_norm: float) -> None:
    """Gradient-norm clipping in its foreach form (as ``adamw``: the same result)."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm, foreach=True)


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay on all parameters (bias correction optional)."""
    if cfg.bias_correction:
        return adamw(model, cfg.lr, cfg.weight_decay)
    return bert_adam(model.parameters(), cfg.lr, cfg.weight_decay)


def warmup_then_linear_decay(
    optimizer: torch.optim.Optimizer, warmup_fraction: float, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """BertAdam's ``warmup_linear`` schedule: at step ``i`` (from 0) of ``total``, with
    ``x = i / total``, the factor is ``x / w`` while ``x < w``, then
    ``max((x - 1) / (w - 1), 0)``: the warm-up covers the fraction ``w`` of the steps
    exactly, not a whole number of them (``transformers``' scheduler takes an int)."""

    def factor(step: int) -> float:
        x = step / total
        if x < warmup_fraction:
            return x / warmup_fraction
        return max((x - 1.0) / (warmup_fraction - 1.0), 0.0)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _check_finite(loss: torch.Tensor, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(
            f"loss is {loss.item()} at epoch {epoch}, step {step}: training diverged "
            "(lower the learning rate or check the features for NaN/inf)"
        )


def qa_loss(logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Soft-score BCE, averaged then scaled by the number of answers."""
    target = soft_targets(batch["label_idx"], batch["label_score"], logits.shape[1])
    return dense_qa_loss(logits, target)


def dense_qa_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``qa_loss`` against dense (B, A) soft targets (image tagging's, too)."""
    return F.binary_cross_entropy_with_logits(logits, target) * logits.shape[1]


def answer_logits(model, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The model's answer logits for a batch, through its family's inputs and outputs."""
    family = families.of_model(model)
    return family.logits(model(**family.inputs(batch)))


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
    generator = torch.Generator().manual_seed(seed)
    device = torch.device(train.device)
    per_epoch = steps_per_epoch(len(train), cfg)
    total = per_epoch * cfg.epochs
    optimizer = make_optimizer(model, cfg)
    scheduler = warmup_then_linear_decay(optimizer, cfg.warmup_ratio, total)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and precision == "fp16")
    history = {"epochs": [], "steps": [], "best_epoch": None, "best_val_accuracy": -1.0}
    best_state = None
    start_epoch, start_step, loss_sum, window_sum = 0, 0, None, None
    window = log_window(per_epoch)
    saved = resume.load() if resume else None
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        restore_rng(saved["rng"], generator)
        history, best_state = saved["history"], saved["best"]
        start_epoch, start_step = saved["epoch"], saved["step"]
        # A state saved at an epoch end starts the next epoch's running loss afresh.
        loss_sum = saved["loss_sum"].to(device) if start_step else None
        window_sum = saved["window_sum"].to(device) if start_step else None

    def snapshot(epoch, step, epoch_start_rng):
        return {
            "epoch": epoch,
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": {**rng_states(generator), "shuffle": epoch_start_rng},
            "history": history,
            "best": best_state,
            "loss_sum": loss_sum.detach().cpu(),
            "window_sum": window_sum.detach().cpu(),
        }

    bar = tqdm(total=total, disable=not progress, desc="train", unit="step", mininterval=2)
    bar.update(start_epoch * per_epoch + start_step)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        if epoch != start_epoch or loss_sum is None:
            loss_sum = torch.zeros((), device=device)
            window_sum = torch.zeros((), device=device)
        # The shuffle generator's state before this epoch's permutation: a resumed epoch
        # redraws the same permutation and skips the batches already done.
        epoch_start_rng = generator.get_state()
        first = start_step if epoch == start_epoch else 0
        shuffled = batches(train, cfg.batch_size, generator, first, drop_last=True)
        for step, batch in enumerate(shuffled, first):
            with ComputeClock.measure():
                with autocast(device, precision):
                    logits = answer_logits(model, batch)
                loss = qa_loss(logits.float(), batch)
                _check_finite(loss, epoch, step)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if enforcer is not None:
                    enforcer.mask_gradients()
                scaler.unscale_(optimizer)
                clip_gradients(model, cfg.clip_norm)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                if enforcer is not None:
                    enforcer.mask_weights()
            loss_sum += loss.detach()
            window_sum += loss.detach()
            if (step + 1) % window == 0 or step + 1 == per_epoch:
                # The mean loss of the window of steps ending here (one read per window).
                done = step + 1 - step // window * window
                history["steps"].append(
                    {
                        "step": epoch * per_epoch + step + 1,
                        "loss": window_sum.item() / done,
                        "lr": scheduler.get_last_lr()[0],
                    }
                )
                window_sum = torch.zeros((), device=device)
            bar.update()
            if on_step:
                on_step(epoch * per_epoch + step + 1)
            if resume and resume.due(step + 1, per_epoch):
                resume.save(snapshot(epoch, step + 1, epoch_start_rng))
        with autocast(device, precision):
            val_acc = soft_accuracy(model, val, cfg.eval_batch_size)
        record = {
            "epoch": epoch + 1,
            "loss": loss_sum.item() / per_epoch,
            "val_accuracy": val_acc,
        }
        history["epochs"].append(record)
        log.info("epoch %d: loss %.4f, val accuracy %.2f", epoch + 1, record["loss"], val_acc)
        if on_epoch:
            on_epoch(record)
        if val_acc > history["best_val_accuracy"]:
            history["best_epoch"], history["best_val_accuracy"] = epoch + 1, val_acc
            best_state = copy.deepcopy(model.state_dict()) if epoch + 1 < cfg.epochs else None
        if resume and epoch + 1 < cfg.epochs:
            resume.save(snapshot(epoch + 1, 0, generator.get_state()))
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


# Training-loss points logged per epoch (history["steps"]): each the mean over a window of
# steps, read from the device once per window.
LOG_POINTS_PER_EPOCH = 50


def log_window(per_epoch: int) -> int:
    """Optimizer steps per logged training-loss point (the last window of an epoch may be
    shorter): every step for short epochs, about 50 points an epoch for long ones."""
    return max(1, per_epoch // LOG_POINTS_PER_EPOCH)


# --- pre-training -----------------------------------------------------------------


def _mask_tokens(input_ids, attention_mask, tokenizer, prob: float, gen: torch.Generator):
    """BERT masking: ``prob`` of real word pieces become targets (80% [MASK], 10% random)."""
    special = (input_ids == tokenizer.cls_token_id) | (input_ids == tokenizer.sep_token_id)
    candidates = attention_mask.bool() & ~special
    dev = input_ids.device
    # Random draws come from the CPU generator (the same on every device), then move.
    chosen = (torch.rand(input_ids.shape, generator=gen) < prob).to(dev) & candidates
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    r = torch.rand(input_ids.shape, generator=gen).to(dev)
    masked = input_ids.clone()
    masked[chosen & (r < 0.8)] = tokenizer.mask_token_id
    rand_ids = torch.randint(len(tokenizer), input_ids.shape, generator=gen).to(dev)
    swap = chosen & (r >= 0.8) & (r < 0.9)
    masked[swap] = rand_ids[swap]
    return masked, labels


def _tagging_loss(model, family, tokenizer, images, tags: torch.Tensor) -> torch.Tensor:
    """Image tagging of one batch: its images with an empty question, scored against their
    tags (images with none are left out; zero when no image has one)."""
    tagged = tags.sum(1) > 0
    if not tagged.any():
        return tags.new_zeros(())
    n, dev = tags.shape[0], tags.device
    ids = torch.tensor([[tokenizer.cls_token_id, tokenizer.sep_token_id]], device=dev)
    blank = {
        "input_ids": ids.expand(n, -1),
        "attention_mask": torch.ones_like(ids).expand(n, -1),
        "token_type_ids": torch.zeros_like(ids).expand(n, -1),
    }
    logits = family.logits(model(**family.inputs({**blank, **images})))
    return dense_qa_loss(logits[tagged], tags[tagged])


def pretrain(
    model,
    data: EncodedSplit,
    tokenizer,
    cfg: TrainConfig,
    seed: int,
    mlm_prob: float,
    mlm_fraction: float,
    mismatch_fraction: float,
    aux_weight: float,
    val: EncodedSplit | None = None,
    progress: bool = True,
    augment: Augment | None = None,
    tags: torch.Tensor | None = None,
    tag_weight: float = 0.0,
) -> list[dict]:
    """The embedded default's pre-training on (question, image) pairs, with LXMERT's
    objectives: masked language modelling (``mlm_prob`` of the word pieces in
    ``mlm_fraction`` of the questions), image-text matching (``mismatch_fraction`` of the
    pairs get another image) and image question answering on the intact, matched pairs;
    the model's family says how they are scored (``Family.pretraining_loss``). ``augment``
    shifts and mirrors the images of every batch (families that read pixels). With
    ``tag_weight``, image tagging: each batch's images are shown again with an empty
    question ([CLS] [SEP]) and the answer head must name what ``tags`` (``data.image_tags``)
    says is in them, a loss weighted by ``tag_weight`` beside the family's."""
    if tag_weight and tags is None:
        raise ValueError("image tagging (tag_weight) needs the images' tags")
    if data.lazy:
        raise ValueError("pre-training reads its features in memory (features.in_memory)")
    family = families.of_model(model)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    # Whole batches only: a tiny last batch could hold no masked token or matched pair.
    per_epoch = steps_per_epoch(len(data), cfg)
    total = per_epoch * cfg.epochs
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    history = []
    bar = tqdm(total=total, disable=not progress, desc="pretrain", unit="step", mininterval=2)
    model.train()
    for epoch in range(cfg.epochs):
        loss_sum = 0.0
        for step, batch in enumerate(batches(data, cfg.batch_size, gen, drop_last=True)):
            n = batch["input_ids"].shape[0]
            dev = batch["input_ids"].device
            mismatched = (torch.rand(n, generator=gen) < mismatch_fraction).to(dev)
            other = torch.randint(data.num_images, (n,), generator=gen).to(dev)
            rows = torch.where(mismatched, other, data.image_rows[batch["index"]])
            matched = (rows == data.image_rows[batch["index"]]).long()
            # Words are masked in a fraction of the questions; questions are answered only when
            # intact and paired with their own image (a masked colour word or a foreign
            # image would make the answer a guess).
            masked_rows = (torch.rand(n, generator=gen) < mlm_fraction).to(dev)
            input_ids, mlm_labels = _mask_tokens(
                batch["input_ids"],
                batch["attention_mask"] * masked_rows[:, None],
                tokenizer,
                mlm_prob,
                gen,
            )
            answerable = (matched == 1) & ~masked_rows & (batch["label_idx"] >= 0).any(1)
            images = data.images(rows)
            if augment is not None:
                images = augment(images, gen)
            pairs = {**batch, "input_ids": input_ids, **images}
            with ComputeClock.measure():
                out = model(**family.inputs(pairs))
                loss = family.pretraining_loss(
                    out, mlm_labels, matched, batch, answerable, aux_weight
                )
                if tag_weight:
                    loss = loss + tag_weight * _tagging_loss(
                        model, family, tokenizer, images, tags[rows]
                    )
                _check_finite(loss, epoch, step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                clip_gradients(model, cfg.clip_norm)
                optimizer.step()
                scheduler.step()
            loss_sum += loss.item()
            bar.update()
        record = {"epoch": epoch + 1, "loss": loss_sum / per_epoch}
        if val is not None:
            record["val_qa_accuracy"] = soft_accuracy(model, val, cfg.eval_batch_size)
            model.train()
        history.append(record)
        log.info("pretrain epoch %d: %s", epoch + 1, record)
    bar.close()
    return history
