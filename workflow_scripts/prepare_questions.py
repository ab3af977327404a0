"""Snakemake script: easy-VQA -> the workflow's question files and answer vocabulary."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.data import prepare_questions

run_job(
    snakemake,
    prepare_questions,
    outputs=dict(snakemake.output.items()),
    dataset=snakemake.params.dataset,
)
