"""Snakemake script: the user's pretrained LXMERT -> a save_pretrained directory."""

from lxmert_lth.stages import import_pretrained_model, run_stage

p = snakemake.params.pretrained
run_stage(
    snakemake,
    import_pretrained_model,
    out_dir=snakemake.output[0],
    source=p["source"],
    tokenizer=p.get("tokenizer"),
    config=p.get("config"),
    answers=p.get("answers"),
)
