"""Snakemake script: theta_0 = pretrained weights + an answer head initialised with the seed."""

from lxmert_lth.stages import make_theta0, run_stage

run_stage(
    snakemake,
    make_theta0,
    pretrained=snakemake.input.pretrained,
    answers_path=snakemake.input.answers,
    out=snakemake.output[0],
    seed=int(snakemake.wildcards.seed),
    prunable_modules=snakemake.params.prunable_modules,
    answer_head=snakemake.params.answer_head,
)
