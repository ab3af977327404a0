"""Each ticket's measured speed beside its accuracy: the table and figure of one run
(``ticket_speed``) and of runs compared (``compare_speeds``). The timing itself is
``lxmert_lth.reporting.timing``; this module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.reporting.report import KIND_LABELS, STYLES, finish_accuracy_plot


def with_accuracy(speeds: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Each network's mean overall accuracy over seeds beside its speed."""
    accuracy = scores.groupby(["kind", "sparsity"])["overall"].mean().rename("accuracy")
    return speeds.join(accuracy, on=["kind", "sparsity"])


def _axes():
    fig = Figure(figsize=(6.0, 4.2), dpi=150)
    return fig, fig.subplots()


def _line(ax, rows: pd.DataFrame, **style) -> None:
    """One line of accuracy against speed-up, each point marked with its sparsity."""
    rows = rows.sort_values("sparsity")
    ax.plot(rows["speedup"], rows["accuracy"], **style)
    for _, r in rows.iterrows():
        ax.annotate(f"{r['sparsity']}%", (r["speedup"], r["accuracy"]), fontsize=6,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip


def _save(fig, ax, title: str, png: str, pdf: str) -> None:
    ax.axvline(1.0, color="grey", linewidth=0.5)
    ax.set_xlabel("measured CPU speed-up over the dense network (x)")
    finish_accuracy_plot(fig, ax, title, 9, png, pdf)


def plot(table: pd.DataFrame, png: str, pdf: str, title: str) -> None:
    """Accuracy against the measured speed-up, one line per kind, sparsities marked."""
    fig, ax = _axes()
    dense = table[table["kind"] == "dense"].iloc[0]
    ax.scatter([1.0], [dense["accuracy"]], color="black", marker="*", s=120, label="dense")
    for kind, rows in table[table["kind"] != "dense"].groupby("kind", sort=False):
        colour, marker = STYLES.get(kind, (None, "x"))
        _line(ax, rows, color=colour, marker=marker, label=KIND_LABELS.get(kind, kind))
    _save(fig, ax, title, png, pdf)


def compare(tables: Mapping[str, pd.DataFrame], kind: str = "low") -> pd.DataFrame:
    """The tickets of several runs side by side: speed-up and accuracy per sparsity."""
    rows = []
    for label, table in tables.items():
        for _, r in table[table["kind"].isin(["dense", kind])].iterrows():
            rows.append({"run": label, "kind": r["kind"], "sparsity": int(r["sparsity"]),
                         "speedup": r["speedup"], "accuracy": r["accuracy"]})  # fmt: skip
    return pd.DataFrame(rows)


def plot_compare(frame: pd.DataFrame, png: str, pdf: str, title: str) -> None:
    """Accuracy against measured speed-up, one line per run (its tickets and dense)."""
    fig, ax = _axes()
    for label, rows in frame.groupby("run", sort=False):
        _line(ax, rows, marker="o", label=label)
    _save(fig, ax, title, png, pdf)
