"""The study's grid: which networks a configuration asks for, which dense network each
seed's subnetworks come from, which split is scored, and whether every sparsity is a level
of the IMP schedule.

Pure functions of the configuration's ``study`` section (schema defaults filled in), used
by the Snakefile, the plan and the tests; no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions


@dataclass(frozen=True)
class ScoredSplit:
    """The labelled split scored locally: the question file and what tables call it."""

    name: str  # the question file: data/{name}.json
    label: str


SCORED_SPLITS = {
    "easy_vqa": ScoredSplit("test", "test"),
    # test2015 is unlabelled: the EvalAI server scores each network's predictions.
    "vqa_v2": ScoredSplit("val", "minival"),
    "vqacp_v2": ScoredSplit("test", "VQA-CP test"),
}


def scored_split(dataset: str) -> ScoredSplit:
    """easy-VQA: its test split. VQA v2: minival (the val file), since test2015 is
    unlabelled and scored by the EvalAI server from each network's predictions. VQA-CP v2:
    its test split, labelled, the one its papers report."""
    return SCORED_SPLITS[dataset]


# The shifted sets: test questions that differ from training, scored beside the scored
# split by every training job (data/shifted/{name}.json), by name, with their labels.
SHIFTED_SETS = {
    "pairs": "held-out pairs",  # easy-VQA, dataset.shift.pairs
    "templates": "held-out templates",  # easy-VQA, dataset.shift.templates
    "counterexamples": "VQA-CE counterexamples",  # VQA v2, dataset.ood
    "easy": "VQA-CE easy",
    "rephrasings": "VQA-Rephrasings",
}
SHIFTED_PREFIX = "shifted_"  # a shifted set's key among a job's inputs and outputs


def shifted_sets(dataset: Mapping) -> list[str]:
    """The shifted sets a configuration's ``dataset`` section makes, in SHIFTED_SETS'
    order: easy-VQA's from the non-empty lists of ``dataset.shift``, VQA v2's from the
    files given in ``dataset.ood``."""
    if dataset["name"] == "easy_vqa":
        shift = dataset.get("shift") or {}
        return [name for name in ("pairs", "templates") if shift.get(name)]
    if dataset["name"] == "vqa_v2":
        ood = dataset.get("ood") or {}
        given = {name for name in ("counterexamples", "easy") if ood.get(name)}
        if ood.get("rephrasings_questions"):
            given.add("rephrasings")
        return [name for name in SHIFTED_SETS if name in given]
    return []


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
