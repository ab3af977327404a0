"""Snakemake script: IMP level (mask + rewound theta_0) from the previous level's network."""

from lxmert_lth.stages import low_magnitude_subnetwork, run_stage

run_stage(
    snakemake,
    low_magnitude_subnetwork,
    theta0=snakemake.input.theta0,
    trained=snakemake.input.trained,
    previous_mask=snakemake.input.get("previous_mask"),
    out=snakemake.output[0],
    sparsity=int(snakemake.wildcards.sparsity),
    ranking=snakemake.params.ranking,
)
