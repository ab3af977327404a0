"""Where a mask prunes: its sparsity per module of the model (encoder, layer, attention or
feed-forward), and how much of a low-magnitude mask a random mask of the same seed and
sparsity also prunes.

A prunable weight belongs to one of the family's encoders (LXMERT: language, vision and
cross-modality; VisualBERT: its single stream) or to another module of its own (the
pooler, ...); within a layer to its attention sublayers (self- and cross-attention with
their output projections) or to its feed-forward ones (``Family.module_of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import save_figure
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.models import families

COLUMNS = ["seed", "kind", "sparsity", "encoder", "layer", "part", "num_prunable",
           "num_pruned", "sparsity_percent", "overlap_with_random_percent"]  # fmt: skip


def module_of(name: str, family: str | None = None) -> tuple[str, int, str]:
    """(encoder, layer, part) of a prunable parameter of the family's model."""
    return families.get(family).module_of(name)


def module_rows(
    network: Network, mask: Mask, random: Mask | None = None, family: str | None = None
) -> list[dict]:
    """One row per module: prunable and pruned counts; for a low-magnitude mask with a
    random one beside it, the share of its pruned weights the random mask prunes too."""
    groups: dict[tuple, list[int]] = {}
    for name in sorted(mask.tensors):
        keep = mask.tensors[name]
        counts = groups.setdefault(module_of(name, family), [0, 0, 0])
        counts[0] += keep.size
        counts[1] += int((~keep).sum())
        if random is not None:
            counts[2] += int((~keep & ~random.tensors[name]).sum())
    rows = []
    for (encoder, layer, part), (prunable, pruned, both) in groups.items():
        overlap = 100.0 * both / pruned if random is not None and pruned else None
        rows.append({**network.row(), "encoder": encoder, "layer": layer, "part": part,
                     "num_prunable": prunable, "num_pruned": pruned,
                     "sparsity_percent": 100.0 * pruned / prunable,
                     "overlap_with_random_percent": overlap})  # fmt: skip
    return rows


def module_table(masks: Mapping[Network, str], family: str | None = None) -> pd.DataFrame:
    """Rows of every mask (network -> mask file), read one low/random pair at a time."""
    rows = []
    for network in sorted(masks):
        random = None
        twin = Network(network.seed, "random", network.sparsity)
        if network.kind == "low" and twin in masks:
            random = Mask.load(masks[twin])[0]
        rows += module_rows(network, Mask.load(masks[network])[0], random, family)
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_module_sparsity(
    table: pd.DataFrame,
    sparsity: int,
    kinds: Iterable[str],
    png: str,
    pdf: str,
    caption: str,
    family: str | None = None,
) -> None:
    """Mean sparsity over seeds of each encoder's attention and feed-forward weights, one
    bar per kind, at ``sparsity``."""
    at = table[table.sparsity == sparsity]
    per_module = at.groupby(["kind", "seed", "encoder", "part"])[["num_pruned", "num_prunable"]]
    summed = per_module.sum().reset_index()
    summed["percent"] = 100.0 * summed.num_pruned / summed.num_prunable
    mean = summed.groupby(["kind", "encoder", "part"]).percent.mean()
    model = families.get(family)
    modules = [(e, p) for e in model.encoders.values() for p in ("attention", "feed-forward")]
    modules += [(m, m) for m in model.other_modules.values() if m in set(at.encoder)]
    kinds = [k for k in kinds if k in set(at.kind)]
    fig = Figure(figsize=(9, 3.8))
    ax = fig.subplots()
    width = 0.8 / max(1, len(kinds))
    x = np.arange(len(modules))
    for i, kind in enumerate(kinds):
        values = [mean.get((kind, e, p), np.nan) for e, p in modules]
        ax.bar(x + (i - (len(kinds) - 1) / 2) * width, values, width, label=kind)
    ax.axhline(sparsity, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, [f"{e}\n{p}" for e, p in modules], fontsize=8)
    ax.set_ylabel("weights pruned (%)")
    ax.set_title(caption, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)


def summary(table: pd.DataFrame, sparsity: int, family: str | None = None) -> pd.DataFrame:
    """Mean over seeds at ``sparsity``, per encoder and part: each kind's sparsity and the
    share of the low-magnitude mask's pruned weights that the random mask prunes too."""
    at = table[table.sparsity == sparsity]
    keys = ["kind", "seed", "encoder", "part"]
    summed = at.groupby(keys)[["num_pruned", "num_prunable"]].sum()
    summed["percent"] = 100.0 * summed.num_pruned / summed.num_prunable
    low = at[at.kind == "low"].dropna(subset=["overlap_with_random_percent"])
    both = low.overlap_with_random_percent * low.num_pruned / 100.0
    overlap = (both.groupby([low.seed, low.encoder, low.part]).sum()
               / low.groupby(["seed", "encoder", "part"]).num_pruned.sum() * 100.0)  # fmt: skip
    out = summed.percent.groupby(["encoder", "part", "kind"]).mean().unstack("kind")
    order = families.get(family).module_order()
    out = out.sort_index(level="encoder", key=lambda e: e.map(order.index), sort_remaining=True)
    out = out.rename(columns=lambda k: f"{k} sparsity (%)")
    if not overlap.empty:
        out["low pruned also by random (%)"] = overlap.groupby(["encoder", "part"]).mean()
    return out.round(2).reset_index()
