"""Snakemake script: a WordPiece tokenizer trained on the pre-training questions."""

from lxmert_lth.stages import make_tokenizer, run_stage

run_stage(
    snakemake,
    make_tokenizer,
    questions=snakemake.input[0],
    out_dir=snakemake.output[0],
    vocab_size=snakemake.params.vocab_size,
)
