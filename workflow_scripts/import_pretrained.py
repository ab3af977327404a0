"""Snakemake script: the user's pretrained model -> a save_pretrained directory."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.pretraining import import_pretrained

p = snakemake.params.pretrained
run_job(
    snakemake,
    import_pretrained,
    out_dir=snakemake.output[0],
    source=p["source"],
    tokenizer=p["tokenizer"],
    config=p["config"],
    answers=p["answers"],
    family=snakemake.params.family,
)
