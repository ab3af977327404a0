"""Are tickets worth their compute? Each kind's accuracy beside the seconds it took from
the dense network, from the jobs' own records (docs/method.md, "One-shot pruning").

Seconds from the dense network, per seed then averaged: the IMP ticket at s, every
retraining of its chain up to s (``retrain_low{10..s}``'s benchmark files); a one-shot
network as pruned, its calibration and pruning (the seconds its job measured around
them, beside its benchmark file); retrained, the whole one-shot job (its benchmark file:
loading, calibration, pruning, both scorings and the retraining). The dense fine-tune,
which all of them start from, is counted in none. Each in wall-clock seconds and in CPU
seconds (the processes' user and system time): on a CPU that other work shares, wall
time grows with the sharing and CPU time hardly does, so CPU time compares runs made at
different times there; on a GPU, wall time is the device's.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import save_figure
from lxmert_lth.data import tasks
from lxmert_lth.reporting.report import KIND_LABELS, STYLES, format_mean_std, summarise

# The kinds of the comparison, in its order (random for reference).
COMPARED = ("low", "magnitude", "magnitudeft", "wanda", "wandaft", "sparsegpt", "sparsegptft",
            "random")  # fmt: skip


def seconds_from_dense(
    scores: pd.DataFrame, seconds: Mapping[tuple[str, int, int], float], step: int
) -> pd.Series:
    """Each score row's seconds from the dense network (NaN where not known):
    ``seconds`` maps (kind, sparsity, seed) to a job's own seconds."""

    def row_seconds(row) -> float:
        if row.kind == "low":
            levels = range(step, int(row.sparsity) + 1, step)
            found = [seconds.get(("low", s, int(row.seed))) for s in levels]
            return float("nan") if None in found else sum(found)
        value = seconds.get((row.kind, int(row.sparsity), int(row.seed)))
        return float("nan") if value is None else value

    return scores.apply(row_seconds, axis=1)


def build_costs(scores: pd.DataFrame, sparsity: int) -> pd.DataFrame:
    """One row per compared kind: accuracy, seconds and CPU seconds at ``sparsity`` (mean
    ± sample std over seeds), then accuracy at every sparsity."""
    sparsities = sorted({int(s) for s in scores.sparsity if s})
    rows = []
    for kind in [k for k in COMPARED if k in set(scores.kind)]:
        sel = scores[scores.kind == kind]
        at = sel[sel.sparsity == sparsity]
        row = {
            "method": KIND_LABELS[kind],
            f"accuracy at {sparsity}%": format_mean_std(*summarise(at.overall)[:2]),
            f"seconds from dense at {sparsity}%": format_mean_std(*summarise(at.seconds)[:2]),
            f"CPU seconds from dense at {sparsity}%": format_mean_std(
                *summarise(at.cpu_seconds)[:2]
            ),
        }
        for s in sparsities:
            row[f"{s}%"] = format_mean_std(*summarise(sel[sel.sparsity == s].overall)[:2])
        rows.append(row)
    return pd.DataFrame(rows)


def plot_costs(scores: pd.DataFrame, sparsity: int, png: str, pdf: str, title: str) -> None:
    """Accuracy against sparsity (every compared kind, the dense accuracy dashed) and
    against the seconds from the dense network at ``sparsity``."""
    fig = Figure(figsize=(10.0, 4.0), dpi=150)
    left, right = fig.subplots(1, 2)
    dense = scores[scores.kind == "dense"].overall
    ylabel = f"{tasks.of_scores(scores.columns).metric} (%)"
    for ax in (left, right):
        if not dense.empty:
            ax.axhline(dense.mean(), color="black", linestyle="--", linewidth=1,
                       label=f"dense ({dense.mean():.2f})")  # fmt: skip
    for kind in [k for k in COMPARED if k in set(scores.kind)]:
        sel = scores[scores.kind == kind]
        colour, marker = STYLES[kind]
        style = {"color": colour, "marker": marker, "label": KIND_LABELS[kind],
                 "linestyle": "--" if kind.endswith("ft") else "-"}  # fmt: skip
        agg = sel.groupby("sparsity").overall.agg(["mean", "std"]).reset_index()
        left.errorbar(agg.sparsity, agg["mean"], yerr=agg["std"].fillna(0.0), capsize=3, **style)
        at = sel[sel.sparsity == sparsity]
        if at.seconds.notna().any():
            point = {**style, "linestyle": "none"}
            right.errorbar(at.seconds.mean(), at.overall.mean(), yerr=at.overall.std(),
                           xerr=at.seconds.std(), capsize=3, **point)  # fmt: skip
    left.set_xlabel("sparsity (%)")
    right.set_xlabel(f"seconds from the dense network at {sparsity}% (log)")
    right.set_xscale("log")
    for ax in (left, right):
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)
