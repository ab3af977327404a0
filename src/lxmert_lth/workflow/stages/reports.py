"""Stages of ``rules/reports.smk``: every network's scores in one CSV, Table 1, Figure 1,
(paper configuration) the comparison with the published numbers, runs compared, training
curves and costs. A stage with several outputs takes them as ``outputs``, keyed by the
rule's names for them (csv, md, html, png, pdf)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lxmert_lth.core.io import atomic_path, read_json
from lxmert_lth.core.network import Network
from lxmert_lth.data import datasets, tasks
from lxmert_lth.data.evalai import read_result
from lxmert_lth.pruning.chain import fine_tunes
from lxmert_lth.reporting.costs import read_benchmark, write_costs
from lxmert_lth.reporting.curves import write_curves
from lxmert_lth.reporting.one_shot import build_costs, plot_costs, seconds_from_dense
from lxmert_lth.reporting.ood import build_ood_table, plot_ood, write_ood_table
from lxmert_lth.reporting.report import (
    SERVER_COLUMNS,
    build_comparison,
    build_runs_table,
    build_server_table,
    build_table1,
    plot_figure1,
    plot_runs,
    shifted_columns,
    write_comparison,
    write_table,
)
from lxmert_lth.reporting.speed import compare, plot_compare
from lxmert_lth.reporting.tasks import Target, build_matrix, plot_targets
from lxmert_lth.runtime.numerics import processor
from lxmert_lth.workflow import plan

log = logging.getLogger("lxmert_lth")


def collect_scores(score_files: list[str], out_csv: str) -> None:
    rows = [read_json(p) for p in score_files]
    frame = pd.DataFrame(rows).sort_values(["kind", "sparsity", "seed"])
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    log.info("%d scores", len(frame))


def server_rows(files: Mapping[str, str]) -> pd.DataFrame:
    """EvalAI results, one file per network (its folder, e.g. 'seed0/low50' -> path), as
    rows of (kind, sparsity, seed, phase, accuracies)."""
    rows = [
        {**Network.from_folder(folder).row(), "phase": phase, **metrics}
        for folder, path in files.items()
        for phase, metrics in read_result(path).items()
    ]
    return pd.DataFrame(rows, columns=SERVER_COLUMNS)


def table1(
    scores_csv: str,
    outputs: Mapping[str, str],
    sparsity: int,
    kinds: list[str],
    dataset: str,
    split: str,
    server_files: Mapping[str, str],
    family: str | None = None,
) -> None:
    """Table 1: test-dev/test-std columns from EvalAI results when the user has dropped
    them in; otherwise the local ``split`` per answer type, as the caption says."""
    scores = pd.read_csv(scores_csv)
    seeds = sorted(scores.seed.unique().tolist())
    if server_files:
        table = build_server_table(server_rows(server_files), sparsity, kinds, family)
        caption = (
            f"Table 1 ({dataset}, EvalAI test-dev and test-std): VQA accuracy (%) of the dense "
            f"network and of {sparsity}%-sparse subnetworks rewound to theta_0 and retrained; "
            f"mean ± sample std over the seeds with a result file ({len(server_files)} files)."
        )
    else:
        table = build_table1(scores, sparsity, kinds, family)
        task = tasks.get(datasets.get(dataset).task)
        caption = (
            f"Table 1 ({dataset}, {split} split): {task.metric} (%) of the dense network and "
            f"of {sparsity}%-sparse subnetworks rewound to theta_0 and retrained; mean ± "
            f"sample std over seeds {seeds}.{task.dash}"
        )
        if shifted_columns(scores):
            caption += (
                " The columns after Overall: each shifted set's overall accuracy, scored by "
                "the same evaluator (ood.md has every sparsity)."
            )
        server = datasets.get(dataset).server
        if server:
            caption += (
                f" These are local {split} scores: no {server} result files were found, so "
                "the test-dev/test-std columns of the paper are not shown."
            )
    write_table(table, outputs["csv"], outputs["md"], caption, outputs.get("html"))


def figure_ood(
    scores_csv: str, outputs: Mapping[str, str], kinds: list[str], dataset: str, split: str
) -> None:
    """Accuracy in and out of distribution: the figure (one panel per split) and the table
    of the ticket's advantage per split and sparsity."""
    scores = pd.read_csv(scores_csv)
    seeds = sorted(scores.seed.unique().tolist())
    table = build_ood_table(scores, kinds, split)
    write_ood_table(table, outputs["csv"], outputs["md"], outputs.get("html"), seeds)
    title = f"{dataset}: accuracy in ({split}) and out of distribution, seeds {seeds}"
    plot_ood(scores, kinds, split, outputs["png"], outputs["pdf"], title)


