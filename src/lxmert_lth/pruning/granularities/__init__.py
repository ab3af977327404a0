"""Pruning granularities (``pruning.granularity``): one module per granularity.

A granularity says what the unit of pruning is and so what every kind of subnetwork
means at it: how the IMP ticket is pruned (``low``), what the high-magnitude mask, the
random draw and the shuffled ticket are, which files each is made from, which options
its masks depend on (the rerun triggers), and which study grids it allows. The kinds
(``lxmert_lth.pruning.kinds``) ask the configuration's granularity; the mask maths stays
in ``pruning.single_weights``, ``pruning.groups`` (N:M) and ``pruning.structures`` (heads
and neurons). A new granularity is a module here with its entry in ``GRANULARITIES``,
its name in the schema's ``pruning.granularity`` enum, and its section of
docs/method.md ("Granularities").

Like ``lxmert_lth.pruning.kinds``, nothing here imports torch at import time: the
Snakefile reads the registry to build the DAG.
"""

from __future__ import annotations

from lxmert_lth.core.options import PruningOptions
from lxmert_lth.pruning.granularities.base import Granularity
from lxmert_lth.pruning.granularities.heads_neurons import HeadsNeurons
from lxmert_lth.pruning.granularities.n_of_m import NOfM
from lxmert_lth.pruning.granularities.unstructured import Unstructured

GRANULARITIES: dict[str, Granularity] = {
    g.name: g for g in (Unstructured(), HeadsNeurons(), NOfM())
}


def get(name: str) -> Granularity:
    try:
        return GRANULARITIES[name]
    except KeyError:
        raise KeyError(
            f"pruning.granularity: {name!r} is not one of {sorted(GRANULARITIES)}"
        ) from None


def of(options: PruningOptions) -> Granularity:
    """The granularity of a configuration's pruning options."""
    return get(options.granularity)


__all__ = ["GRANULARITIES", "Granularity", "get", "of"]
