"""Pruning masks: the ``Mask`` type, magnitude pruning, complements, random masks, and
their enforcement during training.

A mask maps a parameter name to a boolean tensor of the parameter's shape; ``True``
keeps a weight, ``False`` prunes it. Only the *prunable* parameters have entries.

Enforcement (``MaskEnforcer``) is a tiny wrapper rather than ``torch.nn.utils.prune``.
``prune`` re-parametrises each weight as ``weight_orig * weight_mask`` and recomputes the
product in a forward pre-hook on every forward pass; state dicts then hold
``weight_orig``/``weight_mask`` instead of ``weight``, so checkpoints no longer load with
``from_pretrained``, and weight decay keeps moving the hidden ``weight_orig`` entries.
Multiplying the gradients before clipping and the weights after each optimizer step
keeps the pruned weights *exactly* zero, leaves the parameters plain tensors, and costs
one fused in-place multiply per step (``bench/bench_training.py`` measures it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from .io import InputError, load_tensors, save_tensors


def prunable_parameter_names(model: nn.Module, module_pattern: str) -> list[str]:
    """Names of the ``weight`` of every ``nn.Linear`` whose module name matches the pattern.

    Biases, LayerNorms and embeddings are never selected; modules outside the pattern
    (the visual input projection, the answer head) are excluded by the pattern itself.
    """
    regex = re.compile(module_pattern)
    names = [
        f"{name}.weight"
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and regex.search(name)
    ]
    if not names:
        raise InputError(f"prunable pattern {module_pattern!r} matches no Linear layer")
    return sorted(names)


def num_to_prune(num_prunable: int, sparsity: float) -> int:
    """Number of weights pruned at ``sparsity`` percent (rounded half up, exact integers)."""
    if not 0 <= sparsity <= 100:
        raise InputError(f"sparsity {sparsity} is outside 0..100")
    return int((num_prunable * sparsity + 50) // 100)


@dataclass
class Mask:
    """Boolean keep-masks for the prunable parameters (``True`` = kept)."""

    tensors: dict[str, torch.Tensor]

    @classmethod
    def ones_like(cls, weights: Mapping[str, torch.Tensor]) -> Mask:
        return cls({k: torch.ones_like(v, dtype=torch.bool) for k, v in weights.items()})

    @property
    def num_prunable(self) -> int:
        return sum(t.numel() for t in self.tensors.values())

    @property
    def num_kept(self) -> int:
        return sum(int(t.sum()) for t in self.tensors.values())

    @property
    def num_pruned(self) -> int:
        return self.num_prunable - self.num_kept

    @property
    def sparsity(self) -> float:
        """Percentage of the prunable weights that are pruned."""
        return 100.0 * self.num_pruned / self.num_prunable

    def complement(self) -> Mask:
        """Keep exactly what this mask prunes, within the prunable set."""
        return Mask({k: ~v for k, v in self.tensors.items()})

    def per_tensor_pruned(self) -> dict[str, int]:
        return {k: int((~v).sum()) for k, v in self.tensors.items()}

    def apply_(self, state: Mapping[str, torch.Tensor]) -> None:
        """Zero the pruned entries of ``state`` in place."""
        with torch.no_grad():
            for name, keep in self.tensors.items():
                state[name].mul_(keep.to(state[name].device, state[name].dtype))

    def metadata(self, num_total: int, **extra) -> dict:
        return {
            "num_prunable": self.num_prunable,
            "num_pruned": self.num_pruned,
            "num_total_parameters": num_total,
            "sparsity_percent": self.sparsity,
            **extra,
        }

    def save(self, path, **metadata) -> None:
        save_tensors(path, self.tensors, metadata)

    @classmethod
    def load(cls, path) -> tuple[Mask, dict]:
        tensors, meta = load_tensors(path)
        bad = [k for k, v in tensors.items() if v.dtype != torch.bool]
        if bad:
            raise InputError(f"{path}: mask tensor {bad[0]!r} is {tensors[bad[0]].dtype}, not bool")
        return cls(tensors), meta


def _check_weights(weights: Mapping[str, torch.Tensor], mask: Mask) -> None:
    for name, keep in mask.tensors.items():
        if name not in weights:
            raise InputError(f"mask names parameter {name!r}, which the weights do not have")
        if weights[name].shape != keep.shape:
            raise InputError(
                f"parameter {name!r}: weight shape {tuple(weights[name].shape)} "
                f"!= mask shape {tuple(keep.shape)}"
            )


def prune_lowest_magnitude(
    weights: Mapping[str, torch.Tensor], mask: Mask, sparsity: float, ranking: str = "global"
) -> Mask:
    """Prune the lowest-magnitude surviving weights until ``sparsity`` percent are pruned.

    ``ranking="global"`` ranks all surviving prunable weights together (the paper's text);
    ``"per_tensor"`` prunes each tensor to ``sparsity`` on its own (the authors' code).
    Ties are broken by position (parameter names in sorted order, then row-major), so the
    result is deterministic and the pruned count is exact.
    """
    _check_weights(weights, mask)
    if ranking == "per_tensor":
        return Mask(
            {
                name: prune_lowest_magnitude(
                    {name: weights[name]}, Mask({name: keep}), sparsity
                ).tensors[name]
                for name, keep in mask.tensors.items()
            }
        )
    if ranking != "global":
        raise InputError(f"unknown ranking {ranking!r}: expected 'global' or 'per_tensor'")
    names = sorted(mask.tensors)
    target = num_to_prune(mask.num_prunable, sparsity)
    extra = target - mask.num_pruned
    if extra < 0:
        raise InputError(
            f"cannot prune to {sparsity}%: the mask already prunes {mask.num_pruned} "
            f"of {mask.num_prunable} weights"
        )
    keep = torch.cat([mask.tensors[n].flatten() for n in names])
    magnitude = torch.cat([weights[n].detach().flatten().abs().float().cpu() for n in names])
    alive = keep.nonzero().squeeze(1)
    order = torch.sort(magnitude[alive], stable=True).indices
    keep = keep.clone()
    keep[alive[order[:extra]]] = False
    sizes = [mask.tensors[n].numel() for n in names]
    return Mask(
        {n: t.view_as(mask.tensors[n]) for n, t in zip(names, keep.split(sizes), strict=True)}
    )


def random_mask(
    shapes: Mapping[str, torch.Size], num_pruned: int | Mapping[str, int], seed: int
) -> Mask:
    """A uniformly random mask over tensors of the given shapes.

    ``num_pruned`` an int: that many weights pruned anywhere in the set (global);
    a mapping: that many pruned in each tensor (per layer).
    """
    gen = torch.Generator().manual_seed(seed)
    names = sorted(shapes)
    if isinstance(num_pruned, Mapping):
        out = {}
        for n in names:
            size = torch.Size(shapes[n]).numel()
            keep = torch.ones(size, dtype=torch.bool)
            keep[torch.randperm(size, generator=gen)[: num_pruned[n]]] = False
            out[n] = keep.view(shapes[n])
        return Mask(out)
    sizes = [torch.Size(shapes[n]).numel() for n in names]
    if not 0 <= num_pruned <= sum(sizes):
        raise InputError(f"cannot prune {num_pruned} of {sum(sizes)} weights")
    keep = torch.ones(sum(sizes), dtype=torch.bool)
    keep[torch.randperm(sum(sizes), generator=gen)[:num_pruned]] = False
    return Mask({n: t.view(shapes[n]) for n, t in zip(names, keep.split(sizes), strict=True)})


def rewind(theta0: Mapping[str, torch.Tensor], mask: Mask) -> dict[str, torch.Tensor]:
    """theta_0 with the pruned weights set to zero (a new state dict)."""
    _check_weights(theta0, mask)
    state = {k: v.clone() for k, v in theta0.items()}
    mask.apply_(state)
    return state


class MaskEnforcer:
    """Keeps a model's pruned weights exactly zero through training.

    Call :meth:`mask_gradients` after ``backward`` (so clipping sees only live weights)
    and :meth:`mask_weights` after every ``optimizer.step`` (weight decay and Adam's
    moments would otherwise move pruned weights off zero).
    """

    def __init__(self, model: nn.Module, mask: Mask):
        params = dict(model.named_parameters())
        _check_weights(params, mask)
        names = sorted(mask.tensors)
        self.params = [params[n] for n in names]
        self.keeps = [mask.tensors[n].to(params[n].device, params[n].dtype) for n in names]
        self.mask_weights()

    @torch.no_grad()
    def mask_gradients(self) -> None:
        grads = [p.grad for p in self.params if p.grad is not None]
        keeps = [k for p, k in zip(self.params, self.keeps, strict=True) if p.grad is not None]
        if grads:
            torch._foreach_mul_(grads, keeps)

    @torch.no_grad()
    def mask_weights(self) -> None:
        torch._foreach_mul_(self.params, self.keeps)


def count_parameters(params: Iterable[torch.Tensor]) -> int:
    return sum(p.numel() for p in params)
