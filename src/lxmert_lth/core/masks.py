"""The ``Mask`` type and its files, and rewinding under a mask, in NumPy.

A mask maps a parameter name to a boolean array of the parameter's shape; ``True`` keeps
a weight, ``False`` prunes it. Only the *prunable* parameters have entries.

The pruning maths is in ``lxmert_lth.pruning`` (single weights, N:M groups, whole
structures); ``lxmert_lth.pruning.enforcement`` applies masks to torch models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import load_tensors, save_tensors


def num_to_prune(num_prunable: int, sparsity: float) -> int:
    """Number of weights pruned at ``sparsity`` percent (rounded half up, exact integers)."""
    if not 0 <= sparsity <= 100:
        raise InputError(f"sparsity {sparsity} is outside 0..100")
    return int((num_prunable * sparsity + 50) // 100)


def split_flat(flat: np.ndarray, names: list[str], shapes: Mapping[str, tuple]) -> dict:
    sizes = np.cumsum([int(np.prod(shapes[n])) for n in names])[:-1]
    return {
        n: part.reshape(shapes[n]) for n, part in zip(names, np.split(flat, sizes), strict=True)
    }


@dataclass
class Mask:
    """Boolean keep-masks for the prunable parameters (``True`` = kept)."""

    tensors: dict[str, np.ndarray]

    @classmethod
    def ones(cls, shapes: Mapping[str, tuple]) -> Mask:
        """Keep everything: the mask before the first level of pruning."""
        return cls({k: np.ones(shape, dtype=bool) for k, shape in shapes.items()})

    @classmethod
    def ones_like(cls, weights: Mapping[str, np.ndarray]) -> Mask:
        return cls.ones(shapes_of(weights))

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
        """Bit-packed safetensors: eight weights per byte (23 MB at LXMERT-base instead of
        182 MB as bool), the shapes in the metadata under ``packed_shapes``."""
        shapes = {k: list(v.shape) for k, v in self.tensors.items()}
        packed = {k: np.packbits(v.ravel()) for k, v in self.tensors.items()}
        save_tensors(path, packed, {**metadata, PACKED_SHAPES: shapes})

    @classmethod
    def load(cls, path) -> tuple[Mask, dict]:
        """A mask written by :meth:`save`, or one with a bool tensor per parameter."""
        tensors, meta = load_tensors(path, framework="np")
        shapes = meta.pop(PACKED_SHAPES, None)
        if shapes is None:
            bad = [k for k, v in tensors.items() if v.dtype != np.bool_]
            if bad:
                raise InputError(
                    f"{path}: mask tensor {bad[0]!r} is {tensors[bad[0]].dtype}, not bool"
                )
            return cls(tensors), meta
        return cls({k: _unpack(path, k, v, shapes.get(k)) for k, v in tensors.items()}), meta


PACKED_SHAPES = "packed_shapes"


def _unpack(path, name: str, packed: np.ndarray, shape) -> np.ndarray:
    if shape is None:
        raise InputError(f"{path}: mask tensor {name!r} has no shape in {PACKED_SHAPES!r}")
    size = int(np.prod(shape))
    if packed.dtype != np.uint8 or packed.shape != ((size + 7) // 8,):
        raise InputError(
            f"{path}: mask tensor {name!r} is {packed.dtype} {packed.shape}, not the "
            f"{(size + 7) // 8} packed bytes of shape {tuple(shape)}"
        )
    return np.unpackbits(packed, count=size).view(bool).reshape(shape)


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


def shapes_of(weights: Mapping[str, np.ndarray]) -> dict[str, tuple]:
    """Shapes of the weights; a lazy file (``lxmert_lth.core.io.TensorFile``) gives them from
    its header without reading a tensor."""
    shapes = getattr(weights, "shapes", None)
    return dict(shapes) if shapes is not None else {k: np.shape(v) for k, v in weights.items()}


def rewind(theta0: Mapping[str, np.ndarray], mask: Mask) -> dict[str, np.ndarray]:
    """theta_0 with the pruned weights set to zero (a new state dict)."""
    check_shapes(mask, shapes_of(theta0), "theta_0")
    return {k: v * mask.tensors[k] if k in mask.tensors else v for k, v in theta0.items()}


# --- N:M: N kept in every group of M consecutive weights along the input dimension --------
