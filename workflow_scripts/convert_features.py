"""Snakemake script: bottom-up-attention TSVs -> one HDF5 feature file (streamed)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.data import convert_features

run_job(
    snakemake,
    convert_features,
    tsvs=list(snakemake.input),
    out_h5=snakemake.output[0],
    dtype=snakemake.params.dtype,
    num_boxes=snakemake.params.num_boxes,
)
