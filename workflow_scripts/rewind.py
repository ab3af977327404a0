"""Snakemake script: rewind a subnetwork to theta_0 (theta_0 with pruned weights zeroed)."""

from lxmert_lth.stages import rewind_subnetwork, run_stage

run_stage(
    snakemake,
    rewind_subnetwork,
    theta0=snakemake.input.theta0,
    mask_path=snakemake.input.mask,
    out=snakemake.output[0],
)
