"""Snakemake script: fine-tune theta_0 (dense) or retrain a rewound subnetwork (masked)."""

from lxmert_lth.data import Loading
from lxmert_lth.harness import run_job
from lxmert_lth.network import Network
from lxmert_lth.stages.finetuning import (
    FinetuneOutputs,
    JobOptions,
    StartingPoint,
    TrainingData,
    finetune,
)

inp, out, p, cfg = snakemake.input, snakemake.output, snakemake.params, snakemake.config
run_job(
    snakemake,
    finetune,
    data=TrainingData(inp.train, inp.val, inp.test, inp.answers, inp.features, inp.tokenizer),
    start=StartingPoint(inp.checkpoint, inp.get("mask")),
    outputs=FinetuneOutputs(out.model, out.predictions, out.scores, out.history),
    network=Network.from_wildcards(snakemake.wildcards),
    recipe=p.recipe,
    max_length=p.max_length,
    scored_split=p.scored_split,
    options=JobOptions(
        device=p.device,
        precision=p.precision,
        tf32=p.tf32,
        # How features are read and where resumable state goes change no result (lazy
        # and in-memory batches are identical), so they come from the configuration,
        # not params: changing them reruns nothing.
        loading=Loading(cfg["features"]["in_memory"], cfg["execution"]["loader_workers"]),
        resume_folder=p.resume_folder,
        checkpoint_every=cfg["execution"]["checkpoint_every"],
    ),
)
