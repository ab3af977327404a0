"""N:M masks, in NumPy: N weights kept in every group of M consecutive input weights of a
row (2:4 is what sparse tensor cores run), by magnitude, at random, or a ticket's groups
shuffled.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import Mask
from lxmert_lth.pruning.single_weights import permutation, weight_magnitude


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
        grouped = weight_magnitude(weights[name], name).reshape(_groups(shapes[name], m, name))
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
        out[name] = groups[permutation(rng, len(groups))].reshape(keep.shape)
    return Mask(out)
