"""Snakemake script: every network's test scores into one long CSV."""

from lxmert_lth.stages import collect_scores, run_stage

run_stage(snakemake, collect_scores, score_files=list(snakemake.input), out_csv=snakemake.output[0])
