"""One-shot pruning of a trained network, layer group by layer group, each calibrated on
the outputs of the groups already pruned (Wanda's and SparseGPT's reference default).

A group is one transformer layer of one encoder (``Family.module_of``: its attention and
feed-forward Linear layers), or another prunable module (the pooler); groups run in the
family's order (``Family.module_order``: LXMERT's language, vision, then cross-modality
layers, then the pooler), which is the order the data flows through them. For each group
the whole network reads the calibration batches once, with hooks collecting its Linear
layers' inputs (``one_shot.InputStatistics``; padding positions, from the family's
``token_masks``, left out), then its layers are pruned in place (SparseGPT also updates
their kept weights). A network-wide forward per group costs more than the references'
layer-by-layer replay but needs no family-specific surgery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import Mask
from lxmert_lth.models import families
from lxmert_lth.pruning import one_shot

log = logging.getLogger("lxmert_lth")
METHODS = ("wanda", "sparsegpt")


@dataclass(frozen=True)
class OneShotOptions:
    """How a calibrated one-shot mask is made."""

    method: str  # wanda or sparsegpt
    sparsity: float | None = None  # percent of each layer; None with n_of_m
    n_of_m: tuple[int, int] | None = None
    block_size: int = 128
    dampening: float = 0.01


def layer_groups(model: nn.Module, names: Iterable[str]) -> list[list[str]]:
    """The prunable weights' modules (``names`` without ``.weight``) in groups, in the
    order the data flows through them."""
    family = families.of_model(model)
    order = {module: i for i, module in enumerate(family.module_order())}
    groups: dict[tuple[int, int], list[str]] = {}
    for name in sorted(names):
        encoder, layer, _ = family.module_of(name)
        groups.setdefault((order[encoder], layer), []).append(name.removesuffix(".weight"))
    return [groups[key] for key in sorted(groups)]


@torch.no_grad()
def calibrated_mask(
    model: nn.Module,
    batches: list[Mapping[str, torch.Tensor]],
    names: Iterable[str],
    options: OneShotOptions,
    progress: bool = True,
) -> Mask:
    """Prune ``model``'s weights ``names`` in place by ``options.method``, group by
    group, on the model inputs ``batches``; returns the keep-mask."""
    if options.method not in METHODS:
        raise InputError(f"one-shot method {options.method!r}: expected one of {METHODS}")
    modules = dict(model.named_modules())
    keep: dict[str, np.ndarray] = {}
    model.eval()
    for group in tqdm(layer_groups(model, names), desc=options.method, disable=not progress):
        layers = {name: modules[name] for name in group}
        stats = _collect(model, batches, layers, hessian=options.method == "sparsegpt")
        for name, layer in layers.items():
            mask = _prune(layer, stats[name], options, name)
            layer.weight.mul_(mask.to(layer.weight.device, layer.weight.dtype))
            keep[f"{name}.weight"] = mask.cpu().numpy()
    return Mask(keep)


def _prune(layer: nn.Linear, stats: one_shot.InputStatistics, options: OneShotOptions, name: str):
    """One layer's keep-mask; SparseGPT's updated weights copied in."""
    if stats.tokens == 0:
        raise InputError(f"{name}: no calibration token reached it")
    if options.method == "wanda":
        scores = one_shot.wanda_scores(layer.weight, stats.norms)
        if options.n_of_m is not None:
            return one_shot.n_of_m_mask(scores, *options.n_of_m)
        return one_shot.row_mask(scores, options.sparsity)
    weight, mask = one_shot.sparsegpt(
        layer.weight, stats, options.sparsity, options.n_of_m, options.block_size,
        options.dampening, name,
    )  # fmt: skip
    layer.weight.copy_(weight.to(layer.weight.device))
    return mask


def _collect(model, batches, layers: Mapping[str, nn.Linear], hessian: bool) -> dict:
    """Each layer's input statistics over the batches, padding left out."""
    family = families.of_model(model)
    stats = {n: one_shot.InputStatistics(layer.in_features, hessian) for n, layer in layers.items()}
    masks: dict[int, torch.Tensor] = {}

    def reader(name):
        def hook(_, args):
            x = args[0]
            valid = masks.get(x.shape[1]) if x.dim() == 3 else None
            if x.dim() == 3 and valid is None:
                raise ValueError(f"{name}: no token mask of {x.shape[1]} positions")
            stats[name].add(x, valid)

        return hook

    handles = [layer.register_forward_pre_hook(reader(n)) for n, layer in layers.items()]
    if family.sequence_mask_module is not None:
        source = dict(model.named_modules())[family.sequence_mask_module]
        handles.append(source.register_forward_hook(lambda _, __, out: _add(masks, out[1])))
    try:
        for inputs in batches:
            masks.clear()
            for mask in family.token_masks(inputs):
                _add(masks, mask)
            model(**inputs)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def _add(masks: dict[int, torch.Tensor], mask: torch.Tensor) -> None:
    """A sequence's mask by its length; two sequences of one length must agree."""
    mask = mask.bool()
    known = masks.setdefault(mask.shape[1], mask)
    if known is not mask and not torch.equal(known, mask):
        raise ValueError(
            f"two sequences of {mask.shape[1]} positions with different padding: the "
            "calibration cannot tell them apart"
        )
