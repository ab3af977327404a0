"""Snakemake script: theta_0 of a seed (pretrained weights + an answer head initialised with
the seed), fine-tuned into its dense network."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.finetuning import finetune_dense
from lxmert_lth.workflow.stages.training_job import FinetuneOutputs, Theta0, training_arguments

out, p = snakemake.output, snakemake.params
run_job(
    snakemake,
    finetune_dense,
    **training_arguments(snakemake),
    theta0=Theta0.from_job(snakemake),
    outputs=FinetuneOutputs(
        out.model,
        out.predictions,
        out.scores,
        out.history,
        late=(p.late_rewind_step, out.late) if "late" in out.keys() else None,
    ),
    seed=int(snakemake.wildcards.seed),
)
