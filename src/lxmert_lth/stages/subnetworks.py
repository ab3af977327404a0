"""Stages of ``rules/subnetworks.smk``: the masks of the low-magnitude (IMP),
high-magnitude and random subnetworks, and theta_0 rewound under a mask.

NumPy only, on purpose: these jobs each derive one mask in a second or two and would
otherwise spend most of their time importing torch (``tests/test_project.py`` checks
that nothing here imports it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from .. import masks
from ..checkpoints import CheckpointMeta
from ..io import load_tensors, save_tensors
from ..masks import Mask

log = logging.getLogger("lxmert_lth")


def low_magnitude_subnetwork(
    theta0: str,
    trained: str,
    previous_mask: str | None,
    out: str,
    sparsity: int,
    ranking: str,
) -> None:
    """IMP level: prune the trained network's lowest-magnitude surviving weights."""
    state, meta = _load_theta0(theta0)
    weights, _ = load_tensors(trained, framework="np")
    if previous_mask:
        mask, _ = Mask.load(previous_mask)
    else:
        mask = Mask.ones_like({n: state[n] for n in meta.prunable})
    new = masks.prune_lowest_magnitude(weights, mask, sparsity, ranking)
    _save_mask(new, meta.num_total_parameters, out, kind="low", ranking=ranking, trained=trained)


def high_magnitude_subnetwork(low_mask: str, out: str) -> None:
    """The exact complement of a low-magnitude mask within the prunable set."""
    low, low_meta = Mask.load(low_mask)
    num_total = low_meta["num_total_parameters"]
    _save_mask(low.complement(), num_total, out, kind="high", complement_of=low_mask)


def random_subnetwork(
    theta0: str, reference: str | None, out: str, sparsity: int, seed: int
) -> None:
    """Random mask pruning as many weights as the low-magnitude mask at ``sparsity``:
    the same total anywhere (global), or, given the ``reference`` low-magnitude mask,
    the same number in each tensor (per layer)."""
    state, meta = _load_theta0(theta0)
    shapes = {n: state[n].shape for n in meta.prunable}
    if reference:
        counts, mode = Mask.load(reference)[0].per_tensor_pruned(), "per_layer"
    else:
        total = sum(int(np.prod(s)) for s in shapes.values())
        counts, mode = masks.num_to_prune(total, sparsity), "global"
    mask = masks.random_mask(shapes, counts, seed=seed * 1000 + sparsity)
    _save_mask(mask, meta.num_total_parameters, out, kind="random", mode=mode)


def rewind(theta0: str, mask_path: str, out: str) -> None:
    """theta_0 with the mask's pruned weights zeroed, as a checkpoint with theta_0's
    metadata and the mask's."""
    state, meta = _load_theta0(theta0)
    mask, mask_meta = Mask.load(mask_path)
    rewound = meta.with_extra(**meta.extra, mask=mask_meta)
    save_tensors(out, masks.rewind(state, mask), rewound.to_json())
    log.info(
        "rewound to theta_0: %d of %d prunable weights pruned", mask.num_pruned, mask.num_prunable
    )


def _load_theta0(path: str) -> tuple[dict[str, np.ndarray], CheckpointMeta]:
    state, raw = load_tensors(path, framework="np")
    return state, CheckpointMeta.from_json(raw, path)


def _save_mask(mask: Mask, num_total: int, out: str, **meta: Mapping) -> None:
    log.info(
        "%s: %d of %d prunable weights pruned (%.2f%%)",
        meta["kind"],
        mask.num_pruned,
        mask.num_prunable,
        mask.sparsity,
    )
    mask.save(out, **mask.metadata(num_total, **meta))
