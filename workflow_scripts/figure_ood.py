"""Snakemake script: accuracy in and out of distribution (figure and table)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import figure_ood

p = snakemake.params
run_job(
    snakemake,
    figure_ood,
    scores_csv=snakemake.input[0],
    outputs=dict(snakemake.output.items()),
    kinds=list(p.kinds),
    dataset=p.dataset,
    split=p.split,
)
