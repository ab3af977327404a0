"""The chain of fine-tunes: what each subnetwork's mask is made from (its kind's sources at
the configuration's granularity), which fine-tunes must finish first, and every fine-tune
the study needs beyond the networks it asks for (the IMP levels on the way, the levels a
high-magnitude mask complements). Each fine-tune's level on the longest chain is its
scheduling priority.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.grid import dense_network, networks
from lxmert_lth.core.network import LATE, Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.pruning import kinds

# --- the fine-tunes and what each waits for --------------------------------------------


def mask_sources(
    network: Network, pruning, study: Mapping | None = None
) -> dict[str, tuple[Network, str]]:
    """What the mask (and, for ``late``, the rewind point) of a subnetwork is made from
    (``docs/method.md``), by role: the network and which of its files (``TRAINED``,
    ``MASK`` or ``LATE``): its kind's ``sources`` (``lxmert_lth.pruning.kinds``). The dense
    network has none. ``study`` says which dense network a seed uses
    (``study.dense_seed``); without it, the seed's own."""
    if network.is_dense:
        return {}
    return kinds.get(network.kind).sources(network, PruningOptions.of(pruning), study or {})


def waits_for(network: Network, pruning: Mapping, study: Mapping | None = None) -> list[Network]:
    """The networks of this run whose training must finish before this one's can start
    (a kind whose sources are another run's waits for none)."""
    if not network.is_dense and kinds.get(network.kind).external:
        return []
    return sorted({source for source, _ in mask_sources(network, pruning, study).values()})


def fine_tunes(study: Mapping, pruning: Mapping) -> list[Network]:
    """Every network the study trains: its own, and the IMP levels their masks need
    beyond them (high at 10 % needs the level at 90 %)."""
    todo, seen = list(networks(study)), set()
    while todo:
        network = todo.pop()
        if network not in seen:
            seen.add(network)
            todo.extend(waits_for(network, pruning, study))
    return sorted(seen)


def levels(study: Mapping, pruning: Mapping) -> dict[Network, int]:
    """Each fine-tune's level: the fine-tunes on the longest chain from it to the end of
    the study, itself included. Starting the highest level first (the IMP chain before
    the controls) keeps the chain from waiting: it is the jobs' scheduling priority."""
    nets = fine_tunes(study, pruning)
    after = {n: [] for n in nets}
    for n in nets:
        for source in waits_for(n, pruning, study):
            after[source].append(n)
    level: dict[Network, int] = {}

    def visit(n: Network) -> int:
        if n not in level:
            level[n] = 1 + max((visit(m) for m in after[n]), default=0)
        return level[n]

    for n in nets:
        visit(n)
    return level


def rewind_point(network: Network, study: Mapping) -> str:
    """What a network starts from, as the stability analysis names it: ``theta0``,
    ``stepK`` (the late control: the dense network after K steps) or ``fresh`` (reinit)."""
    if network.is_dense:
        return "theta0"
    start = kinds.get(network.kind).rewind_from
    if start == LATE:
        return f"step{study['late_rewind_step']}"
    return "fresh" if start == "fresh" else "theta0"


def stability_pairs(study: Mapping, stability: Mapping) -> list[tuple[Network, str]]:
    """(network, rewind point) of every pair of copies the stability analysis trains:
    per seed the dense network (from theta_0 and, with ``study.late_rewind_step``, from
    that step), each kind at the table sparsity, and the ticket (and the late control)
    at every sparsity; none unless ``stability.enabled``."""
    if not stability.get("enabled"):
        return []
    pairs: list[tuple[Network, str]] = []

    def add(network: Network, rewind: str) -> None:
        if (network, rewind) not in pairs:
            pairs.append((network, rewind))

    step = study.get("late_rewind_step")
    for seed in study["seeds"]:
        dense = dense_network(seed, study)
        add(dense, "theta0")
        if "late" in study["kinds"]:  # the dense job writes the step-K weights for it
            add(dense, f"step{step}")
        for kind in study["kinds"]:
            add(Network(seed, kind, study["table_sparsity"]), "")
        for kind in ("low", "late"):
            if kind in study["kinds"]:
                for sparsity in sorted(study["sparsities"]):
                    add(Network(seed, kind, sparsity), "")
    return [(n, r or rewind_point(n, study)) for n, r in pairs]
