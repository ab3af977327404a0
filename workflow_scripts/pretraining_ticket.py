"""Snakemake script: one level of a pre-training ticket's IMP chain (its mask)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.pretraining_tickets import pretraining_level

params = snakemake.params
run_job(
    snakemake,
    pretraining_level,
    inputs=dict(snakemake.input.items()),
    outputs=dict(snakemake.output.items()),
    seed=int(snakemake.wildcards.seed),
    sparsity=int(snakemake.wildcards.sparsity),
    recipe=params.recipe,
    pruning=params.pruning,
    max_length=params.max_length,
    device=params.device,
)
