"""Snakemake script: the run's costs by rule, and the paper configuration's at its rate."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import job_costs

run_job(
    snakemake,
    job_costs,
    labels=list(snakemake.params.labels),
    files=list(snakemake.input.benchmarks),
    outputs=dict(snakemake.output.items()),
    # The one job that reads the configuration whole: it is what the table estimates the
    # cost of (a machine's benchmark table, outside the digests), and the table reruns
    # with every benchmarked job, so with every change of a result.
    config=snakemake.config,
    paper_configs=list(snakemake.input.paper),
    device=snakemake.params.device,
)
