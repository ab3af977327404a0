"""Table 1, Figure 1 and the comparison with the paper, from the per-network scores."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from lxmert_lth.core.io import atomic_path, save_figure
from lxmert_lth.core.network import DENSE
from lxmert_lth.data import tasks
from lxmert_lth.data.datasets import SHIFTED_SETS
from lxmert_lth.models import families
from lxmert_lth.pruning.kinds import KINDS
from lxmert_lth.reporting import paper

# Label and colour/marker of each kind in every table and figure (lxmert_lth.pruning.kinds).
KIND_LABELS = {DENSE: "dense", **{k.name: k.label for k in KINDS.values()}}
STYLES = {k.name: k.style for k in KINDS.values()}
DASH = "–"


def summarise(values: pd.Series) -> tuple[float | None, float | None, int]:
    """Mean, sample std (None for one value) and count of the non-missing values."""
    values = values.dropna()
    if values.empty:
        return None, None, 0
    std = float(values.std(ddof=1)) if len(values) > 1 else None
    return float(values.mean()), std, len(values)


def format_mean_std(mean: float | None, std: float | None) -> str:
    """The one cell format of every table: 'mean ± std', 'mean' alone, or a dash."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return DASH
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {std:.2f}"


def _cell(values: pd.Series) -> str:
    mean, std, _ = summarise(values)
    return format_mean_std(mean, std)


def method_label(kind: str, family: str | None = None) -> str:
    """A row's name in the tables: the dense network named after its family's model
    ("LXMERT (dense)"), a subnetwork by its kind."""
    if kind == DENSE:
        return f"{families.get(family).label} (dense)"
    return KIND_LABELS.get(kind, kind)


def shifted_in(scores: pd.DataFrame) -> list[str]:
    """The shifted sets ``scores`` has columns of (``NAME:overall``), in SHIFTED_SETS' order."""
    return [name for name in SHIFTED_SETS if f"{name}:overall" in scores.columns]


def shifted_columns(scores: pd.DataFrame) -> dict[str, str]:
    """Table 1's out-of-distribution columns: score column -> title (each shifted set's
    overall accuracy, and a set of rephrasings' consistency CS(4))."""
    columns = {}
    for name in shifted_in(scores):
        columns[f"{name}:overall"] = SHIFTED_SETS[name]
        if f"{name}:cs4" in scores.columns:
            columns[f"{name}:cs4"] = f"{SHIFTED_SETS[name]} CS(4)"
    return columns


def build_table1(
    scores: pd.DataFrame, sparsity: int, kinds: Sequence[str], family: str | None = None
) -> pd.DataFrame:
    """Rows dense + ``kinds`` at ``sparsity``; cells 'mean ± std' over seeds (sample std):
    the scored split per answer type, then each shifted set's overall accuracy.

    A column whose answer type has no questions shows a dash.
    """
    rows = []
    for kind in [DENSE, *kinds]:
        sel = scores[scores.kind == kind]
        if kind != DENSE:
            sel = sel[sel.sparsity == sparsity]
        if sel.empty:
            continue
        row = {"method": method_label(kind, family), "seeds": len(sel)}
        for col, title in {**tasks.of_scores(scores.columns).columns,
                           **shifted_columns(scores)}.items():  # fmt: skip
            row[title] = _cell(sel[col])
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, csv_path, md_path, caption: str, html_path=None) -> None:
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_markdown(
        md_path,
        f"{caption}\n\n{table.to_markdown(index=False, disable_numparse=True)}\n",
        html_path,
    )


# --- Markdown tables, and the same as HTML for the report (which shows HTML inline) -------

_HTML_STYLE = (
    "body{font-family:sans-serif;font-size:14px;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:4px 8px}th{background:#f3f3f3}"
    "td.r,th.r{text-align:right}tr:nth-child(even) td{background:#fafafa}"
)


def markdown_to_html(text: str, title: str) -> str:
    """The Markdown this package writes (paragraphs and pipe tables, as pandas'
    ``to_markdown`` makes them) as a standalone HTML page. Hand-written rather than a
    Markdown library: these two forms are all it ever meets, and no dependency is added."""

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    out, rows = [], []

    def flush() -> None:
        if not rows:
            return
        head, rule, *body = rows
        right = [c.endswith(":") and not c.startswith(":") for c in cells(rule)]
        out.append("<table><tr>")
        out.extend(
            f'<th class="{"r" if r else ""}">{html.escape(c)}</th>'
            for c, r in zip(cells(head), right, strict=True)
        )
        out.append("</tr>")
        for line in body:
            out.append(
                "<tr>"
                + "".join(
                    f'<td class="{"r" if r else ""}">{html.escape(c)}</td>'
                    for c, r in zip(cells(line), right, strict=True)
                )
                + "</tr>"
            )
        out.append("</table>")
        rows.clear()

    for block in text.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if lines and all(line.startswith("|") for line in lines):
            rows.extend(lines)
            flush()
        else:
            code = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(" ".join(lines)))
            out.append(f"<p>{code}</p>")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_HTML_STYLE}</style></head><body>{''.join(out)}</body></html>\n"
    )


