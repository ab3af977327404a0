"""Snakemake script: high-magnitude mask = complement of the low-magnitude mask at 100 - s."""

from lxmert_lth.stages import high_magnitude_mask, run_stage

run_stage(snakemake, high_magnitude_mask, low_mask=snakemake.input.low, out=snakemake.output[0])
