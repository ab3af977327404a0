"""Snakemake script: fine-tune theta_0 (dense) or retrain a rewound subnetework (masked)."""

from lxmert_lth.stages import finetune, run_stage

wc = snakemake.wildcards
network = (
    {"kind": wc.kind, "sparsity": int(wc.sparsity)}
    if "kind" in wc.keys()
    else {"kind": "dense", "sparsity": 0}
)
run_stage(
    snakemake,
    finetune,
    inp=dict(snakemake.input.items()),
    out=dict(snakemake.output.items()),
    recipe=snakemake.params.recipe,
    max_length=snakemake.params.max_length,
    seed=int(wc.seed),
    device=snakemake.params.device,
    network=network,
)