def compare_with_paper(
    scores_csv: str,
    outputs: Mapping[str, str],
    kinds: list[str],
    split: str,
    server_files: Mapping[str, str],
) -> None:
    """Reproduced vs the paper's numbers (Table 1 and the authors' minival report)."""
    scores = pd.read_csv(scores_csv)
    table = build_comparison(scores, server_rows(server_files), kinds, split)
    caption = (
        "Reproduced vs published: test-dev/test-std against the paper's Table 1 (50% "
        "sparsity; a dash where no EvalAI result file was given), and the local "
        f"{split} score against the authors' per-sparsity minival report, both by LXMERT's "
        "own rule (the predicted answer's soft score in the label: lxmert_minival). "
        "Reproduced: mean ± sample std over seeds."
    )
    write_comparison(table, outputs["csv"], outputs["md"], caption, outputs.get("html"))


def figure1(
    scores_csv: str, outputs: Mapping[str, str], kinds: list[str], dataset: str, split: str
) -> None:
    plot_figure1(
        pd.read_csv(scores_csv),
        kinds,
        outputs["png"],
        outputs["pdf"],
        f"Figure 1 ({dataset}, {split}): accuracy vs. sparsity, mean ± std over seeds",
    )


def compare_runs(
    score_files: Mapping[str, str],
    outputs: Mapping[str, str],
    sparsity: int,
    split: str,
) -> None:
    """Several runs side by side (label -> its scores.csv): a table and a figure."""
    runs = {label: pd.read_csv(path) for label, path in score_files.items()}
    for label, scores in runs.items():
        log.info("%s: %d scores from %s", label, len(scores), score_files[label])
    caption = (
        f"Runs compared ({split} split, overall VQA accuracy %, mean ± sample std over "
        f"seeds): {', '.join(f'{k} = {v}' for k, v in score_files.items())}. 'pruned' is the "
        f"share of the prunable weights the masks labelled {sparsity}% actually prune."
    )
    table = build_runs_table(runs, sparsity)
    write_table(table, outputs["csv"], outputs["md"], caption, outputs.get("html"))
    plot_runs(
        runs, outputs["png"], outputs["pdf"], f"Runs compared ({split}): accuracy vs. sparsity"
    )


def compare_tasks(
    score_files: Mapping[str, str],
    transfer_from: Mapping[str, str | None],
    outputs: Mapping[str, str],
    sparsity: int,
) -> None:
    """Tickets across tasks (label -> the task's scores.csv, and the label of the task
    each takes transferred tickets from): the transfer matrix and a figure per target."""
    targets = {
        label: Target(pd.read_csv(path), transfer_from.get(label))
        for label, path in score_files.items()
    }
    for label, target in targets.items():
        log.info("%s: %d scores from %s", label, len(target.scores), score_files[label])
    caption = (
        f"Tickets across tasks at {sparsity}% sparsity: each target task's accuracy (%, its "
        "own metric, mean ± sample std over seeds) of the tickets of each source, every one "
        "rewound to the target's theta_0 and retrained on it; the share of the target's own "
        "ticket; the highest sparsity where each keeps 99% of the target's dense accuracy. "
        f"Runs: {', '.join(f'{k} = {v}' for k, v in score_files.items())}."
    )
    table = build_matrix(targets, sparsity)
    write_table(table, outputs["csv"], outputs["md"], caption, outputs.get("html"))
    title = "Tickets across tasks: accuracy vs. sparsity, mean ± std over seeds"
    plot_targets(targets, outputs["png"], outputs["pdf"], title)


