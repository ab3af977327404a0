"""Snakemake script: make a subnetwork's mask, rewind theta_0 under it, and retrain it."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.subnetworks import (
    MaskSources,
    SubnetworkOutputs,
    retrain_subnetwork,
)
from lxmert_lth.workflow.stages.training_job import (
    FinetuneOutputs,
    pruning_of,
    training_arguments,
)

out = snakemake.output
run_job(
    snakemake,
    retrain_subnetwork,
    **training_arguments(snakemake),
    theta0=snakemake.input.theta0,
    sources=MaskSources.from_input(snakemake.input),
    outputs=SubnetworkOutputs(
        out.mask,
        out.rewound,
        FinetuneOutputs(out.get("model"), out.predictions, out.scores, out.history),
    ),
    network=Network.from_wildcards(snakemake.wildcards),
    pruning=pruning_of(snakemake.params.pruning),
)
