"""Snakemake script: each subnetwork's CPU speed against the dense network's."""

from pathlib import Path

from lxmert_lth.data import tasks
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.speed import ticket_speed

run_job(
    snakemake,
    ticket_speed,
    theta0=snakemake.input.theta0,
    # .../seed0/low50/mask.safetensors -> seed0/low50
    masks={"/".join(Path(m).parts[-3:-1]): m for m in snakemake.input.masks},
    scores_csv=snakemake.input.scores,
    data={k: snakemake.input[k] for k in ("questions", "answers", "features", "tokenizer")},
    outputs=dict(snakemake.output.items()),
    granularity=snakemake.params.granularity,
    max_length=snakemake.params.max_length,
    split=snakemake.params.split,
    questions=snakemake.params.questions,
    repeats=snakemake.params.repeats,
    threads=snakemake.threads,
    task=tasks.of_params(snakemake.params),
)
