"""The study's grid: which networks a configuration asks for, which dense network each
seed's subnetworks come from, and whether every sparsity is a level of the IMP schedule
(which split is scored, and the shifted sets: ``lxmert_lth.data.datasets``).

Pure functions of the configuration's ``study`` section (schema defaults filled in), used
by the Snakefile, the plan and the tests; no torch.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions

SHIFTED_PREFIX = "shifted_"  # a shifted set's key among a job's inputs and outputs


def previous_level(sparsity: int, step: int) -> int:
    """The IMP level a level's mask is computed from (0 = the dense network)."""
    return sparsity - step


def subnetworks(study: Mapping) -> list[tuple[str, int]]:
    """(kind, sparsity) of every subnetwork the study retrains, per seed."""
    return [(k, s) for k in study["kinds"] for s in sorted(study["sparsities"])]


def dense_network(seed: int, study: Mapping) -> Network:
    """The dense network a seed's subnetworks come from: its own, or with
    ``study.dense_seed`` (the authors' code) the one dense fine-tune every seed shares."""
    dense_seed = study.get("dense_seed")
    return Network(seed if dense_seed is None else dense_seed)


def networks(study: Mapping) -> list[Network]:
    """Every network of the study: the dense ones (one per seed, or the shared one), then
    each seed's subnetworks."""
    found: list[Network] = []
    for seed in study["seeds"]:
        dense = dense_network(seed, study)
        found += [] if dense in found else [dense]
        found += [Network(seed, k, s) for k, s in subnetworks(study)]
    return found


def theta0_seed(network: Network, study: Mapping) -> int:
    """The seed of the theta_0 a network starts from (rewinds to): its dense network's."""
    return dense_network(network.seed, study).seed


def check_levels(study: Mapping, pruning: PruningOptions) -> None:
    """IMP: every sparsity is a level of the schedule (and so is 100 - s where the
    high-magnitude mask is the complement of the ticket there)."""
    step = pruning.step
    # With schedule: remaining, every level is pruned from the dense network to its own
    # target: any sparsity is one.
    on_levels = pruning.schedule == "original"
    complement = pruning.high == "complement"
    for s in study["sparsities"]:
        if on_levels and s % step:
            raise ConfigError(
                f"study.sparsities: {s} is off the pruning schedule "
                f"(pruning.step = {step}: levels {step}, {2 * step}, ...)"
            )
        if on_levels and complement and "high" in study["kinds"] and (100 - s) % step:
            raise ConfigError(
                f"study.sparsities: the high-magnitude mask at {s}% is the complement of the "
                f"IMP level at {100 - s}%, which is off the schedule of pruning.step = {step}"
            )
