"""Masks of single weights, in NumPy: magnitude pruning (global or per tensor, from the
dense network or the previous IMP level), the authors' schedule, random masks and
complements.

The maths is NumPy on purpose: the subnetwork jobs each derive one mask and would
otherwise spend most of their time importing torch. ``lxmert_lth.pruning.enforcement``
applies masks to torch models during training.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import Mask, check_shapes, num_to_prune, shapes_of, split_flat


def prune_lowest_magnitude(
    weights: Mapping[str, np.ndarray], mask: Mask, sparsity: float, ranking: str = "global"
) -> Mask:
    """Prune the lowest-magnitude surviving weights until ``sparsity`` percent are pruned.

    ``ranking="global"`` ranks all surviving prunable weights together (the paper's text);
    ``"per_tensor"`` prunes each tensor to ``sparsity`` on its own (the authors' code).
    Ties are broken by position (parameter names in sorted order, then row-major), so the
    result is deterministic and the pruned count is exact.

    ``weights`` may be lazy (:class:`lxmert_lth.core.io.TensorFile`): each tensor is read when
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
        magnitude = weight_magnitude(weights[n], n)
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
        groups = {n: np.sort(weight_magnitude(weights[n], n), axis=None) for n in names}
    else:
        pool = np.empty(sum(int(np.prod(shapes[n])) for n in names), dtype=np.float32)
        start = 0
        for n in names:
            magnitude = weight_magnitude(weights[n], n).ravel()
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
        magnitude = weight_magnitude(weights[n], n).reshape(shapes[n])
        out[n] = magnitude > cutoff if cutoff is not None else np.ones(shapes[n], dtype=bool)
    return Mask(out), steps


def weight_magnitude(weight, name: str) -> np.ndarray:
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
        alive = weight_magnitude(weights[n], n)[mask.tensors[n]]
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
            keep[permutation(rng, keep.size)[: num_pruned[n]]] = False
            out[n] = keep.reshape(shapes[n])
        return Mask(out)
    total = sum(int(np.prod(shapes[n])) for n in names)
    if not 0 <= num_pruned <= total:
        raise InputError(f"cannot prune {num_pruned} of {total} weights")
    keep = np.ones(total, dtype=bool)
    keep[permutation(rng, total)[:num_pruned]] = False
    return Mask(split_flat(keep, names, shapes))


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
            chosen = pruned[permutation(rng, pruned.size)[: kept.size]]
        else:
            extra = kept[permutation(rng, kept.size)[: kept.size - pruned.size]]
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


def permutation(rng: np.random.Generator, n: int) -> np.ndarray:
    """``rng.permutation(n)`` in int32 where it fits: the same draws and the same order
    (the shuffle depends on the length only), half the memory of int64 (0.7 GB at
    LXMERT-base's 182M prunable weights)."""
    index = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng.shuffle(index)
    return index
