"""Snakemake script: bottom-up-attention TSVs -> one HDF5 feature file (streamed)."""

from lxmert_lth.stages import convert_butd_features, run_stage

run_stage(
    snakemake,
    convert_butd_features,
    tsvs=list(snakemake.input),
    out_h5=snakemake.output[0],
    dtype=snakemake.params.dtype,
    num_boxes=snakemake.params.num_boxes,
)
