"""Snakemake script: high-magnitude subnetwork = complement of the low mask at 100 - s."""

from lxmert_lth.harness import run_job
from lxmert_lth.stages.subnetworks import high_magnitude_subnetwork

run_job(snakemake, high_magnitude_subnetwork, low_mask=snakemake.input.low, out=snakemake.output[0])
