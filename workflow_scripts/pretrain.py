"""Snakemake script: pre-train the embedded default's LXMERT (save_pretrained directory)."""

from lxmert_lth.stages import run_pretraining, run_stage

run_stage(
    snakemake,
    run_pretraining,
    inp=dict(snakemake.input.items()),
    out_dir=snakemake.output[0],
    model_cfg=snakemake.params.model,
    recipe=snakemake.params.recipe,
    max_length=snakemake.params.max_length,
    device=snakemake.params.device,
)
