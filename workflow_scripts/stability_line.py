"""Snakemake script: the error along the line between a stability pair's two copies."""

from lxmert_lth.core.network import Network
from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.stability import LineData, line
from lxmert_lth.workflow.stages.training_job import JobOptions

inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
run_job(
    snakemake,
    line,
    copies=[inp.copy0, inp.copy1],
    mask=inp.get("mask"),
    data=LineData(inp.val, inp.answers, inp.features, inp.tokenizer),
    out=snakemake.output[0],
    network=Network.from_folder(f"seed{wc.seed}/{wc.network}"),
    rewind=wc.rewind,
    orders=list(p.orders),
    points=p.points,
    max_length=p.max_length,
    rule=p.evaluation["rule"],
    options=JobOptions.from_job(snakemake),
    eval_batch_size=p.recipe["eval_batch_size"],
)
