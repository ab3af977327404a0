"""Snakemake script: reproduced vs published numbers (CSV and Markdown)."""

from lxmert_lth.stages import make_comparison, run_stage

p = snakemake.params
run_stage(
    snakemake,
    make_comparison,
    scores_csv=snakemake.input.scores,
    out_csv=snakemake.output.csv,
    out_md=snakemake.output.md,
    kinds=list(p.kinds),
    split=p.split,
    server_files=dict(p.server),
)
