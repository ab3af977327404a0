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

from .io import InputError
from .masks import Mask, check_shapes

# The authors' code prunes every parameter but the embeddings, the visual input's bias,
# LayerNorm and box projection, and the answer head's output bias (their state-dict
# indices 0-4, 6-12 and the last): biases, LayerNorms, the visual projection and the
# answer head's weights are prunable there.
AUTHORS_UNPRUNED = re.compile(
    r"^lxmert\.embeddings\.|^lxmert\.encoder\.visn_fc\.(visn_fc\.bias|visn_layer_norm\.|box_)"
    r"|^answer_head\.logit_fc\.3\.bias$"
)
# pruning.scope: the one part of the model pruned (the scope ablation).
SCOPES = {
    "language": r"^lxmert\.encoder\.layer\.",
    "vision": r"^lxmert\.encoder\.r_layers\.",
    "cross_modality": r"^lxmert\.encoder\.x_layers\.",
}


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
    code prunes (``AUTHORS_UNPRUNED`` names the rest). ``scope`` keeps only one encoder's.
    """
    if prunable_set == "authors":
        names = [n for n, _ in model.named_parameters() if not AUTHORS_UNPRUNED.search(n)]
    else:
        regex = re.compile(module_pattern)
        names = [
            f"{name}.weight"
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and regex.search(name)
        ]
    if scope != "all":
        names = [n for n in names if re.search(SCOPES[scope], n)]
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
