"""Snakemake script: every network's training curves, the overview and the PDF."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import training_curves

p = snakemake.params
out = snakemake.output
run_job(
    snakemake,
    training_curves,
    histories=dict(zip(p.folders, snakemake.input.histories, strict=True)),
    scores=dict(zip(p.folders, snakemake.input.scores, strict=True)),
    pngs=dict(zip(p.folders, out.curves, strict=True)),
    overview_png=out.overview,
    pdf=out.pdf,
    kinds=list(p.kinds),
    split=p.split,
    pretrained=(snakemake.input.pretrained or [None])[0],
    pretraining_png=(out.pretraining or [None])[0],
)
