"""Snakemake script: theta_0 = pretrained weights + an answer head initialised with the seed."""

from lxmert_lth.harness import run_job
from lxmert_lth.stages.pretraining import init_theta0

run_job(
    snakemake,
    init_theta0,
    pretrained=snakemake.input.pretrained,
    answers=snakemake.input.answers,
    out=snakemake.output[0],
    seed=int(snakemake.wildcards.seed),
    prunable_modules=snakemake.params.prunable_modules,
    answer_head=snakemake.params.answer_head,
    prunable_set=snakemake.params.get("prunable_set", "linear_weights"),
    scope=snakemake.params.get("scope", "all"),
)
