"""Snakemake script: Figure 1 (PNG and PDF)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import figure1

p = snakemake.params
run_job(
    snakemake,
    figure1,
    scores_csv=snakemake.input[0],
    outputs=dict(snakemake.output.items()),
    kinds=list(p.kinds),
    dataset=p.dataset,
    split=p.split,
)
