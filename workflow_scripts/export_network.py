"""Snakemake script: a trained network as a save_pretrained directory."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.export import export_network

run_job(
    snakemake,
    export_network,
    model=snakemake.input.model,
    tokenizer=snakemake.input.tokenizer,
    network=Network.from_folder(snakemake.wildcards.network),
    out=snakemake.output[0],
)
