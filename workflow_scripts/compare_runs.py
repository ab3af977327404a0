"""Snakemake script: several runs' scores side by side (table and figure)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import compare_runs

p = snakemake.params
run_job(
    snakemake,
    compare_runs,
    score_files=dict(zip(p.labels, snakemake.input, strict=True)),
    outputs=dict(snakemake.output.items()),
    sparsity=p.sparsity,
    split=p.split,
)
