"""Snakemake script: VQA v2 (official or LXMERT files) -> question files and answers."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.data import prepare_vqa_v2

run_job(
    snakemake,
    prepare_vqa_v2,
    outputs=dict(snakemake.output.items()),
    dataset=snakemake.params.dataset,
    features=snakemake.input.get("features"),
)
