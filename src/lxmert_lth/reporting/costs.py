"""What a run cost, from Snakemake's benchmark files, and what the paper configuration
would cost at the same rate.

Each benchmark file (``<results>/benchmarks/...tsv``) holds one job's wall time, CPU time
and peak memory. The table sums them by rule (training jobs by kind). The projection
scales this run's mean fine-tune time by the ratio of the work of a paper fine-tune to
one of this run: work per training sample ~ 6 x prunable (matrix) weights x positions
(word pieces + regions), and a fine-tune reads ``plan.EVAL_COST``-weighted samples as the
plan counts them. It is an estimate for *this* device: small models run further below a
device's peak than a base model does, so it errs high; on a GPU, measure the training
throughput and give it to ``python -m lxmert_lth.workflow.plan --samples-per-second``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import atomic_path
from lxmert_lth.reporting.report import write_markdown

TRAINING_RULES = ("finetune_dense", "retrain")


def read_benchmark(path: str) -> dict:
    """The one row of a Snakemake benchmark file (seconds, MB)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        raise InputError(
            f"{path}: an empty benchmark file (Snakemake writes it after the job; a disk that "
            "filled then leaves it so): free some space and delete it, and its job reruns"
        )
    row = rows[-1]
    return {
        "s": float(row["s"]),
        "cpu_time": float(row["cpu_time"]),
        "max_rss": float(row["max_rss"]),
        "max_pss": float(row["max_pss"]),
    }


def job_table(labels: Sequence[str], files: Sequence[str]) -> pd.DataFrame:
    """One row per job: its label (``rule``, or ``rule kind`` for a training job) and what
    its benchmark file says."""
    if len(labels) != len(files):
        raise ValueError(f"{len(labels)} labels for {len(files)} benchmark files")
    return pd.DataFrame(
        [{"job": job, **read_benchmark(p)} for job, p in zip(labels, files, strict=True)]
    )


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """By rule (training jobs by kind): jobs, wall time (sum, mean, max), CPU time and the
    largest peak memory (PSS: a page shared with a loader worker counted once)."""
    grouped = jobs.groupby("job", sort=False)
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "wall s (sum)": grouped.s.sum(),
            "wall s (mean)": grouped.s.mean(),
            "wall s (max)": grouped.s.max(),
            "CPU s (sum)": grouped.cpu_time.sum(),
            "peak PSS MB (max)": grouped.max_pss.max(),
            "peak RSS MB (max)": grouped.max_rss.max(),
        }
    )
    total = pd.DataFrame(
        {
            "jobs": [len(jobs)],
            "wall s (sum)": [jobs.s.sum()],
            "wall s (mean)": [jobs.s.mean()],
            "wall s (max)": [jobs.s.max()],
            "CPU s (sum)": [jobs.cpu_time.sum()],
            "peak PSS MB (max)": [jobs.max_pss.max()],
            "peak RSS MB (max)": [jobs.max_rss.max()],
        },
        index=["all benchmarked jobs"],
    )
    return pd.concat([table, total]).round(1).rename_axis("rule").reset_index()


@dataclass(frozen=True)
class Work:
    """A fine-tune's work: training-sample equivalents and the cost of one sample."""

    samples: float  # training-sample equivalents (plan's count)
    prunable: int  # matrix weights a sample passes through
    positions: int  # word pieces + regions

    @property
    def flops(self) -> float:
        return 6.0 * self.prunable * self.positions * self.samples


def projection(jobs: pd.DataFrame, run: Work, paper: Work, paper_finetunes: int) -> dict:
    """The paper configuration at this run's measured rate (one device per fine-tune)."""
    training = jobs[jobs.job.str.startswith(TRAINING_RULES)]
    if training.empty:
        raise InputError("no training job among the benchmark files")
    mean_s = float(training.s.mean())
    per_finetune_s = mean_s * paper.flops / run.flops
    return {
        "this run: fine-tunes": len(training),
        "this run: mean wall s per fine-tune": round(mean_s, 1),
        "this run: GFLOP per fine-tune": round(run.flops / 1e9, 2),
        "this run: GFLOP/s per fine-tune job": round(run.flops / mean_s / 1e9, 2),
        "paper: fine-tunes": paper_finetunes,
        "paper: PFLOP per fine-tune": round(paper.flops / 1e15, 1),
        "paper at this rate: device-hours per fine-tune": round(per_finetune_s / 3600, 1),
        "paper at this rate: device-hours in all": round(per_finetune_s * paper_finetunes / 3600),
    }


def write_costs(
    labels: Sequence[str],
    files: Sequence[str],
    csv_path: str,
    md_path: str,
    html_path: str,
    run: Work,
    paper: Work,
    paper_finetunes: int,
    device: str,
) -> None:
    jobs = job_table(labels, files)
    table = summary(jobs)
    projected = projection(jobs, run, paper, paper_finetunes)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    lines = [
        "Per-job wall time, CPU time and peak memory from the benchmark files, by rule "
        "(training jobs by kind).",
        "",
        table.to_markdown(index=False),
        "",
        f"The paper configuration at this run's rate (device: {device}; a fine-tune's work "
        "taken as 6 x prunable weights x positions per training-sample equivalent; small "
        "models run further below a device's peak than a base model, so this errs high; on a "
        "GPU, give a measured throughput to `python -m lxmert_lth.workflow.plan "
        "--samples-per-second`):",
        "",
        pd.DataFrame(
            [(k, f"{v:,}") for k, v in projected.items()], columns=["quantity", "value"]
        ).to_markdown(index=False, colalign=("left", "right"), disable_numparse=True),
    ]
    write_markdown(md_path, "\n".join(lines) + "\n", html_path)
