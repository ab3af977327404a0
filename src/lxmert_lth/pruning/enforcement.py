"""Masks on torch models: which weights are prunable, and keeping pruned weights at zero.

``MaskEnforcer`` is a tiny wrapper rather than ``torch.nn.utils.prune``. ``prune``
re-parametrises each weight as ``weight_orig * weight_mask`` and recomputes the product in
a forward pre-hook on every forward pass; state dicts then hold ``weight_orig`` and
``weight_mask`` instead of ``weight``, so checkpoints no longer load with
``from_pretrained``, and weight decay keeps moving the hidden ``weight_orig`` entries.
Multiplying the gradients before clipping and the weights after each optimizer step keeps
the pruned weights *exactly* zero, leaves the parameters plain tensors, and costs one fused
in-place multiply per step (``bench/bench_training.py`` measures it).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import Mask, check_shapes
from lxmert_lth.models import families


def prunable_parameter_names(
    model: nn.Module,
    module_pattern: str,
    prunable_set: str = "linear_weights",
    scope: str = "all",
) -> list[str]:
    """Names of the prunable parameters.

    ``linear_weights`` (the paper's text): the ``weight`` of every ``nn.Linear`` whose
    module name matches the pattern; biases, LayerNorms and embeddings are never
    selected, and modules outside the pattern (the visual input projection, the answer
    head) are excluded by the pattern itself. ``authors``: every parameter the authors'
    code prunes (the family's ``authors_unpruned`` names the rest). ``scope`` keeps only
    one encoder's (the family's ``scopes``).
    """
    if prunable_set == "authors":
        family = families.of_model(model)
        if family.authors_unpruned is None:
            raise InputError(
                f"pruning.prunable_set: the authors' set is not defined for {family.label}"
            )
        unpruned = family.authors_unpruned
        names = [n for n, _ in model.named_parameters() if not unpruned.search(n)]
    else:
        regex = re.compile(module_pattern)
        names = [
            f"{name}.weight"
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and regex.search(name)
        ]
    if scope != "all":
        family = families.of_model(model)
        if scope not in family.scopes:
            raise InputError(f"pruning.scope: {scope!r} is no part of {family.label}")
        names = [n for n in names if re.search(family.scopes[scope], n)]
    if not names:
        raise InputError(
            f"prunable pattern {module_pattern!r} (set {prunable_set}, scope {scope}) "
            "matches no parameter"
        )
    return sorted(names)


class MaskEnforcer:
    """Keeps a model's pruned weights exactly zero through training.

    Call :meth:`mask_gradients` after ``backward`` (so clipping sees only live weights)
    and :meth:`mask_weights` after every ``optimizer.step`` (weight decay and Adam's
    moments would otherwise move pruned weights off zero).
    """

    def __init__(self, model: nn.Module, mask: Mask):
        params = dict(model.named_parameters())
        check_shapes(mask, {n: tuple(p.shape) for n, p in params.items()}, "the model")
        names = sorted(mask.tensors)
        self.params = [params[n] for n in names]
        self.keeps = [
            torch.from_numpy(mask.tensors[n]).to(params[n].device, params[n].dtype) for n in names
        ]
        self.mask_weights()

    @torch.no_grad()
    def mask_gradients(self) -> None:
        pairs = [
            (p.grad, k) for p, k in zip(self.params, self.keeps, strict=True) if p.grad is not None
        ]
        if pairs:
            torch._foreach_mul_([g for g, _ in pairs], [k for _, k in pairs])

    @torch.no_grad()
    def mask_weights(self) -> None:
        torch._foreach_mul_(self.params, self.keeps)
