"""Snakemake script: VQA v2 (official or LXMERT files) -> question files and answers."""

from lxmert_lth.stages import prepare_vqa_v2, run_stage

run_stage(
    snakemake,
    prepare_vqa_v2,
    out=dict(snakemake.output.items()),
    dataset=snakemake.params.dataset,
)
