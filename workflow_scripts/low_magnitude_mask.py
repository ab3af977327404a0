"""Snakemake script: IMP level mask from the previous level's trained network."""

from lxmert_lth.stages import low_magnitude_mask, run_stage

run_stage(
    snakemake,
    low_magnitude_mask,
    theta0=snakemake.input.theta0,
    trained=snakemake.input.trained,
    previous_mask=snakemake.input.get("previous_mask"),
    out=snakemake.output[0],
    sparsity=int(snakemake.wildcards.sparsity),
    ranking=snakemake.params.ranking,
)
