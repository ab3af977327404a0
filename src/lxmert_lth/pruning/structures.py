"""Whole attention heads and feed-forward neurons: the structures of
``pruning.granularity: heads_neurons``, found from a family's head geometry
(``Family.attention_blocks``, ``Family.feed_forward_blocks``), and their masks.

A head of an attention block is its query, key and value rows of the head
(``head_dim = hidden / heads`` rows each) and the same columns of the block's output
projection; a neuron of a feed-forward block is a row of its inner layer and the same
column of its output layer. A structure is ranked by the mean magnitude of its weights
(its L1 norm over its count: a head has 4 x head_dim x hidden weights, a neuron 2 x its
layer's width, so the mean puts both on one scale), and heads and neurons share one
ranking. The masks stay per-weight masks over the prunable Linear weights: a pruned
structure's weights are all False, every other weight True (the pooler and any prunable
weight outside a structure are never pruned at this granularity). Ties go to the
structure found first (encoder layers in name order, blocks in the family's order, then
index), so masks are deterministic.

NumPy only, like ``pruning.single_weights``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import Mask, num_to_prune
from lxmert_lth.pruning.single_weights import permutation, weight_magnitude

HEAD, NEURON = "head", "neuron"


@dataclass(frozen=True)
class Structure:
    """One head or neuron: its weights, as (parameter, axis, first, last) slices."""

    kind: str  # HEAD or NEURON
    block: str  # the attention or feed-forward block's name (its output layer's)
    index: int
    parts: tuple[tuple[str, int, int, int], ...]


def find_structures(
    family, shapes: Mapping[str, tuple], num_heads: int
) -> tuple[list[Structure], dict[Structure, int]]:
    """Every head and neuron of the prunable weights, in order, and each one's weight
    count. A block is taken when all its Linear weights are prunable."""
    layers = sorted(
        {m.group(0)[: -len(m.group(3))] for n in shapes if (m := family.layer_pattern.match(n))}
    )
    found: list[Structure] = []
    sizes: dict[Structure, int] = {}
    for layer in layers:
        for qkv, out in family.attention_blocks:
            names = [f"{layer}{qkv}{p}.weight" for p in ("query", "key", "value")]
            output = f"{layer}{out}.weight"
            if not all(n in shapes for n in [*names, output]):
                continue
            rows = shapes[names[0]][0]
            if rows % num_heads:
                raise InputError(f"{names[0]}: {rows} rows do not split into {num_heads} heads")
            d = rows // num_heads
            for h in range(num_heads):
                parts = tuple((n, 0, h * d, (h + 1) * d) for n in names)
                parts += ((output, 1, h * d, (h + 1) * d),)
                s = Structure(HEAD, output, h, parts)
                found.append(s)
                sizes[s] = sum(_part_size(shapes, p) for p in parts)
        for inner, outer in family.feed_forward_blocks:
            first, second = f"{layer}{inner}.weight", f"{layer}{outer}.weight"
            if first not in shapes or second not in shapes:
                continue
            for j in range(shapes[first][0]):
                s = Structure(NEURON, second, j, ((first, 0, j, j + 1), (second, 1, j, j + 1)))
                found.append(s)
                sizes[s] = sum(_part_size(shapes, p) for p in s.parts)
    if not found:
        raise InputError(
            f"{family.label}: no attention head or feed-forward neuron among the prunable "
            "weights (pruning.granularity heads_neurons)"
        )
    return found, sizes


def _part_size(shapes, part) -> int:
    name, axis, lo, hi = part
    other = shapes[name][1 - axis]
    return (hi - lo) * other


def _view(array: np.ndarray, part) -> np.ndarray:
    _, axis, lo, hi = part
    return array[lo:hi] if axis == 0 else array[:, lo:hi]


def scores(weights: Mapping[str, np.ndarray], structures: Sequence[Structure]) -> np.ndarray:
    """Each structure's mean weight magnitude."""
    magnitude = {}
    out = np.empty(len(structures), dtype=np.float64)
    for i, s in enumerate(structures):
        total, count = 0.0, 0
        for part in s.parts:
            name = part[0]
            if name not in magnitude:
                magnitude[name] = weight_magnitude(weights[name], name)
            view = _view(magnitude[name], part)
            total += float(view.sum(dtype=np.float64))
            count += view.size
        out[i] = total / count
    return out