def write_markdown(md_path, text: str, html_path=None) -> None:
    """A Markdown table file, and (for the report) the same as an HTML page."""
    with atomic_path(md_path) as tmp:
        tmp.write_text(text)
    if html_path:
        with atomic_path(html_path) as tmp:
            tmp.write_text(markdown_to_html(text, Path(md_path).stem))


def plot_figure1(
    scores: pd.DataFrame, kinds: Sequence[str], png_path, pdf_path, title: str
) -> None:
    """Overall accuracy against sparsity, error bars over seeds, dense as a reference; the
    y axis named by the scores' task (VQA accuracy, or a verification task's accuracy)."""
    # A Figure of its own, not pyplot's: no global state, no GUI backend to choose.
    fig = Figure(figsize=(6.0, 4.0), dpi=150)
    ax = fig.subplots()
    dense = scores[scores.kind == DENSE].overall
    if not dense.empty:
        mean, std = dense.mean(), (dense.std(ddof=1) if len(dense) > 1 else 0.0)
        ax.axhline(mean, color="black", linestyle="--", linewidth=1, label=f"dense ({mean:.2f})")
        if std and not math.isnan(std):
            ax.axhspan(mean - std, mean + std, color="black", alpha=0.08)
    for kind in kinds:
        sel = scores[scores.kind == kind]
        if sel.empty:
            continue
        agg = sel.groupby("sparsity").overall.agg(["mean", "std", "count"]).reset_index()
        color, marker = STYLES.get(kind, (None, "x"))
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
    ylabel = f"{tasks.of_scores(scores.columns).metric} (%)"
    finish_accuracy_plot(fig, ax, title, 10, png_path, pdf_path, ylabel)


def finish_accuracy_plot(
    fig, ax, title: str, title_size: int, png: str, pdf: str, ylabel: str = "VQA accuracy (%)"
) -> None:
    """An accuracy plot's y label, title, grid and legend, laid out and written as PNG and
    PDF (the one ending of Figure 1 and the speed figures)."""
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=title_size)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        save_figure(fig, path, fmt)


# --- several runs side by side (the scope ablation, the authors' code) --------------------


# A ticket "keeps" the dense accuracy at a sparsity when its mean over seeds is at least
# this share of the dense network's mean (Gan et al., arXiv 2104.11832, call the highest
# such sparsity the one where winning tickets are found).
KEPT_SHARE = 0.99


def highest_sparsity_kept(scores: pd.DataFrame, kind: str = "low") -> int | None:
    """The highest sparsity at which a kind's mean overall accuracy over seeds is at least
    KEPT_SHARE of the dense mean (None if at none)."""
    dense = scores[scores.kind == DENSE].overall.mean()
    means = scores[scores.kind == kind].groupby("sparsity").overall.mean()
    kept = [int(s) for s, m in means.items() if m >= KEPT_SHARE * dense]
    return max(kept) if kept else None


def build_runs_table(runs: Mapping[str, pd.DataFrame], sparsity: int) -> pd.DataFrame:
    """One row per run and kind: the dense accuracy, the accuracy at ``sparsity`` and
    the share of prunable weights actually pruned there (the authors' schedule stops
    past its target), and the accuracy at every sparsity the runs have; overall
    accuracy, mean ± sample std over seeds."""
    sparsities = sorted({int(s) for scores in runs.values() for s in scores.sparsity if s})
    rows = []
    for label, scores in runs.items():
        dense = _cell(scores[scores.kind == DENSE].overall)
        for kind in [k for k in KIND_LABELS if k != DENSE and k in set(scores.kind)]:
            sel = scores[scores.kind == kind]
            at = sel[sel.sparsity == sparsity]
            pruned = 100 * at.num_pruned / at.num_prunable
            kept = highest_sparsity_kept(scores, kind)
            row = {
                "run": label,
                "method": KIND_LABELS[kind],
                "dense": dense,
                f"pruned at {sparsity}% (%)": _cell(pruned),
                f"keeps {KEPT_SHARE:.0%} of dense up to": DASH if kept is None else f"{kept}%",
            }
            for s in sparsities:
                row[f"{s}%"] = _cell(sel[sel.sparsity == s].overall)
            rows.append(row)
    return pd.DataFrame(rows)


