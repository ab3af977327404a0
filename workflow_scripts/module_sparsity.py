"""Snakemake script: every mask's sparsity per module of the model (CSV, summary, figure)."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.analysis import module_sparsity

out, p = snakemake.output, snakemake.params
run_job(
    snakemake,
    module_sparsity,
    mask_files=list(snakemake.input),
    sparsity=p.sparsity,
    kinds=list(p.kinds),
    out_csv=out.csv,
    out_md=out.md,
    out_html=out.html,
    out_png=out.png,
    out_pdf=out.pdf,
    caption=p.caption,
    family=p.family,
)
