"""Snakemake script: fine-tune theta_0 of a seed into its dense network."""

from lxmert_lth.harness import run_job
from lxmert_lth.network import Network
from lxmert_lth.stages.finetuning import (
    FinetuneOutputs,
    JobOptions,
    StartingPoint,
    TrainingData,
    finetune,
)

inp, out, p = snakemake.input, snakemake.output, snakemake.params
run_job(
    snakemake,
    finetune,
    data=TrainingData.from_input(inp),
    start=StartingPoint(inp.checkpoint),
    outputs=FinetuneOutputs(out.model, out.predictions, out.scores, out.history),
    network=Network.from_wildcards(snakemake.wildcards),
    recipe=p.recipe,
    max_length=p.max_length,
    scored_split=p.scored_split,
    options=JobOptions.from_job(p, snakemake.config),
)
