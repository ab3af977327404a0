"""Snakemake script: random subnetwork with the low-magnitude mask's pruned count."""

from lxmert_lth.harness import run_job
from lxmert_lth.stages.subnetworks import random_subnetwork

run_job(
    snakemake,
    random_subnetwork,
    theta0=snakemake.input.theta0,
    reference=snakemake.input.get("reference"),
    out=snakemake.output[0],
    sparsity=int(snakemake.wildcards.sparsity),
    seed=int(snakemake.wildcards.seed),
)
