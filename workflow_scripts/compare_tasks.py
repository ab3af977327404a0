"""Snakemake script: tickets across tasks (the transfer matrix and a figure per target)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import compare_tasks

p = snakemake.params
run_job(
    snakemake,
    compare_tasks,
    score_files=dict(zip(p.labels, snakemake.input, strict=True)),
    transfer_from=dict(p.transfer_from),
    outputs=dict(snakemake.output.items()),
    sparsity=p.sparsity,
)