def structured_mask(
    shapes: Mapping[str, tuple], structures: Sequence[Structure], pruned: Sequence[bool]
) -> Mask:
    """The per-weight mask with the ``pruned`` structures' weights False."""
    keep = {n: np.ones(shape, dtype=bool) for n, shape in shapes.items()}
    for s, gone in zip(structures, pruned, strict=True):
        if gone:
            for part in s.parts:
                _view(keep[part[0]], part)[...] = False
    return Mask(keep)


def pruned_structures(mask: Mask, structures: Sequence[Structure]) -> np.ndarray:
    """Which structures a structured mask prunes (every weight False)."""
    return np.asarray(
        [not any(_view(mask.tensors[p[0]], p).any() for p in s.parts) for s in structures]
    )


def select(order: np.ndarray, sizes: np.ndarray, alive: np.ndarray, target: int) -> np.ndarray:
    """Of the structures in ``order`` (their pruned ones counted), prune the alive ones in
    that order until at least ``target`` of their weights are pruned; the structures
    outside ``order`` stay as ``alive`` says. Returns the pruned flags of all."""
    pruned = ~alive
    count = int(sizes[order][pruned[order]].sum())
    for i in order:
        if count >= target:
            break
        if alive[i]:
            pruned[i] = True
            count += int(sizes[i])
    return pruned


def heads_neurons_mask(
    weights: Mapping[str, np.ndarray] | None,
    shapes: Mapping[str, tuple],
    family,
    num_heads: int,
    sparsity: float,
    previous: Mask | None = None,
    largest: bool = False,
    seed: int | None = None,
    ranking: str = "shared",
) -> Mask:
    """Structures pruned until ``sparsity`` percent of the prunable weights are, from
    those ``previous`` keeps: the lowest-scored first (the ticket, by IMP), the
    highest-scored (``largest``: the high-magnitude control), or in a random order
    (``seed``, with ``weights`` None: the random control). ``ranking`` "shared": heads
    and neurons in one ranking; "separate": heads pruned to ``sparsity`` percent of the
    heads' weights and neurons to that of the neurons', each in its own ranking."""
    if ranking not in ("shared", "separate"):
        raise InputError(f"unknown structure ranking {ranking!r}: expected 'shared' or 'separate'")
    structures, size_of = find_structures(family, shapes, num_heads)
    sizes = np.asarray([size_of[s] for s in structures])
    alive = (
        ~pruned_structures(previous, structures)
        if previous is not None
        else np.ones(len(structures), dtype=bool)
    )
    if seed is not None:
        order = permutation(np.random.default_rng(seed), len(structures))
    else:
        score = scores(weights, structures)
        order = np.argsort(-score if largest else score, kind="stable")
    if ranking == "shared":
        total = sum(int(np.prod(s)) for s in shapes.values())
        pruned = select(order, sizes, alive, num_to_prune(total, sparsity))
    else:
        pruned = ~alive
        for kind in (HEAD, NEURON):
            members = np.asarray([s.kind == kind for s in structures])
            target = num_to_prune(int(sizes[members].sum()), sparsity)
            pruned = select(order[members[order]], sizes, ~pruned, target)
    return structured_mask(shapes, structures, pruned)


def complement_structures(shapes: Mapping[str, tuple], family, num_heads: int, low: Mask) -> Mask:
    """Every structure the ticket keeps pruned, every one it prunes kept (the
    high-magnitude control: the complement within the structures; weights outside them
    are kept, as in every mask of this granularity)."""
    structures, _ = find_structures(family, shapes, num_heads)
    return structured_mask(shapes, structures, ~pruned_structures(low, structures))


def shuffle_structures(
    shapes: Mapping[str, tuple], family, num_heads: int, reference: Mask, seed: int
) -> Mask:
    """As many heads and neurons pruned in each block as the ticket prunes there, drawn
    at random within the block (the shuffled control, block by block as the unstructured
    one is tensor by tensor)."""
    structures, _ = find_structures(family, shapes, num_heads)
    gone = pruned_structures(reference, structures)
    rng = np.random.default_rng(seed)
    pruned = np.zeros(len(structures), dtype=bool)
    blocks: dict[tuple[str, str], list[int]] = {}
    for i, s in enumerate(structures):
        blocks.setdefault((s.block, s.kind), []).append(i)
    for members in blocks.values():
        count = int(gone[members].sum())
        chosen = np.asarray(members)[permutation(rng, len(members))[:count]]
        pruned[chosen] = True
    return structured_mask(shapes, structures, pruned)
