"""Snakemake script: IMP level (the low-magnitude mask) from the previous level's network."""

from lxmert_lth.harness import run_job
from lxmert_lth.stages.subnetworks import low_magnitude_subnetwork

run_job(
    snakemake,
    low_magnitude_subnetwork,
    theta0=snakemake.input.theta0,
    trained=snakemake.input.trained,
    previous_mask=snakemake.input.get("previous_mask"),
    out=snakemake.output[0],
    sparsity=int(snakemake.wildcards.sparsity),
    ranking=snakemake.params.ranking,
)
