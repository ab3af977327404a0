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
    """Shapes of the weights; a lazy file (``lxmert_lth.io.TensorFile``) gives them from
    its header without reading a tensor."""
    shapes = getattr(weights, "shapes", None)
    return dict(shapes) if shapes is not None else {k: np.shape(v) for k, v in weights.items()}


def prune_lowest_magnitude(
    weights: Mapping[str, np.ndarray], mask: Mask, sparsity: float, ranking: str = "global"
) -> Mask:
    """Prune the lowest-magnitude surviving weights until ``sparsity`` percent are pruned.

    ``ranking="global"`` ranks all surviving prunable weights together (the paper's text);
    ``"per_tensor"`` prunes each tensor to ``sparsity`` on its own (the authors' code).
    Ties are broken by position (parameter names in sorted order, then row-major), so the
    result is deterministic and the pruned count is exact.

    ``weights`` may be lazy (:class:`lxmert_lth.io.TensorFile`): each tensor is read when
    needed, so at LXMERT-base (182M prunable weights) the peak is one float32 buffer of
    the surviving magnitudes plus the masks, about 1.3x one fp32 checkpoint.
    """
    check_shapes(mask, shapes_of(weights))
    if ranking == "per_tensor":
        counts = {n: num_to_prune(keep.size, sparsity) for n, keep in mask.tensors.items()}
    elif ranking == "global":
        counts = num_to_prune(mask.num_prunable, sparsity)
    else:
        raise InputError(f"unknown ranking {ranking!r}: expected 'global' or 'per_tensor'")
    return prune_to_counts(weights, mask, counts)


def prune_to_counts(
    weights: Mapping[str, np.ndarray], mask: Mask, counts: int | Mapping[str, int]
) -> Mask:
    """Prune the lowest-magnitude surviving weights until ``counts`` are pruned: a total
    over all tensors ranked together (an int) or a number per tensor (a mapping)."""
    if isinstance(counts, Mapping):
        return Mask(
            {
                n: prune_to_counts({n: weights[n]}, Mask({n: keep}), counts[n]).tensors[n]
                for n, keep in mask.tensors.items()
            }
        )
    extra = counts - mask.num_pruned
    if extra < 0:
        raise InputError(
            f"cannot prune to {counts} weights: the mask already prunes {mask.num_pruned} "
            f"of {mask.num_prunable} weights"
        )
    names = sorted(mask.tensors)
    if extra == 0:
        return Mask({n: mask.tensors[n].copy() for n in names})
    threshold, num_below = _kth_smallest_magnitude(weights, mask, names, extra)
    # Every surviving weight below the threshold goes, then ties at the threshold in
    # position order until the count is exact.
    ties = extra - num_below
    out = {}
    for n in names:
        alive = mask.tensors[n]
        magnitude = _magnitude(weights[n], n)
        prune = alive & (magnitude < threshold)
        if ties:
            at = np.flatnonzero(alive & (magnitude == threshold))[:ties]
            prune.flat[at] = True
            ties -= at.size
        out[n] = alive & ~prune
    return Mask(out)


