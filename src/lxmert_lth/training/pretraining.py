"""The embedded default's own pre-training: question answering on the pre-training
questions, with the family's extra objectives (masked words, image tagging) and, for a
family that reads pixels, optional shifts and mirrors of the images.
"""

from __future__ import annotations

import logging

import torch
from tqdm import tqdm

from lxmert_lth.data.augment import Augment
from lxmert_lth.data.loaders import EncodedSplit, batches
from lxmert_lth.models import families
from lxmert_lth.models.losses import dense_qa_loss
from lxmert_lth.pruning.enforcement import MaskEnforcer
from lxmert_lth.training.inference import ComputeClock, soft_accuracy
from lxmert_lth.training.loop import TrainConfig, check_finite, seed_everything, steps_per_epoch
from lxmert_lth.training.optim import adamw, clip_gradients, linear_warmup

log = logging.getLogger("lxmert_lth")


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
    enforcer: MaskEnforcer | None = None,
) -> list[dict]:
    """The embedded default's pre-training on (question, image) pairs, with LXMERT's
    objectives: masked language modelling (``mlm_prob`` of the word pieces in
    ``mlm_fraction`` of the questions), image-text matching (``mismatch_fraction`` of the
    pairs get another image) and image question answering on the intact, matched pairs;
    the model's family says how they are scored (``Family.pretraining_loss``). ``augment``
    shifts and mirrors the images of every batch (families that read pixels). With
    ``tag_weight``, image tagging: each batch's images are shown again with an empty
    question ([CLS] [SEP]) and the answer head must name what ``tags`` (``data.image_tags``)
    says is in them, a loss weighted by ``tag_weight`` beside the family's. ``enforcer``
    keeps a mask's pruned weights at zero (a pre-training ticket's continued pre-training)."""
    _check_inputs(data, tags, tag_weight)
    family = families.of_model(model)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    # Whole batches only: a tiny last batch could hold no masked token or matched pair.
    per_epoch = steps_per_epoch(len(data), cfg)
    total = per_epoch * cfg.epochs
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    scheduler = linear_warmup(optimizer, int(cfg.warmup_ratio * total), total)
    history = []
    bar = tqdm(total=total, disable=not progress, desc="pretrain", unit="step", mininterval=2)
    model.train()
    for epoch in range(cfg.epochs):
        loss_sum = 0.0
        for step, batch in enumerate(batches(data, cfg.batch_size, gen, drop_last=True)):
            pairs, images, mlm_labels, matched, answerable, rows = _pairs(
                batch, data, tokenizer, gen, mismatch_fraction, mlm_fraction, mlm_prob, augment
            )
            with ComputeClock.measure():
                out = model(**family.inputs(pairs))
                loss = family.pretraining_loss(out, mlm_labels, matched, batch, answerable,
                                               aux_weight)  # fmt: skip
                if tag_weight:
                    tagging = _tagging_loss(model, family, tokenizer, images, tags[rows])
                    loss = loss + tag_weight * tagging
                check_finite(loss, epoch, step)
                _descend(model, loss, optimizer, scheduler, cfg.clip_norm, enforcer)
            loss_sum += loss.item()
            bar.update()
        history.append(_epoch_record(model, epoch, loss_sum / per_epoch, val, cfg))
    bar.close()
    return history


def _pairs(batch, data, tokenizer, gen, mismatch_fraction, mlm_fraction, mlm_prob, augment):
    """A batch's pre-training pairs (drawn from ``gen`` in a fixed order): a fraction of
    the images swapped for others (image-text matching), word pieces masked in a fraction
    of the questions, the images augmented; returns (pairs, their images, MLM labels,
    matched, answerable, image rows)."""
    n = batch["input_ids"].shape[0]
    dev = batch["input_ids"].device
    mismatched = (torch.rand(n, generator=gen) < mismatch_fraction).to(dev)
    other = torch.randint(data.num_images, (n,), generator=gen).to(dev)
    rows = torch.where(mismatched, other, data.image_rows[batch["index"]])
    matched = (rows == data.image_rows[batch["index"]]).long()
    # Words are masked in a fraction of the questions; questions are answered only when
    # intact and paired with their own image (a masked colour word or a foreign image
    # would make the answer a guess).
    masked_rows = (torch.rand(n, generator=gen) < mlm_fraction).to(dev)
    input_ids, mlm_labels = _mask_tokens(
        batch["input_ids"], batch["attention_mask"] * masked_rows[:, None], tokenizer, mlm_prob, gen
    )
    answerable = (matched == 1) & ~masked_rows & (batch["label_idx"] >= 0).any(1)
    images = data.images(rows)
    if augment is not None:
        images = augment(images, gen)
    pairs = {**batch, "input_ids": input_ids, **images}
    return pairs, images, mlm_labels, matched, answerable, rows


def _descend(model, loss, optimizer, scheduler, clip_norm: float, enforcer) -> None:
    """One optimizer step on ``loss``, gradients clipped, a mask kept (as fine-tuning's)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if enforcer is not None:
        enforcer.mask_gradients()
    clip_gradients(model, clip_norm)
    optimizer.step()
    if enforcer is not None:
        enforcer.mask_weights()
    scheduler.step()


def _check_inputs(data: EncodedSplit, tags, tag_weight: float) -> None:
    if tag_weight and tags is None:
        raise ValueError("image tagging (tag_weight) needs the images' tags")
    if data.lazy:
        raise ValueError("pre-training reads its features in memory (features.in_memory)")


def _epoch_record(model, epoch: int, loss: float, val, cfg: TrainConfig) -> dict:
    """An epoch's mean loss and, with ``val``, its question-answering accuracy."""
    record = {"epoch": epoch + 1, "loss": loss}
    if val is not None:
        record["val_qa_accuracy"] = soft_accuracy(model, val, cfg.eval_batch_size)
        model.train()
    log.info("pretrain epoch %d: %s", epoch + 1, record)
    return record
