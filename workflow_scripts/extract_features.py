"""Snakemake script: region features of every easy-VQA image into one HDF5 file."""

from lxmert_lth.stages import extract_easy_vqa_features, run_stage

run_stage(
    snakemake, extract_easy_vqa_features, out_h5=snakemake.output[0], dtype=snakemake.params.dtype
)
