"""Snakemake script: prune the dense network in one shot, score it, retrain it briefly."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.one_shot import OneShotOutputs, one_shot_prune
from lxmert_lth.workflow.stages.training_job import (
    FinetuneOutputs,
    pruning_of,
    training_arguments,
)

out = snakemake.output
run_job(
    snakemake,
    one_shot_prune,
    **training_arguments(snakemake),
    dense_model=snakemake.input.trained,
    outputs=OneShotOutputs(
        out.mask,
        out.pruned_model,
        FinetuneOutputs(None, out.predictions, out.scores, out.history),
        out.retrained_mask,
        FinetuneOutputs(
            None, out.retrained_predictions, out.retrained_scores, out.retrained_history
        ),
        out.pruning_seconds,
    ),
    network=Network.from_wildcards(snakemake.wildcards),
    settings=snakemake.params.one_shot,
    pruning=pruning_of(snakemake.params.pruning),
)
