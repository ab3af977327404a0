# One-shot pruning (study.kinds magnitude, wanda, sparsegpt; docs/method.md, "One-shot
# pruning"): one job per (seed, method, sparsity) prunes the seed's dense fine-tuned
# network, calibrated on training questions, and scores it as pruned ({method}{sparsity})
# and after a short retraining under its mask ({method}ft{sparsity}). Nothing is
# rewound; the pruned weights are temporary (the retraining's start).

RETRAINED = "seed{seed}/{kind}ft{sparsity}"


rule one_shot_prune:
    input:
        unpack(lambda wc: R.training_data()),
        unpack(R.mask_sources),
    output:
        mask=subnetwork("mask.safetensors"),
        pruned_model=temp(subnetwork("pruned.safetensors")),
        predictions=subnetwork("predictions.json"),
        scores=subnetwork("scores.json"),
        history=subnetwork("history.json"),
        retrained_mask=res(RETRAINED, "mask.safetensors"),
        retrained_predictions=res(RETRAINED, "predictions.json"),
        retrained_scores=res(RETRAINED, "scores.json"),
        retrained_history=res(RETRAINED, "history.json"),
    log:
        logfile("seed{seed}/one_shot_{kind}{sparsity}.log"),
        record=recordfile("seed{seed}/one_shot_{kind}{sparsity}.json"),
    benchmark:
        benchfile(R.ONE_SHOT_BENCHMARK)
    wildcard_constraints:
        kind="|".join(R.one_shot_methods()),
    priority: R.chain_priority
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **R.requests.gpu_job_resources("finetune"),
    params:
        **R.finetune_params(),
        pruning=R.mask_params,
        one_shot=R.config_params("one_shot"),
        resume_folder=R.resume_folder,
    script:
        "../workflow_scripts/one_shot_prune.py"
