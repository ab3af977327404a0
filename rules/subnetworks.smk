# Subnetworks: one job per (seed, kind, sparsity) makes the mask, rewinds theta_0 under
# it (temporary: theta_0 times the mask) and retrains it with the mask enforced. Every
# subnetwork keeps its mask, predictions, scores and history; the trained weights of the
# IMP tickets (low) always (the next level is pruned from them), those of the controls
# (high, random) only with study.keep_control_weights.


rule retrain_subnetwork:
    input:
        unpack(lambda wc: R.training_data()),
        unpack(R.mask_sources),
        theta0=R.theta0_of,
    output:
        mask=subnetwork("mask.safetensors"),
        rewound=temp(subnetwork("rewound.safetensors")),
        model=subnetwork("model.safetensors"),
        predictions=subnetwork("predictions.json"),
        scores=subnetwork("scores.json"),
        history=subnetwork("history.json"),
    log:
        logfile("seed{seed}/retrain_{kind}{sparsity}.log"),
        record=recordfile("seed{seed}/retrain_{kind}{sparsity}.json"),
    benchmark:
        benchfile(BENCHMARKS["retrain"])
    wildcard_constraints:
        kind=R.kinds_with_weights(),
    priority: R.chain_priority
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **R.requests.gpu_job_resources("finetune"),
    params:
        **R.finetune_params(),
        pruning=R.mask_params,
        resume_folder=R.resume_folder,
    script:
        "../workflow_scripts/retrain_subnetwork.py"


if not STUDY["keep_control_weights"]:

    # The controls without their trained weights (the same job otherwise).
    use rule retrain_subnetwork as retrain_control with:
        output:
            mask=subnetwork("mask.safetensors"),
            rewound=temp(subnetwork("rewound.safetensors")),
            predictions=subnetwork("predictions.json"),
            scores=subnetwork("scores.json"),
            history=subnetwork("history.json"),
        wildcard_constraints:
            kind="|".join(CONTROL_KINDS),
