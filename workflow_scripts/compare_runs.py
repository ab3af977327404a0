"""Snakemake script: several runs' scores side by side (table and figure)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import compare_runs

out, p = snakemake.output, snakemake.params
run_job(
    snakemake,
    compare_runs,
    score_files=dict(zip(p.labels, snakemake.input, strict=True)),
    out_csv=out.csv,
    out_md=out.md,
    out_html=out.html,
    png=out.png,
    pdf=out.pdf,
    sparsity=p.sparsity,
    split=p.split,
)
