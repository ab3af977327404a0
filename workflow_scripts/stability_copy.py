"""Snakemake script: one copy of a stability pair, a network trained again from its
starting point under its mask with a data-order seed of its own."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.finetuning import FinetuneOutputs, JobOptions, Scoring, TrainingData
from lxmert_lth.workflow.stages.stability import CopyStart, train_copy

inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
run_job(
    snakemake,
    train_copy,
    data=TrainingData.from_input(inp),
    start=CopyStart(
        inp.theta0,
        inp.get("late"),
        inp.get("mask"),
        out.get("start"),
        p.enforce_masks,
    ),
    outputs=FinetuneOutputs(out.model, None, out.scores, out.history),
    network=Network.from_folder(f"seed{wc.seed}/{wc.network}"),
    order=int(wc.order),
    recipe=p.recipe,
    max_length=p.max_length,
    scoring=Scoring(p.scored_split, p.evaluation["rule"]),
    options=JobOptions.from_job(p, snakemake.config),
)
