"""Snakemake script: the compared runs' tickets by CPU speed-up and accuracy."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import compare_speeds

run_job(
    snakemake,
    compare_speeds,
    speed_files=dict(zip(snakemake.params.labels, snakemake.input, strict=True)),
    outputs=dict(snakemake.output.items()),
)
