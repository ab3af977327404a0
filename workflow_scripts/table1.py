"""Snakemake script: Table 1 (CSV and Markdown)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import table1

p = snakemake.params
run_job(
    snakemake,
    table1,
    scores_csv=snakemake.input.scores,
    outputs=dict(snakemake.output.items()),
    sparsity=p.sparsity,
    kinds=list(p.kinds),
    dataset=p.dataset,
    split=p.split,
    server_files=dict(p.server),
    family=p.family,
)