def one_shot_costs(
    scores_csv: str,
    benchmarks: Mapping[str, str],
    pruning: Mapping[str, str],
    outputs: Mapping[str, str],
    sparsity: int,
    step: int,
) -> None:
    """Each compared kind's accuracy beside its seconds from the dense network
    (``reporting.one_shot``): ``benchmarks`` maps a network's folder to its job's
    benchmark file (the IMP levels, the retrained one-shot networks), ``pruning`` a
    one-shot network's folder, as pruned, to the seconds of its calibration and pruning."""
    scores = pd.read_csv(scores_csv)
    wall, cpu = {}, {}
    for folder, path in benchmarks.items():
        record = read_benchmark(path)
        key = Network.from_folder(folder).key
        wall[key], cpu[key] = record["s"], record["cpu_time"]
    for folder, path in pruning.items():
        record = read_json(path)
        key = Network.from_folder(folder).key
        wall[key], cpu[key] = record["s"], record["cpu_s"]
    scores["seconds"] = seconds_from_dense(scores, wall, step)
    scores["cpu_seconds"] = seconds_from_dense(scores, cpu, step)
    caption = (
        f"Are tickets worth their compute? Accuracy (%, mean ± sample std over seeds) and "
        f"wall-clock and CPU seconds from the dense network at {sparsity}% sparsity (the IMP "
        "ticket: every retraining of its chain; one-shot as pruned: calibration and pruning; "
        "retrained: the whole one-shot job), then accuracy at every sparsity."
    )
    write_table(build_costs(scores, sparsity), outputs["csv"], outputs["md"], caption,
                outputs.get("html"))  # fmt: skip
    title = "One-shot pruning against the IMP ticket: accuracy vs. sparsity and cost"
    plot_costs(scores, sparsity, outputs["png"], outputs["pdf"], title)


def training_curves(
    histories: Mapping[str, str],
    scores: Mapping[str, str],
    pngs: Mapping[str, str],
    overview_png: str,
    pdf: str,
    kinds: list[str],
    split: str,
    pretrained: str | None,
    pretraining_png: str | None,
) -> None:
    """Every trained network's curves (by folder), the overview, the PDF of them all and,
    for the embedded default, the pre-training's (its folder's pretraining_history.json)."""
    write_curves(
        histories,
        pngs,
        overview_png,
        pdf,
        kinds,
        split,
        scores=scores,
        pretraining=f"{pretrained}/pretraining_history.json" if pretrained else None,
        pretraining_png=pretraining_png,
    )
    log.info("curves of %d networks", len(histories))


def job_costs(
    labels: list[str],
    files: list[str],
    outputs: Mapping[str, str],
    config: Mapping,
    paper_configs: list[str],
    device: str,
) -> None:
    """The run's costs by rule, and the paper configuration's (its files, each over the
    one before) at this run's rate."""
    paper = plan.load_config([Path(p) for p in paper_configs], plan.SCHEMA)
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    where = f"the CPU ({processor()})" if device == "cpu" else device
    write_costs(
        labels,
        files,
        outputs["csv"],
        outputs["md"],
        outputs["html"],
        run=plan.finetune_work(config),
        paper=plan.finetune_work(paper),
        paper_finetunes=len(fine_tunes(paper["study"], paper["pruning"])),
        device=where,
    )
    log.info("costs of %d jobs", len(files))


def compare_speeds(speed_files: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """The runs' tickets (low-magnitude) by measured CPU speed-up and accuracy."""
    frame = compare({label: pd.read_csv(path) for label, path in speed_files.items()})
    caption = (
        "The runs' tickets (low-magnitude, first seed's masks; accuracy the mean over seeds) "
        "by their measured CPU speed-up over each run's dense network (each run's "
        f"benchmarks/speed.md): {', '.join(f'{k} = {v}' for k, v in speed_files.items())}."
    )
    write_table(frame.round(3), outputs["csv"], outputs["md"], caption)
    plot_compare(frame, outputs["png"], outputs["pdf"], "Tickets: accuracy vs. CPU speed-up")
