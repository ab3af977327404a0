"""Snakemake script: Figure 1 (PNG and PDF)."""

from lxmert_lth.stages import make_figure1, run_stage

p = snakemake.params
run_stage(
    snakemake,
    make_figure1,
    scores_csv=snakemake.input[0],
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
    kinds=list(p.kinds),
    dataset=p.dataset,
    split=p.split,
)
