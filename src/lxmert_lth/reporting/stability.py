"""Are tickets stable? The stability table and its two figures, from the lines'
``line.json`` files (``lxmert_lth.training.connectivity``): one row per network and rewind
point per seed, with the accuracy and error at every alpha and the barrier."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import save_figure
from lxmert_lth.core.network import DENSE
from lxmert_lth.reporting.report import KIND_LABELS, STYLES, format_mean_std, summarise

REWIND_LABELS = {"theta0": "theta_0", "fresh": "fresh weights"}


def rewind_label(rewind: str) -> str:
    """theta0 -> theta_0; stepK -> step K; fresh -> fresh weights."""
    if rewind.startswith("step"):
        return f"step {rewind[4:]}"
    return REWIND_LABELS.get(rewind, rewind)


def _order(frame: pd.DataFrame) -> list[tuple[str, int, str]]:
    kinds = list(KIND_LABELS)
    keys = {(r.kind, int(r.sparsity), r.rewind) for r in frame.itertuples()}
    return sorted(keys, key=lambda k: (kinds.index(k[0]) if k[0] in kinds else 99, k[1], k[2]))


def stability_table(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per network and rewind point: the barrier, both ends' accuracy (mean ±
    sample std over seeds) and how many seeds' pairs are stable (barrier < threshold)."""
    rows = []
    for kind, sparsity, rewind in _order(frame):
        sel = frame[(frame.kind == kind) & (frame.sparsity == sparsity) & (frame.rewind == rewind)]
        ends = pd.DataFrame([(acc[0], acc[-1]) for acc in sel.accuracy], columns=["a", "b"])
        stable = int((sel.barrier < threshold).sum())
        rows.append(
            {
                "method": KIND_LABELS.get(kind, kind),
                "sparsity": sparsity,
                "rewind to": rewind_label(rewind),
                "barrier": format_mean_std(*summarise(sel.barrier)[:2]),
                "copy A accuracy": format_mean_std(*summarise(ends.a)[:2]),
                "copy B accuracy": format_mean_std(*summarise(ends.b)[:2]),
                "stable": f"{stable}/{len(sel)}",
            }
        )
    return pd.DataFrame(rows)


def _mean_curve(sel: pd.DataFrame) -> tuple[list[float], list[float]]:
    errors = pd.DataFrame(list(sel.error))
    return list(sel.alpha.iloc[0]), list(errors.mean(axis=0))


def plot_lines(frame: pd.DataFrame, table_sparsity: int, png, pdf, title: str) -> None:
    """The error along the line (mean over seeds): the dense network and every kind at
    the table sparsity (left), the ticket at every sparsity (right)."""
    fig = Figure(figsize=(9.0, 3.8), dpi=150)
    left, right = fig.subplots(1, 2, sharey=True)
    for kind, sparsity, rewind in _order(frame):
        sel = frame[(frame.kind == kind) & (frame.sparsity == sparsity) & (frame.rewind == rewind)]
        x, y = _mean_curve(sel)
        style = "-" if rewind == "theta0" else "--"
        if kind == DENSE or sparsity == table_sparsity:
            color, marker = STYLES.get(kind, ("black", "o"))
            label = KIND_LABELS.get(kind, kind) + ("" if kind == DENSE else f" {sparsity}%")
            if rewind != "theta0":
                label += f" ({rewind_label(rewind)})"
            left.plot(x, y, style, color=color, marker=marker, markersize=3, label=label)
        if kind == "low":
            right.plot(x, y, style, marker=".", label=f"{sparsity}% ({rewind_label(rewind)})")
    for ax, name in ((left, f"each kind at {table_sparsity}%"), (right, "the ticket")):
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("alpha (0: copy A, 1: copy B)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    left.set_ylabel("error (100 - VQA accuracy, %)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)


def plot_barriers(frame: pd.DataFrame, threshold: float, png, pdf, title: str) -> None:
    """The barrier (mean ± sample std over seeds) against sparsity, per kind and rewind
    point; the dense network at 0 %; the threshold dashed."""
    fig = Figure(figsize=(6.0, 4.0), dpi=150)
    ax = fig.subplots()
    for (kind, rewind), sel in frame.groupby(["kind", "rewind"], sort=True):
        agg = sel.groupby("sparsity").barrier.agg(["mean", "std"]).reset_index()
        color, marker = STYLES.get(kind, ("black", "o"))
        label = KIND_LABELS.get(kind, kind) + f" ({rewind_label(rewind)})"
        ax.errorbar(agg.sparsity, agg["mean"], yerr=agg["std"].fillna(0.0), color=color,
                    marker=marker, capsize=3, linestyle="-" if rewind == "theta0" else "--",
                    label=label)  # fmt: skip
    ax.axhline(
        threshold, color="gray", linestyle=":", linewidth=1, label=f"threshold {threshold:g}"
    )
    ax.set_xlabel("sparsity (% of prunable weights removed)")
    ax.set_ylabel("barrier (error points)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)
