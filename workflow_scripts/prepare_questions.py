"""Snakemake script: easy-VQA -> the workflow's question files and answer vocabulary."""

from lxmert_lth.stages import prepare_easy_vqa, run_stage

run_stage(
    snakemake,
    prepare_easy_vqa,
    out=dict(snakemake.output.items()),
    dataset=snakemake.params.dataset,
)
