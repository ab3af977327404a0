"""Training curves of every network (from each ``history.json``) and of the pre-training.

Each network's curve is one PNG, a report item labelled by its seed, kind and sparsity;
all of them are also pages of one PDF, and an overview puts every sparsity of a kind in one
panel (the first seed). Curves are the logged training loss (the mean over each window of
steps, ``training.log_window``) and the validation accuracy after each epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib import colormaps, ticker
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from lxmert_lth.core.io import PDF_METADATA, atomic_path, read_json, save_figure
from lxmert_lth.core.network import Network
from lxmert_lth.reporting.report import KIND_LABELS, STYLES


def _log_axis(ax) -> None:
    """A log-scale loss axis labelled in plain numbers (2, 3, 0.01), minor ticks too
    where the range is short."""
    ax.set_yscale("log")
    for which in ("major", "minor"):
        formatter = ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
        getattr(ax.yaxis, f"set_{which}_formatter")(formatter)


def _steps(history: Mapping) -> tuple[list[int], list[float]]:
    steps = history.get("steps") or []
    return [p["step"] for p in steps], [p["loss"] for p in steps]


def network_figure(
    network: Network, history: Mapping, split_label: str, score: float | None = None
) -> Figure:
    """One network: training loss per logged step, validation accuracy per epoch; the
    title adds its score on the scored split."""
    fig = Figure(figsize=(7.0, 2.8), dpi=110)
    loss_ax, acc_ax = fig.subplots(1, 2)
    color = STYLES.get(network.kind, ("black", "o"))[0]
    x, y = _steps(history)
    loss_ax.plot(x, y, color=color, linewidth=1.2)
    _log_axis(loss_ax)
    loss_ax.set_xlabel("optimizer step")
    loss_ax.set_ylabel("training loss")
    epochs = history["epochs"]
    acc_ax.plot(
        [e["epoch"] for e in epochs], [e["val_accuracy"] for e in epochs], marker="o", color=color
    )
    best = history.get("best_epoch")
    if best:
        acc_ax.axvline(best, color="grey", linestyle=":", linewidth=1)
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.set_xticks([e["epoch"] for e in epochs])
    label = KIND_LABELS.get(network.kind, network.kind)
    where = "" if network.is_dense else f" at {network.sparsity}%"
    fig.suptitle(
        f"seed {network.seed}: {label}{where}; best validation accuracy "
        f"{history['best_val_accuracy']:.2f} (epoch {best})"
        + (f"; {split_label} accuracy {score:.2f}" if score is not None else ""),
        fontsize=9,
    )
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def overview_figure(
    histories: Mapping[Network, Mapping], kinds: Sequence[str], seed: int, title: str
) -> Figure:
    """Per kind, the training loss of every sparsity (darker: sparser), dense in black."""
    kinds = [k for k in kinds if any(n.kind == k and n.seed == seed for n in histories)]
    fig = Figure(figsize=(4.0 * max(1, len(kinds)), 3.2), dpi=110)
    axes = fig.subplots(1, max(1, len(kinds)), squeeze=False)[0]
    dense = next((h for n, h in histories.items() if n.is_dense and n.seed == seed), None)
    for ax, kind in zip(axes[: len(kinds)], kinds, strict=True):
        nets = sorted(n for n in histories if n.kind == kind and n.seed == seed)
        shades = colormaps["viridis"].resampled(max(2, len(nets)))
        if dense is not None:
            ax.plot(*_steps(dense), color="black", linewidth=1.5, label="dense")
        for i, net in enumerate(nets):
            ax.plot(*_steps(histories[net]), color=shades(i), linewidth=1, label=f"{net.sparsity}%")
        _log_axis(ax)
        ax.set_title(KIND_LABELS.get(kind, kind), fontsize=9)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    axes[0].set_ylabel("training loss")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def pretraining_figure(history: Sequence[Mapping]) -> Figure:
    """The embedded default's pre-training: loss and validation QA accuracy per epoch."""
    fig = Figure(figsize=(7.0, 2.8), dpi=110)
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in history]
    loss_ax.plot(epochs, [r["loss"] for r in history], marker="o", color="black")
    loss_ax.set_ylabel("pre-training loss")
    if all("val_qa_accuracy" in r for r in history):
        acc_ax.plot(epochs, [r["val_qa_accuracy"] for r in history], marker="o", color="black")
    acc_ax.set_ylabel("validation QA accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
    fig.suptitle("pre-training", fontsize=9)
    fig.tight_layout()
    return fig


def write_curves(
    histories: Mapping[str, str],
    pngs: Mapping[str, str],
    overview_png: str,
    pdf: str,
    kinds: Sequence[str],
    split_label: str,
    scores: Mapping[str, str] | None = None,
    pretraining: str | None = None,
    pretraining_png: str | None = None,
) -> None:
    """Every network's curves (``histories``, ``pngs`` and ``scores``, the scores.json
    files: by network folder), the overview, one PDF of all of them, and the
    pre-training's when there is one."""
    loaded = {Network.from_folder(f): read_json(p) for f, p in sorted(histories.items())}
    overall = {Network.from_folder(f): read_json(p)["overall"] for f, p in (scores or {}).items()}
    first_seed = min(n.seed for n in loaded)
    overview = overview_figure(
        loaded,
        kinds,
        first_seed,
        f"training loss per logged step, seed {first_seed}, every sparsity of each kind",
    )
    save_figure(overview, overview_png, "png")
    with atomic_path(pdf) as tmp, PdfPages(tmp, metadata=PDF_METADATA) as pages:
        pages.savefig(overview)
        if pretraining:
            fig = pretraining_figure(read_json(pretraining))
            pages.savefig(fig)
            save_figure(fig, pretraining_png, "png")
        for net in sorted(loaded):
            fig = network_figure(net, loaded[net], split_label, overall.get(net))
            save_figure(fig, pngs[net.folder], "png")
            pages.savefig(fig)
