"""Snakemake script: every network's scores into one long CSV."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import collect_scores

run_job(snakemake, collect_scores, score_files=list(snakemake.input), out_csv=snakemake.output[0])
