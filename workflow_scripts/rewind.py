"""Snakemake script: rewind a subnetwork to theta_0 (theta_0 with pruned weights zeroed)."""

from lxmert_lth.harness import run_job
from lxmert_lth.stages.subnetworks import rewind

run_job(
    snakemake,
    rewind,
    theta0=snakemake.input.theta0,
    mask_path=snakemake.input.mask,
    out=snakemake.output[0],
)
