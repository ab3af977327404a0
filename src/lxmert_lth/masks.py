"""Pruning masks: the ``Mask`` type, magnitude pruning, complements, random masks and
rewinding, in NumPy.

A mask maps a parameter name to a boolean array of the parameter's shape; ``True`` keeps
a weight, ``False`` prunes it. Only the *prunable* parameters have entries.

The maths is NumPy on purpose: the 27 subnetwork jobs per seed each derive one mask and
would otherwise spend most of their time importing torch. ``lxmert_lth.enforcement``
applies masks to torch models during training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .io import InputError, load_tensors, save_tensors


def num_to_prune(num_prunable: int, sparsity: float) -> int:
    """Number of weights pruned at ``sparsity`` percent (rounded half up, exact integers)."""
    if not 0 <= sparsity <= 100:
        raise InputError(f"sparsity {sparsity} is outside 0..100")
    return int((num_prunable * sparsity + 50) // 100)


def _split(flat: np.ndarray, names: list[str], shapes: Mapping[str, tuple]) -> dict:
    sizes = np.cumsum([int(np.prod(shapes[n])) for n in names])[:-1]
    return {
        n: part.reshape(shapes[n]) for n, part in zip(names, np.split(flat, sizes), strict=True)
    }


@dataclass
class Mask:
    """Boolean keep-masks for the prunable parameters (``True`` = kept)."""

    tensors: dict[str, np.ndarray]

    @classmethod
    def ones_like(cls, weights: Mapping[str, np.ndarray]) -> Mask:
        return cls({k: np.ones(np.shape(v), dtype=bool) for k, v in weights.items()})

    @property
    def num_prunable(self) -> int:
        return sum(t.size for t in self.tensors.values())

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
        tensors, meta = load_tensors(path, framework="np")
        bad = [k for k, v in tensors.items() if v.dtype != np.bool_]
        if bad:
            raise InputError(f"{path}: mask tensor {bad[0]!r} is {tensors[bad[0]].dtype}, not bool")
        return cls(tensors), meta


def check_shapes(mask: Mask, shapes: Mapping[str, tuple], what: str = "the weights") -> None:
    """Every tensor of the mask names a parameter of ``what`` with the mask's shape."""
    for name, keep in mask.tensors.items():
        if name not in shapes:
            raise InputError(f"mask names parameter {name!r}, which is not in {what}")
        if tuple(shapes[name]) != keep.shape:
            raise InputError(
                f"parameter {name!r}: shape {tuple(shapes[name])} in {what} "
                f"!= mask shape {keep.shape}"
            )


def _shapes(weights: Mapping[str, np.ndarray]) -> dict[str, tuple]:
    return {k: np.shape(v) for k, v in weights.items()}


def prune_lowest_magnitude(
    weights: Mapping[str, np.ndarray], mask: Mask, sparsity: float, ranking: str = "global"
) -> Mask:
    """Prune the lowest-magnitude surviving weights until ``sparsity`` percent are pruned.

    ``ranking="global"`` ranks all surviving prunable weights together (the paper's text);
    ``"per_tensor"`` prunes each tensor to ``sparsity`` on its own (the authors' code).
    Ties are broken by position (parameter names in sorted order, then row-major), so the
    result is deterministic and the pruned count is exact.
    """
    check_shapes(mask, _shapes(weights))
    if ranking == "per_tensor":
        return Mask(
            {
                n: prune_lowest_magnitude({n: weights[n]}, Mask({n: keep}), sparsity).tensors[n]
                for n, keep in mask.tensors.items()
            }
        )
    if ranking != "global":
        raise InputError(f"unknown ranking {ranking!r}: expected 'global' or 'per_tensor'")
    names = sorted(mask.tensors)
    extra = num_to_prune(mask.num_prunable, sparsity) - mask.num_pruned
    if extra < 0:
        raise InputError(
            f"cannot prune to {sparsity}%: the mask already prunes {mask.num_pruned} "
            f"of {mask.num_prunable} weights"
        )
    keep = np.concatenate([mask.tensors[n].ravel() for n in names])
    magnitude = np.concatenate([np.abs(np.asarray(weights[n], np.float32)).ravel() for n in names])
    alive = np.flatnonzero(keep)
    order = np.argsort(magnitude[alive], kind="stable")
    keep[alive[order[:extra]]] = False
    return Mask(_split(keep, names, {n: mask.tensors[n].shape for n in names}))


def random_mask(
    shapes: Mapping[str, tuple], num_pruned: int | Mapping[str, int], seed: int
) -> Mask:
    """A uniformly random mask over arrays of the given shapes.

    ``num_pruned`` an int: that many weights pruned anywhere in the set (global);
    a mapping: that many pruned in each tensor (per layer).
    """
    rng = np.random.default_rng(seed)
    names = sorted(shapes)
    if isinstance(num_pruned, Mapping):
        out = {}
        for n in names:
            keep = np.ones(int(np.prod(shapes[n])), dtype=bool)
            keep[rng.permutation(keep.size)[: num_pruned[n]]] = False
            out[n] = keep.reshape(shapes[n])
        return Mask(out)
    total = sum(int(np.prod(shapes[n])) for n in names)
    if not 0 <= num_pruned <= total:
        raise InputError(f"cannot prune {num_pruned} of {total} weights")
    keep = np.ones(total, dtype=bool)
    keep[rng.permutation(total)[:num_pruned]] = False
    return Mask(_split(keep, names, shapes))


def rewind(theta0: Mapping[str, np.ndarray], mask: Mask) -> dict[str, np.ndarray]:
    """theta_0 with the pruned weights set to zero (a new state dict)."""
    check_shapes(mask, _shapes(theta0), "theta_0")
    return {k: v * mask.tensors[k] if k in mask.tensors else v for k, v in theta0.items()}