def remaining_schedule_mask(
    weights: Mapping[str, np.ndarray],
    shapes: Mapping[str, tuple],
    sparsity: float,
    step: float,
    ranking: str = "per_tensor",
) -> tuple[Mask, int]:
    """The authors' schedule (``lottery_ticket_hypothesis.py``: ``low_magnitude_pruning``
    and ``weight_prune_layer``), position for position; returns the mask and its steps.

    From the dense network, with no retraining in between, each step takes each tensor
    (``per_tensor``, their code) or all prunable weights together (``global``, the same
    rule over one pool) and, of the ``k`` weights still there, prunes every one whose
    magnitude is at most the value at index ``round(step / 100 * k)`` of their sorted
    magnitudes (NumPy's round, half to even, in float64 as theirs): that many plus one,
    and every tie. A tensor with nothing left is skipped (their code catches the
    IndexError). The steps stop once ``pruned / total * 100 >= sparsity``.

    Without retraining the weights never move, so what is pruned is always a prefix of a
    tensor's sorted magnitudes: each step needs only the prefix length. A tensor is sorted
    once (one float32 buffer of all the weights for ``global``, sorted in place).
    """
    if ranking not in ("per_tensor", "global"):
        raise InputError(f"unknown ranking {ranking!r}: expected 'global' or 'per_tensor'")
    names = sorted(shapes)
    if ranking == "per_tensor":
        groups = {n: np.sort(_magnitude(weights[n], n), axis=None) for n in names}
    else:
        pool = np.empty(sum(int(np.prod(shapes[n])) for n in names), dtype=np.float32)
        start = 0
        for n in names:
            magnitude = _magnitude(weights[n], n).ravel()
            pool[start : start + magnitude.size] = magnitude
            start += magnitude.size
        pool.sort()
        groups = {"": pool}
    total = sum(g.size for g in groups.values())
    pruned = dict.fromkeys(groups, 0)
    fraction, steps = step / 100, 0
    while True:
        for g, ordered in groups.items():
            left = ordered.size - pruned[g]
            if left == 0:
                continue
            cutoff = ordered[pruned[g] + int(np.round(fraction * left))]
            pruned[g] = int(np.searchsorted(ordered, cutoff, side="right"))
        steps += 1
        if sum(pruned.values()) / total * 100 >= sparsity:
            break
    cutoffs = {g: (ordered[pruned[g] - 1] if pruned[g] else None) for g, ordered in groups.items()}
    out = {}
    for n in names:
        cutoff = cutoffs[n if ranking == "per_tensor" else ""]
        magnitude = _magnitude(weights[n], n).reshape(shapes[n])
        out[n] = magnitude > cutoff if cutoff is not None else np.ones(shapes[n], dtype=bool)
    return Mask(out), steps


def _magnitude(weight, name: str) -> np.ndarray:
    magnitude = np.abs(np.asarray(weight, dtype=np.float32))
    if not np.isfinite(magnitude).all():
        raise InputError(f"parameter {name!r} has NaN or infinite weights: cannot rank them")
    return magnitude


def _kth_smallest_magnitude(
    weights: Mapping[str, np.ndarray], mask: Mask, names: list[str], k: int
) -> tuple[np.float32, int]:
    """The k-th smallest surviving magnitude and how many surviving weights lie below it.

    A selection (``np.partition``, linear time) over one float32 buffer of the surviving
    magnitudes, partitioned in place: a full sort would need int64 indices (2x the
    buffer) and n log n time, which at LXMERT-base took 8.5x a checkpoint's memory.
    """
    buffer = np.empty(mask.num_kept, dtype=np.float32)
    start = 0
    for n in names:
        alive = _magnitude(weights[n], n)[mask.tensors[n]]
        buffer[start : start + alive.size] = alive
        start += alive.size
    buffer.partition(k - 1)
    threshold = buffer[k - 1]
    return threshold, int(np.count_nonzero(buffer[:k] < threshold))


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
            keep[_permutation(rng, keep.size)[: num_pruned[n]]] = False
            out[n] = keep.reshape(shapes[n])
        return Mask(out)
    total = sum(int(np.prod(shapes[n])) for n in names)
    if not 0 <= num_pruned <= total:
        raise InputError(f"cannot prune {num_pruned} of {total} weights")
    keep = np.ones(total, dtype=bool)
    keep[_permutation(rng, total)[:num_pruned]] = False
    return Mask(_split(keep, names, shapes))


