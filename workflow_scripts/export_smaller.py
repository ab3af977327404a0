"""Snakemake script: a heads_neurons subnetwork without its pruned heads and neurons."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.export import export_smaller

run_job(
    snakemake,
    export_smaller,
    model=snakemake.input.model,
    mask=snakemake.input.mask,
    tokenizer=snakemake.input.tokenizer,
    network=Network.from_folder(snakemake.wildcards.network),
    out=snakemake.output[0],
)
