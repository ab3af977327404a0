"""Snakemake script: theta_0 of a seed (pretrained weights + an answer head initialised with
the seed), fine-tuned into its dense network."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.finetuning import (
    FinetuneOutputs,
    JobOptions,
    Scoring,
    Theta0,
    TrainingData,
    finetune_dense,
)

inp, out, p = snakemake.input, snakemake.output, snakemake.params
run_job(
    snakemake,
    finetune_dense,
    data=TrainingData.from_input(inp),
    theta0=Theta0(
        inp.pretrained,
        out.theta0,
        p.prunable_modules,
        p.answer_head,
        snakemake.config["pruning"]["prunable_set"],
        snakemake.config["pruning"]["scope"],
        snakemake.config["model"].get("family"),
    ),
    outputs=FinetuneOutputs(
        out.model,
        out.predictions,
        out.scores,
        out.history,
        late=(p.late_rewind_step, out.late) if "late" in out.keys() else None,
    ),
    seed=int(snakemake.wildcards.seed),
    recipe=p.recipe,
    max_length=p.max_length,
    scoring=Scoring(p.scored_split, p.evaluation["rule"]),
    options=JobOptions.from_job(p, snakemake.config),
)