def plot_runs(runs: Mapping[str, pd.DataFrame], png_path, pdf_path, title: str) -> None:
    """Overall accuracy against sparsity: one panel per kind, one line per run."""
    kinds = [k for k in KIND_LABELS if k != DENSE and any(k in set(r.kind) for r in runs.values())]
    fig = Figure(figsize=(4.0 * len(kinds), 3.6), dpi=150)
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    lines = ["-", "--", ":", "-."]
    for ax, kind in zip(axes, kinds, strict=True):
        for i, (label, scores) in enumerate(runs.items()):
            sel = scores[scores.kind == kind]
            if sel.empty:
                continue
            agg = sel.groupby("sparsity").overall.agg(["mean", "std"]).reset_index()
            color, marker = STYLES.get(kind, (None, "x"))
            ax.errorbar(agg.sparsity, agg["mean"], yerr=agg["std"].fillna(0.0), color=color,
                        marker=marker, linestyle=lines[i % len(lines)], capsize=3,
                        alpha=1.0 - 0.25 * (i % 3), label=label)  # fmt: skip
        ax.set_title(KIND_LABELS[kind], fontsize=9)
        ax.set_xlabel("sparsity (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("VQA accuracy (%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path, fmt in ((png_path, "png"), (pdf_path, "pdf")):
        save_figure(fig, path, fmt)


# --- the paper configuration: EvalAI results and the comparison with the paper ----------

PHASE_COLUMNS = {"yes/no": "Y/N", "number": "Num", "other": "Other", "overall": "Overall"}
METRIC_ORDER = tuple(PHASE_COLUMNS)
SERVER_COLUMNS = ["kind", "sparsity", "seed", "phase", *METRIC_ORDER]


def build_server_table(
    server: pd.DataFrame, sparsity: int, kinds: Sequence[str], family: str | None = None
) -> pd.DataFrame:
    """Table 1 in the paper's shape from EvalAI results: test-dev and test-std columns.

    ``server`` has one row per (kind, sparsity, seed, phase) with the four accuracies.
    """
    rows = []
    for kind in [DENSE, *kinds]:
        sel = server[server.kind == kind]
        if kind != DENSE:
            sel = sel[sel.sparsity == sparsity]
        if sel.empty:
            continue
        row = {"method": method_label(kind, family), "seeds": sel.seed.nunique()}
        for phase in ("test-dev", "test-std"):
            part = sel[sel.phase == phase]
            for metric, title in PHASE_COLUMNS.items():
                row[f"{phase} {title}"] = _cell(part[metric]) if not part.empty else DASH
        rows.append(row)
    return pd.DataFrame(rows)


def build_comparison(
    scores: pd.DataFrame,
    server: pd.DataFrame,
    kinds: Sequence[str],
    split: str,
) -> pd.DataFrame:
    """Paper vs reproduced numbers, long format: one row per (kind, sparsity, split, metric).

    Test-dev/test-std rows compare with the paper's Table 1 (at its sparsity) where
    EvalAI results exist; ``split`` rows (minival) with the authors' per-sparsity report,
    by LXMERT's own score (``lxmert_minival``), which is what that report gives.
    """
    rows = []

    def add(kind, s, where, metric, ref, values):
        mean, std, n = summarise(values)
        ref_mean, ref_std = ref if isinstance(ref, tuple) else (ref, None)
        rows.append(
            {
                "kind": kind,
                "sparsity": s,
                "split": where,
                "metric": metric,
                "paper": ref_mean,
                "paper_std": ref_std,
                "reproduced": mean,
                "reproduced_std": std,
                "seeds": n,
                "difference": None if mean is None or ref_mean is None else mean - ref_mean,
            }
        )

    for kind in [DENSE, *kinds]:
        s = 0 if kind == DENSE else paper.TABLE1_SPARSITY
        for phase in ("test-dev", "test-std"):
            part = server[(server.kind == kind) & (server.phase == phase) & (server.sparsity == s)]
            for metric in METRIC_ORDER:
                add(kind, s, phase, metric, paper.TABLE1[phase][kind][metric], part[metric])
    for kind in [DENSE, *kinds]:
        sel = scores[scores.kind == kind]
        levels = [0] if kind == DENSE else sorted(sel.sparsity.unique().tolist())
        for s in levels:
            part = sel if kind == DENSE else sel[sel.sparsity == s]
            add(kind, int(s), split, "lxmert_minival", paper.minival(kind, s), part.lxmert_minival)
    return pd.DataFrame(rows)


def write_comparison(table: pd.DataFrame, csv_path, md_path, caption: str, html_path=None) -> None:
    """CSV (long format) and a Markdown rendering: paper | reproduced | difference."""
    shown = pd.DataFrame(
        {
            "method": [method_label(k) for k in table.kind],
            "sparsity": table.sparsity,
            "split": table.split,
            "metric": table.metric,
            "paper": [
                format_mean_std(m, s) for m, s in zip(table.paper, table.paper_std, strict=True)
            ],
            "reproduced": [
                format_mean_std(m, s)
                for m, s in zip(table.reproduced, table.reproduced_std, strict=True)
            ],
            "difference": [format_mean_std(d, None) for d in table.difference],
        }
    )
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    write_markdown(
        md_path,
        f"{caption}\n\n{shown.to_markdown(index=False, disable_numparse=True)}\n",
        html_path,
    )
