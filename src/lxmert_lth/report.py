"""Table 1 and Figure 1 from the per-seed scores."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .io import atomic_path

KIND_LABELS = {
    "dense": "LXMERT (dense)",
    "low": "low-magnitude",
    "high": "high-magnitude",
    "random": "random",
}
COLUMNS = {"yes/no": "Yes/No", "number": "Number", "other": "Other", "overall": "Overall"}
DASH = "–"


def _mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return DASH
    if len(values) == 1:
        return f"{values.iloc[0]:.2f}"
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"


def table1(scores: pd.DataFrame, sparsity: int, kinds: Sequence[str]) -> pd.DataFrame:
    """Rows dense + ``kinds`` at ``sparsity``; cells 'mean ± std' over seeds (sample std).

    A column whose answer type has no questions shows a dash.
    """
    rows = []
    for kind in ["dense", *kinds]:
        sel = scores[scores.kind == kind]
        if kind != "dense":
            sel = sel[sel.sparsity == sparsity]
        if sel.empty:
            continue
        row = {"method": KIND_LABELS.get(kind, kind), "seeds": len(sel)}
        for col, title in COLUMNS.items():
            row[title] = _mean_std(sel[col])
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, csv_path, md_path, caption: str) -> None:
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(f"{caption}\n\n{table.to_markdown(index=False)}\n")


def figure1(scores: pd.DataFrame, kinds: Sequence[str], png_path, pdf_path, title: str) -> None:
    """Overall accuracy against sparsity, error bars over seeds, dense as a reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=150)
    dense = scores[scores.kind == "dense"].overall
    if not dense.empty:
        mean, std = dense.mean(), (dense.std(ddof=1) if len(dense) > 1 else 0.0)
        ax.axhline(mean, color="black", linestyle="--", linewidth=1, label=f"dense ({mean:.2f})")
        if std and not math.isnan(std):
            ax.axhspan(mean - std, mean + std, color="black", alpha=0.08)
    styles = {"low": ("tab:blue", "o"), "high": ("tab:orange", "s"), "random": ("tab:green", "^")}
    for kind in kinds:
        sel = scores[scores.kind == kind]
        if sel.empty:
            continue
        agg = sel.groupby("sparsity").overall.agg(["mean", "std", "count"]).reset_index()
        color, marker = styles.get(kind, (None, "x"))
        ax.errorbar(
            agg.sparsity,
            agg["mean"],
            yerr=agg["std"].fillna(0.0),
            color=color,
            marker=marker,
            capsize=3,
            label=KIND_LABELS.get(kind, kind),
        )
    ax.set_xlabel("sparsity (% of prunable weights removed)")
    ax.set_ylabel("VQA accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for path, fmt in ((png_path, "png"), (pdf_path, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt)
    plt.close(fig)
