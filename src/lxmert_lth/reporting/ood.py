"""In and out of distribution: every network's accuracy on the scored split beside its
accuracy on each shifted set (``data.datasets.SHIFTED_SETS``), as a table of the ticket's
advantage per sparsity and a figure of accuracy against sparsity, one panel per split.

A shifted set's columns in ``scores.csv`` are ``NAME:METRIC`` (``pairs:overall``, ...),
written by the training jobs beside the scored split's own (``overall``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import save_figure
from lxmert_lth.core.network import DENSE
from lxmert_lth.data.datasets import SHIFTED_SETS
from lxmert_lth.reporting.report import (
    DASH,
    KIND_LABELS,
    STYLES,
    format_mean_std,
    shifted_in,
    summarise,
    write_table,
)

TICKET = "low"


def column(split: str | None, metric: str = "overall") -> str:
    """The column of a metric on a split (None: the scored split)."""
    return metric if split is None else f"{split}:{metric}"


def build_ood_table(scores: pd.DataFrame, kinds: Sequence[str], scored_label: str) -> pd.DataFrame:
    """One row per split and sparsity: each kind's overall accuracy (mean ± sample std
    over seeds), the dense network's, and the ticket's advantage (difference of means)
    over every other kind."""
    rows = []
    splits = [(None, scored_label), *((n, SHIFTED_SETS[n]) for n in shifted_in(scores))]
    dense = scores[scores.kind == DENSE]
    sparsities = sorted(int(s) for s in scores[scores.kind != DENSE].sparsity.unique())
    for split, label in splits:
        col = column(split)
        dense_cell = format_mean_std(*summarise(dense[col])[:2])
        for s in sparsities:
            row = {"split": label, "sparsity": s, "dense": dense_cell}
            means = {}
            for kind in kinds:
                sel = scores[(scores.kind == kind) & (scores.sparsity == s)][col]
                mean, std, _ = summarise(sel)
                means[kind] = mean
                row[KIND_LABELS.get(kind, kind)] = format_mean_std(mean, std)
            for kind in kinds:
                if kind == TICKET:
                    continue
                a, b = means.get(TICKET), means.get(kind)
                name = f"{KIND_LABELS[TICKET]} − {KIND_LABELS.get(kind, kind)}"
                row[name] = DASH if a is None or b is None else f"{a - b:+.2f}"
            rows.append(row)
    return pd.DataFrame(rows)


def write_ood_table(table: pd.DataFrame, csv_path, md_path, html_path, seeds) -> None:
    caption = (
        "In and out of distribution: overall VQA accuracy (%) of every kind per split and "
        f"sparsity, mean ± sample std over seeds {seeds}, and the ticket's advantage (its "
        "mean minus the other kind's). The shifted sets are scored by the same evaluator "
        "as the scored split, by every training job."
    )
    write_table(table, csv_path, md_path, caption, html_path)


def plot_ood(
    scores: pd.DataFrame, kinds: Sequence[str], scored_label: str, png_path, pdf_path, title: str
) -> None:
    """Overall accuracy against sparsity, one panel per split (the scored one, then each
    shifted set), one line per kind, the dense network as a dashed reference."""
    splits = [(None, scored_label), *((n, SHIFTED_SETS[n]) for n in shifted_in(scores))]
    fig = Figure(figsize=(3.6 * len(splits), 3.6), dpi=150)
    axes = fig.subplots(1, len(splits), squeeze=False)[0]
    for ax, (split, label) in zip(axes, splits, strict=True):
        col = column(split)
        dense = scores[scores.kind == DENSE][col].dropna()
        if not dense.empty:
            ax.axhline(dense.mean(), color="black", linestyle="--", linewidth=1,
                       label=f"dense ({dense.mean():.1f})")  # fmt: skip
        for kind in kinds:
            sel = scores[scores.kind == kind]
            if sel.empty:
                continue
            agg = sel.groupby("sparsity")[col].agg(["mean", "std"]).reset_index()
            color, marker = STYLES.get(kind, (None, "x"))
            ax.errorbar(agg.sparsity, agg["mean"], yerr=agg["std"].fillna(0.0), color=color,
                        marker=marker, markersize=4, capsize=2,
                        label=KIND_LABELS.get(kind, kind))  # fmt: skip
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("sparsity (%)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("VQA accuracy (%)")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path, fmt in ((png_path, "png"), (pdf_path, "pdf")):
        save_figure(fig, path, fmt)
