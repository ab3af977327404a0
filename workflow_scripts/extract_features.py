"""Snakemake script: region features of every easy-VQA image into one HDF5 file."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.data import extract_features

run_job(snakemake, extract_features, out_h5=snakemake.output[0], dtype=snakemake.params.dtype)
