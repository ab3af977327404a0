"""Snakemake script: pre-train the embedded default's model (save_pretrained directory)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.pretraining import pretrain

run_job(
    snakemake,
    pretrain,
    inputs=dict(snakemake.input.items()),
    out_dir=snakemake.output[0],
    model=snakemake.params.model,
    recipe=snakemake.params.recipe,
    max_length=snakemake.params.max_length,
    device=snakemake.params.device,
)