def authors_high_mask(low: Mask, seed: int) -> Mask:
    """The high-magnitude mask as the authors' code builds it from the low-magnitude mask
    at the same sparsity: in each tensor, as many weights pruned as the low mask keeps,
    taken from the ones the low mask prunes (drawn at random when there are more of them,
    below 50 %: the high mask then keeps every low-magnitude survivor and more), topped up
    with random low-magnitude survivors when there are fewer. At exactly half pruned it is
    the low mask itself."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in sorted(low.tensors):
        keep = low.tensors[n].reshape(-1)
        pruned, kept = np.flatnonzero(~keep), np.flatnonzero(keep)
        if kept.size <= pruned.size:
            chosen = pruned[_permutation(rng, pruned.size)[: kept.size]]
        else:
            extra = kept[_permutation(rng, kept.size)[: kept.size - pruned.size]]
            chosen = np.concatenate([pruned, extra])
        high = np.ones(keep.size, dtype=bool)
        high[chosen] = False
        out[n] = high.reshape(low.tensors[n].shape)
    return Mask(out)


def coin_flip_mask(reference: Mask, seed: int) -> Mask:
    """The authors' random mask: each weight pruned by its own coin flip, with the
    probability the reference (low-magnitude) mask prunes in its tensor; the counts are
    only expected ones."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in sorted(reference.tensors):
        keep = reference.tensors[n]
        fraction = np.count_nonzero(~keep) / keep.size
        out[n] = rng.random(keep.shape) >= fraction
    return Mask(out)


def _permutation(rng: np.random.Generator, n: int) -> np.ndarray:
    """``rng.permutation(n)`` in int32 where it fits: the same draws and the same order
    (the shuffle depends on the length only), half the memory of int64 (0.7 GB at
    LXMERT-base's 182M prunable weights)."""
    index = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng.shuffle(index)
    return index


def rewind(theta0: Mapping[str, np.ndarray], mask: Mask) -> dict[str, np.ndarray]:
    """theta_0 with the pruned weights set to zero (a new state dict)."""
    check_shapes(mask, shapes_of(theta0), "theta_0")
    return {k: v * mask.tensors[k] if k in mask.tensors else v for k, v in theta0.items()}


# --- N:M: N kept in every group of M consecutive weights along the input dimension --------


def _groups(shape: tuple, m: int, name: str) -> tuple[int, ...]:
    """A Linear weight (out, in) seen as (out, in / m, m): its groups of ``m``."""
    if len(shape) != 2 or shape[1] % m:
        raise InputError(
            f"parameter {name!r} of shape {tuple(shape)}: N:M sparsity needs a matrix whose "
            f"input dimension is a multiple of M = {m}"
        )
    return (shape[0], shape[1] // m, m)


def _keep_ranked(order: np.ndarray, n: int) -> np.ndarray:
    """Keep the first ``n`` of each group in ``order`` (positions sorted by preference)."""
    keep = np.zeros(order.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    return keep


def n_of_m_mask(
    weights: Mapping[str, np.ndarray], shapes: Mapping[str, tuple], n: int, m: int,
    largest: bool = True,
) -> Mask:  # fmt: skip
    """In every group of ``m`` consecutive weights along each matrix's input dimension,
    the ``n`` of largest magnitude kept (``largest``; else the ``n`` smallest: the
    high-magnitude control's reverse ranking). Ties go to the lower position in the
    group, so the mask is deterministic and every group keeps exactly ``n``."""
    out = {}
    for name in sorted(shapes):
        grouped = _magnitude(weights[name], name).reshape(_groups(shapes[name], m, name))
        # A stable sort keeps tied weights in position order.
        order = np.argsort(-grouped if largest else grouped, axis=-1, kind="stable")
        out[name] = _keep_ranked(order, n).reshape(shapes[name])
    return Mask(out)


def random_n_of_m_mask(shapes: Mapping[str, tuple], n: int, m: int, seed: int) -> Mask:
    """A uniformly random ``n`` of every group of ``m`` (the random control of N:M)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(shapes):
        grouped = _groups(shapes[name], m, name)
        order = np.argsort(rng.random(grouped), axis=-1, kind="stable")
        out[name] = _keep_ranked(order, n).reshape(shapes[name])
    return Mask(out)


def shuffle_groups(reference: Mask, m: int, seed: int) -> Mask:
    """The ticket's groups moved to random places within each matrix (the shuffled
    control of N:M): every group keeps its pattern, so the mask stays N:M, with the
    ticket's patterns, at positions the ticket did not choose."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(reference.tensors):
        keep = reference.tensors[name]
        groups = keep.reshape(-1, m)
        out[name] = groups[_permutation(rng, len(groups))].reshape(keep.shape)
    return Mask(out)
