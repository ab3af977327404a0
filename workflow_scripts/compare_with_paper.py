"""Snakemake script: reproduced vs published numbers (CSV and Markdown)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import compare_with_paper

p = snakemake.params
run_job(
    snakemake,
    compare_with_paper,
    scores_csv=snakemake.input.scores,
    outputs=dict(snakemake.output.items()),
    kinds=list(p.kinds),
    split=p.split,
    server_files=dict(p.server),
)
