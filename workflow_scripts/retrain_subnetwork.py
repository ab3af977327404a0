"""Snakemake script: make a subnetwork's mask, rewind theta_0 under it, and retrain it."""

from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.finetuning import FinetuneOutputs, JobOptions, Scoring, TrainingData
from lxmert_lth.workflow.stages.subnetworks import (
    MaskSources,
    SubnetworkOutputs,
    retrain_subnetwork,
)

inp, out, p = snakemake.input, snakemake.output, snakemake.params
run_job(
    snakemake,
    retrain_subnetwork,
    data=TrainingData.from_input(inp),
    theta0=inp.theta0,
    sources=MaskSources.from_input(inp),
    outputs=SubnetworkOutputs(
        out.mask,
        out.rewound,
        FinetuneOutputs(out.get("model"), out.predictions, out.scores, out.history),
    ),
    network=Network.from_wildcards(snakemake.wildcards),
    # The whole pruning section (the params hold only what this kind depends on).
    pruning=PruningOptions.of(snakemake.config["pruning"]),
    recipe=p.recipe,
    max_length=p.max_length,
    scoring=Scoring(p.scored_split, p.evaluation["rule"]),
    options=JobOptions.from_job(p, snakemake.config),
)
