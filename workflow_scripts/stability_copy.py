"""Snakemake script: one copy of a stability pair, a network trained again from its
starting point under its mask with a data-order seed of its own."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.stability import CopyStart, train_copy
from lxmert_lth.workflow.stages.training_job import FinetuneOutputs, training_arguments

inp, out, wc = snakemake.input, snakemake.output, snakemake.wildcards
run_job(
    snakemake,
    train_copy,
    **training_arguments(snakemake),
    start=CopyStart(
        inp.theta0,
        inp.get("late"),
        inp.get("mask"),
        out.get("start"),
        snakemake.params.enforce_masks,
    ),
    outputs=FinetuneOutputs(out.model, None, out.scores, out.history),
    network=Network.from_folder(f"seed{wc.seed}/{wc.network}"),
    order=int(wc.order),
)
