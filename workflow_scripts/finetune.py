"""Snakemake script: fine-tune theta_0 (dense) or retrain a rewound subnetwork (masked)."""

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
    score_split=snakemake.params.score_split,
    # How features are read changes no result (lazy and in-memory batches are identical),
    # so it comes from the configuration, not params: changing it reruns nothing.
    loading={
        "in_memory": snakemake.config["features"].get("in_memory", True),
        "loader_workers": snakemake.config["execution"].get("loader_workers", 0),
    },
    precision=snakemake.params.precision,
    tf32=snakemake.params.tf32,
    # Where and how often resumable state is saved changes no result either.
    scratch=snakemake.params.scratch,
    checkpoint_every=snakemake.config["execution"].get("checkpoint_every", 500),
)
