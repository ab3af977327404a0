"""Snakemake script: the run's costs by rule, and the paper configuration's at its rate."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import job_costs

run_job(
    snakemake,
    job_costs,
    labels=list(snakemake.params.labels),
    files=list(snakemake.input.benchmarks),
    outputs=dict(snakemake.output.items()),
    config=snakemake.config,
    paper_config=snakemake.input.paper,
    device=snakemake.params.device,
)
