"""Snakemake script: the stability table and figures."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.stability import report

p = snakemake.params
run_job(
    snakemake,
    report,
    lines=list(snakemake.input),
    outputs=dict(snakemake.output.items()),
    threshold=p.threshold,
    table_sparsity=p.table_sparsity,
    dataset=p.dataset,
)
