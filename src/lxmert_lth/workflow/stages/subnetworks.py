"""Stage of ``rules/subnetworks.smk``: one job per subnetwork makes its mask, rewinds
theta_0 under it, and retrains it.

The masks, by kind (``docs/method.md``, "The choices"):

* ``low`` at level L (IMP): the lowest-magnitude surviving weights of level L-1's
  retrained network (level 0: the dense network) are pruned, on top of level L-1's mask;
* ``high`` at s: the exact complement of the low-magnitude mask at 100 - s;
* ``random`` at s: as many weights as the low-magnitude mask at s prunes, drawn with the
  seed, anywhere in the prunable set (``global``) or the same number in each tensor as
  that mask (``per_layer``), or a coin flip per weight with that tensor's pruned fraction
  (``coin_flip``, the authors' code);
* the controls: ``oneshot`` (the dense network pruned to s in one step), ``shuffled`` (the
  low mask permuted within each tensor), ``reinit`` (the low mask, its kept weights drawn
  afresh by the model's initialisation instead of theta_0) and ``late`` (the low mask
  applied to the dense network's weights after k steps instead of theta_0).

Making a mask takes a second at the embedded default's size, so it is done by the job
that retrains the subnetwork, not by a process of its own; the mask and the rewound
theta_0 are still declared outputs (the rewound one temporary, as it is theta_0 ⊙ mask).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields

import numpy as np

from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors, compact
from lxmert_lth.core.io import save_tensors
from lxmert_lth.core.masks import Mask, check_shapes, shapes_of
from lxmert_lth.core.network import LATE, Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.models.modeling import fresh_weights
from lxmert_lth.pruning.kinds import KINDS, reinit_seed
from lxmert_lth.workflow.stages.finetuning import (
    FinetuneOutputs,
    JobOptions,
    Scoring,
    StartingPoint,
    TrainingData,
    finetune,
)

log = logging.getLogger("lxmert_lth")


@dataclass(frozen=True)
class MaskSources:
    """The files a subnetwork's mask is made from; which ones depends on its kind."""

    trained: str | None = None  # low: level L-1's trained network (the dense one at L1)
    previous_mask: str | None = None  # low: level L-1's mask (none at the first level)
    low_mask: str | None = None  # high: the low-magnitude mask at 100 - s
    reference: str | None = None  # random (per layer), controls: the low mask at s
    late: str | None = None  # late: the dense network after k steps (its rewind point)

    @classmethod
    def from_input(cls, files: Mapping[str, str]) -> MaskSources:
        """From a job's ``snakemake.input`` (which holds the kind's sources only)."""
        return cls(**{f.name: files[f.name] for f in fields(cls) if f.name in files.keys()})


@dataclass(frozen=True)
class SubnetworkOutputs:
    mask: str
    rewound: str
    trained: FinetuneOutputs


def retrain_subnetwork(
    data: TrainingData,
    theta0: str,
    sources: MaskSources,
    outputs: SubnetworkOutputs,
    network: Network,
    pruning: PruningOptions,
    recipe: dict,
    max_length: int,
    scoring: Scoring,
    options: JobOptions,
) -> None:
    """Make the mask, write theta_0 rewound under it, and retrain it (mask enforced,
    unless ``pruning.enforce_masks`` is off)."""
    make_subnetwork(theta0, sources, network, pruning, outputs)
    start = StartingPoint(outputs.rewound, outputs.mask, pruning.enforce_masks)
    # The mask and the rewound theta_0 are rewritten by every attempt: a resumed attempt
    # must agree with what they are made from, not with their modification times.
    made_from = [*data.files(), theta0, *(p for p in astuple(sources) if p)]
    finetune(data, start, outputs.trained, network, recipe, max_length, scoring, options, made_from)


def make_subnetwork(
    theta0: str,
    sources: MaskSources,
    network: Network,
    pruning: PruningOptions,
    outputs: SubnetworkOutputs,
) -> None:
    """Write the mask and theta_0 (``late``: the dense network's early weights; ``reinit``:
    fresh weights) rewound under it. Checkpoints are read a tensor at a time
    (``CheckpointTensors``): the mask maths never holds one whole (856 MB at LXMERT-base),
    rewinding holds only its output."""
    state, meta = start_weights(network, theta0, sources.late)
    shapes = {n: state.shapes[n] for n in meta.prunable}
    mask, mask_meta = make_mask(network, shapes, meta, sources, pruning)
    mask.save(outputs.mask, **mask_meta)
    rewind(fresh_if_asked(network, state, meta), meta, mask, mask_meta, outputs.rewound)


def start_weights(network: Network, theta0: str, late: str | None):
    """(weights read a tensor at a time, theta_0's metadata): what the kind rewinds to,
    theta_0 or (``late``) the dense network after k steps."""
    state = CheckpointTensors(late if KINDS[network.kind].rewind_from == LATE else theta0)
    return state, CheckpointMeta.from_json(state.metadata, theta0)


def fresh_if_asked(network: Network, state, meta: CheckpointMeta):
    """``reinit``: the prunable weights drawn afresh by the model's initialisation."""
    if KINDS[network.kind].rewind_from != "fresh":
        return state
    shapes = sorted(meta.prunable)
    return {**state, **fresh_weights(meta, shapes, reinit_seed(network))}


def rewind_again(network: Network, theta0: str, late: str | None, mask_path: str, out: str):
    """A subnetwork's starting point made again from its kept mask (the stability copies
    start where it started): the same tensors as its temporary ``rewound.safetensors``."""
    state, meta = start_weights(network, theta0, late)
    mask, mask_meta = Mask.load(mask_path)
    rewind(fresh_if_asked(network, state, meta), meta, mask, mask_meta, out)


def make_mask(
    network: Network,
    shapes: Mapping[str, tuple],
    meta: CheckpointMeta,
    sources: MaskSources,
    pruning: PruningOptions,
) -> tuple[Mask, dict]:
    """The subnetwork's mask over the prunable parameters (``shapes``) and its metadata
    (counts and how it was made): its kind's ``make`` (``lxmert_lth.pruning.kinds``)."""
    if network.kind not in KINDS:
        raise ValueError(f"{network.name}: not a subnetwork")
    files = {f.name: getattr(sources, f.name) for f in fields(sources) if getattr(sources, f.name)}
    mask, how = KINDS[network.kind].make(network, shapes, files, pruning, meta)
    check_shapes(mask, shapes, "theta_0's prunable parameters")
    log.info(
        "%s: %d of %d prunable weights pruned (%.2f%%)",
        network.name,
        mask.num_pruned,
        mask.num_prunable,
        mask.sparsity,
    )
    return mask, mask.metadata(meta.num_total_parameters, kind=network.kind, **how)


def rewind(
    theta0: Mapping[str, np.ndarray],
    meta: CheckpointMeta,
    mask: Mask,
    mask_meta: dict,
    out: str,
) -> None:
    """theta_0 with the mask's pruned weights zeroed, as a (compact) checkpoint with
    theta_0's metadata and the mask's."""
    check_shapes(mask, shapes_of(theta0), "theta_0")
    rewound = meta.with_extra(**meta.extra, mask=mask_meta)
    tensors, layout = compact(theta0, mask.tensors, out, rewind=True)
    save_tensors(out, tensors, {**rewound.to_json(), **layout})
    log.info("rewound to theta_0: %d of %d weights pruned", mask.num_pruned, mask.num_prunable)
