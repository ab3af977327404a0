"""Snakemake script: a WordPiece tokenizer of the pre-training questions."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.pretraining import build_tokenizer

run_job(
    snakemake,
    build_tokenizer,
    questions=snakemake.input[0],
    out_dir=snakemake.output[0],
    vocab_size=snakemake.params.vocab_size,
)
