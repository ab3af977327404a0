"""Targets a user may name on the command line, checked against the study before
Snakemake plans anything for them: a network or a stability pair outside the study would
otherwise be planned and trained, chain and all (or fail with another rule's error)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from snakemake.exceptions import WorkflowError

from lxmert_lth.core.network import Network
from lxmert_lth.pruning import chain


def study_network(network: Network, study: Mapping, pruning, target: str) -> Network:
    """``network``, when the study trains it; else one line naming the target."""
    if network not in chain.fine_tunes(study, pruning):
        raise WorkflowError(
            f"{target}: not a network of this study (seeds {study['seeds']}, kinds "
            f"{study['kinds']}, sparsities {study['sparsities']} and the IMP levels they need)"
        )
    return network


def stability_pair(
    target: str,
    folder: str,
    rewind: str,
    pairs: Sequence[tuple[Network, str]],
    orders: Sequence[int],
    order: str | None = None,
) -> Network:
    """The network of a stability pair (``folder`` from ``rewind``) and, for a copy, its
    data order; else one line naming the target and the pairs there are."""
    try:
        network = Network.from_folder(folder)
    except ValueError:
        network = None
    if (network, rewind) not in pairs:
        named = ", ".join(f"{n.folder} from {r}" for n, r in pairs[:4])
        more = ", ..." if len(pairs) > 4 else ""
        raise WorkflowError(
            f"{target}: not a stability pair of this study ({len(pairs)} pairs with "
            f"stability.enabled: {named or 'none'}{more})"
        )
    if order is not None and int(order) not in orders:
        raise WorkflowError(
            f"{target}/order{order}: not a copy of this study (stability.orders: {list(orders)})"
        )
    return network
