"""Tickets across tasks (Gan et al., AAAI 2022): the transfer matrix and, per target task,
accuracy against sparsity.

Each task's run (its results folder) is a target: its own ticket (``low``), the ticket
of the task it takes tickets from (``transfer``, ``study.transfer_from``), the
pre-training ticket (``pretraining``) and its controls, every one retrained from the
target's theta_0. A source is a task (its ticket) or pre-training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import save_figure
from lxmert_lth.core.network import DENSE
from lxmert_lth.data import tasks
from lxmert_lth.reporting.report import (
    DASH,
    KEPT_SHARE,
    STYLES,
    format_mean_std,
    highest_sparsity_kept,
    summarise,
)

PRETRAINING = "pre-training"


@dataclass(frozen=True)
class Target:
    """A task's run: its scores and the label of the task its transferred tickets are
    from (None when it has none)."""

    scores: pd.DataFrame
    transfer_from: str | None = None

    def kind_of(self, source: str, label: str) -> str | None:
        """The kind that holds ``source``'s ticket in this run (``label``: its own task)."""
        if source == label:
            return "low"
        if source == PRETRAINING:
            return "pretraining"
        return "transfer" if source == self.transfer_from else None

    def overall(self, kind: str, sparsity: int | None = None) -> pd.Series:
        sel = self.scores[self.scores.kind == kind]
        return sel.overall if sparsity is None else sel[sel.sparsity == sparsity].overall


def build_matrix(targets: Mapping[str, Target], sparsity: int) -> pd.DataFrame:
    """Source x target at ``sparsity``: the accuracy (mean ± sample std over seeds), its
    share of the target's own ticket's mean, and the highest sparsity where it keeps
    KEPT_SHARE of the target's dense accuracy; then the target's random control and
    dense network for reference. A pair the runs do not have is a dash."""
    rows = [_source_row(source, targets, sparsity) for source in [*targets, PRETRAINING]]
    for kind, name in (("random", "random (target's)"), (DENSE, "dense (target's)")):
        row = {"source": name}
        for label, target in targets.items():
            values = target.overall(kind, None if kind == DENSE else sparsity)
            row[f"{label}: at {sparsity}%"] = _cell(values)
            row[f"{label}: of own ticket"] = _share(values, target.overall("low", sparsity))
            row[f"{label}: keeps {KEPT_SHARE:.0%} up to"] = DASH
        rows.append(row)
    return pd.DataFrame(rows)


def _source_row(source: str, targets: Mapping[str, Target], sparsity: int) -> dict:
    row = {"source": f"{source} ticket"}
    for label, target in targets.items():
        kind = target.kind_of(source, label)
        values = target.overall(kind, sparsity) if kind else pd.Series(dtype=float)
        kept = highest_sparsity_kept(target.scores, kind) if kind and len(values) else None
        row[f"{label}: at {sparsity}%"] = _cell(values)
        row[f"{label}: of own ticket"] = _share(values, target.overall("low", sparsity))
        row[f"{label}: keeps {KEPT_SHARE:.0%} up to"] = DASH if kept is None else f"{kept}%"
    return row


def _cell(values: pd.Series) -> str:
    return format_mean_std(*summarise(values)[:2])


def _share(values: pd.Series, own: pd.Series) -> str:
    """``values``' mean as a percentage of ``own``'s mean."""
    if values.dropna().empty or own.dropna().empty:
        return DASH
    share = 100 * values.mean() / own.mean()
    return DASH if math.isnan(share) else f"{share:.1f}%"


def plot_targets(targets: Mapping[str, Target], png: str, pdf: str, title: str) -> None:
    """One panel per target task: accuracy against sparsity of every source's ticket
    and of the target's controls, the dense accuracy as a dashed line."""
    fig = Figure(figsize=(4.6 * len(targets), 3.8), dpi=150)
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    for ax, (label, target) in zip(axes, targets.items(), strict=True):
        dense = target.overall(DENSE)
        if not dense.empty:
            ax.axhline(dense.mean(), color="black", linestyle="--", linewidth=1,
                       label=f"dense ({dense.mean():.2f})")  # fmt: skip
        lines = [(s, target.kind_of(s, label)) for s in [*targets, PRETRAINING]]
        lines += [("random", "random"), ("high-magnitude", "high")]
        for name, kind in lines:
            sel = target.scores[target.scores.kind == kind] if kind else target.scores[:0]
            if sel.empty:
                continue
            agg = sel.groupby("sparsity").overall.agg(["mean", "std"]).reset_index()
            colour, marker = STYLES[kind]
            text = name if kind in ("random", "high") else f"{name} ticket"
            ax.errorbar(agg.sparsity, agg["mean"], yerr=agg["std"].fillna(0.0), color=colour,
                        marker=marker, capsize=3, label=text)  # fmt: skip
        ax.set_title(f"target: {label}", fontsize=9)
        ax.set_xlabel("sparsity (%)")
        ax.set_ylabel(f"{tasks.of_scores(target.scores.columns).metric} (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)
