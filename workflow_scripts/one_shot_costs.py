"""Snakemake script: one-shot pruning against the IMP ticket, accuracy beside cost."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.reports import one_shot_costs

p = snakemake.params
run_job(
    snakemake,
    one_shot_costs,
    scores_csv=snakemake.input.scores,
    benchmarks=dict(p.benchmarks),
    pruning=dict(p.pruning),
    outputs=dict(snakemake.output.items()),
    sparsity=p.sparsity,
    step=p.step,
)
