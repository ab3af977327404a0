"""Subnetwork kinds and the pruning options: one registry entry per kind.

A kind says, in one place, which files its mask is made from (``sources``), how the mask
is made from them (``make``), which pruning options it depends on (``params``: the rerun
triggers of its jobs, so that changing one kind's option reruns that kind only), and its
label and style in tables and figures (docs/method.md, "What the workflow does" and "The
choices"). ``PruningOptions`` is the configuration's ``pruning`` section as one typed
value, its defaults taken from the schema (the one place they are written).

This module imports neither torch nor the mask maths at import time: the Snakefile reads
the registry to build the DAG.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from .granularities.base import dense as _dense
from .granularities.base import load as _load
from .granularities.base import ticket as _low

if TYPE_CHECKING:
    from .masks import Mask
    from .network import Network

# What a mask is made from: a network and which of its files.
TRAINED = "trained"  # a network's trained weights (model.safetensors)
MASK = "mask"  # a network's mask (mask.safetensors)
LATE = "late"  # the dense network's weights after study.late_rewind_step steps


@dataclass(frozen=True)
class PruningOptions:
    """``pruning`` of the configuration (docs/configuration.md, "pruning")."""

    step: int
    ranking: str
    random: str
    prunable_modules: str | None
    schedule: str
    high: str
    enforce_masks: bool
    prunable_set: str
    scope: str
    granularity: str
    structure_ranking: str
    n_of_m: tuple[int, int]  # (N, M)

    @classmethod
    def of(cls, section: Mapping | PruningOptions) -> PruningOptions:
        """From a configuration's ``pruning`` section; keys left out get the schema's
        defaults; a key the schema does not know, or a required one missing, is an error."""
        if isinstance(section, cls):
            return section
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - names)
        if unknown:
            raise KeyError(f"pruning.{unknown[0]}: not a pruning option")
        values = {**_schema_defaults(), **section}
        missing = sorted(names - set(values))
        if missing:
            raise KeyError(f"pruning.{missing[0]}: required")
        group = values["n_of_m"]
        if isinstance(group, Mapping):  # the configuration's {n, m}
            group = {**_n_of_m_defaults(), **group}
            group = (group["n"], group["m"])
        return cls(**{n: values[n] for n in names} | {"n_of_m": tuple(group)})

    @property
    def n_of_m_sparsity(self) -> float:
        """The one sparsity of N:M masks: 100 x (1 - N / M)."""
        n, m = self.n_of_m
        return 100 * (m - n) / m


@functools.cache
def _schema_defaults() -> dict:
    from .config_reference import load_schema

    props = load_schema()["properties"]["pruning"]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v}


@functools.cache
def _n_of_m_defaults() -> dict:
    from .config_reference import load_schema

    props = load_schema()["properties"]["pruning"]["properties"]["n_of_m"]["properties"]
    return {k: v["default"] for k, v in props.items()}


@dataclass(frozen=True)
class Kind:
    """One kind of subnetwork."""

    name: str
    label: str
    style: tuple[str, str]  # colour and marker
    # (network, options, study) -> role -> (network, TRAINED | MASK | LATE)
    sources: Callable[[Network, PruningOptions, Mapping], dict[str, tuple[Network, str]]]
    # (network, prunable shapes, sources' files by role, options, theta_0's metadata)
    # -> (mask, how it was made)
    make: Callable[[Network, Mapping, Mapping[str, str], PruningOptions, object], tuple[Mask, dict]]
    # (options, study) -> the options its jobs depend on
    params: Callable[[PruningOptions, Mapping], dict]
    # Where its rewound weights come from: theta_0, the dense network's early weights
    # (LATE), or fresh draws of the prunable tensors ("fresh").
    rewind_from: str = "theta0"


def _seed(network: Network) -> int:
    """The seed of a subnetwork's own draws (random masks)."""
    return network.seed * 1000 + network.sparsity


# Seeds of the draws besides the random masks', apart from them.
SHUFFLE_SEED_OFFSET = 500
HIGH_SEED_OFFSET = 300
REINIT_SEED_OFFSET = 700


def reinit_seed(network: Network) -> int:
    return _seed(network) + REINIT_SEED_OFFSET


def _granularity(options: PruningOptions):
    from . import granularities

    return granularities.of(options)


def _granularity_params(options: PruningOptions) -> dict:
    return _granularity(options).params(options)


# --- what each kind is at the configuration's granularity (lxmert_lth.granularities) ----


def _low_sources(network, options, study):
    return _granularity(options).low_sources(network, options, study)


def _low_make(network, shapes, files, options, meta):
    return _granularity(options).low(shapes, files, network.sparsity, options, meta)


def _low_params(options, study):
    return _granularity(options).low_params(options)


def _high_sources(network, options, study):
    return _granularity(options).high_sources(network, options, study)


def _high_make(network, shapes, files, options, meta):
    seed = _seed(network) + HIGH_SEED_OFFSET
    return _granularity(options).high(network, shapes, files, options, meta, seed)


def _high_params(options, study):
    return _granularity(options).high_params(options)


def _random_sources(network, options, study):
    return _granularity(options).random_sources(network, options, study)


def _random_make(network, shapes, files, options, meta):
    return _granularity(options).random(network, shapes, files, options, meta, _seed(network))


# --- the lottery-ticket controls ------------------------------------------------------------


def _oneshot_make(network, shapes, files, options, meta):
    """The ticket's sparsity pruned in one shot from the dense network."""
    one_shot = replace(options, schedule="original")
    mask, how = _granularity(options).low(shapes, files, network.sparsity, one_shot, meta)
    return mask, how | {"one_shot": True}


def _shuffled_make(network, shapes, files, options, meta):
    seed = _seed(network) + SHUFFLE_SEED_OFFSET
    return _granularity(options).shuffled(shapes, files, options, meta, seed)


def _reinit_make(network, shapes, files, options, meta):
    how = {"mask_of": files["reference"], "reinit_seed": reinit_seed(network)}
    return _load(files["reference"]), how


def _late_make(network, shapes, files, options, meta):
    return _load(files["reference"]), {"mask_of": files["reference"], "late": files["late"]}


def _reference(network, options, study):
    return {"reference": (_low(network), MASK)}


def _late_sources(network, options, study):
    return {"reference": (_low(network), MASK), "late": (_dense(network, study), LATE)}


def _none(options, study):
    return {}


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("low", "low-magnitude", ("tab:blue", "o"), _low_sources, _low_make, _low_params),
        Kind("high", "high-magnitude", ("tab:orange", "s"), _high_sources, _high_make,
             _high_params),
        Kind("random", "random", ("tab:green", "^"), _random_sources, _random_make,
             lambda options, study: {"random": options.random, **_granularity_params(options)}),
        Kind("oneshot", "one-shot magnitude", ("tab:purple", "D"),
             lambda n, o, s: {"trained": (_dense(n, s), TRAINED)}, _oneshot_make,
             lambda options, study: {"ranking": options.ranking, **_granularity_params(options)}),
        Kind("shuffled", "shuffled ticket", ("tab:brown", "v"), _reference, _shuffled_make,
             lambda options, study: _granularity_params(options)),
        Kind("reinit", "reinitialised ticket", ("tab:pink", "P"), _reference, _reinit_make,
             _none, rewind_from="fresh"),
        Kind("late", "late-rewound ticket", ("tab:cyan", "X"), _late_sources, _late_make,
             lambda options, study: {"late_rewind_step": study["late_rewind_step"]},
             rewind_from=LATE),
    )
}  # fmt: skip
