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
        pruning_seconds=benchfile(R.ONE_SHOT_PRUNING),
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
        # Retrained for one_shot.retrain_epochs; the test split scored for both networks.
        **R.requests.gpu_job_resources(
            "finetune", epochs=config["one_shot"]["retrain_epochs"], scored=2
        ),
    params:
        **R.finetune_params(),
        pruning=R.mask_params,
        one_shot=R.config_params("one_shot"),
        resume_folder=R.resume_folder,
    script:
        "../workflow_scripts/one_shot_prune.py"


# Are tickets worth their compute? Each kind's accuracy beside its seconds from the dense
# network (the jobs' own records), in a table and two panels: timings, so under
# benchmarks/ with the other records of time (outside the digests). Its records, by
# network folder: the jobs' benchmark files, and the one-shot networks' pruning seconds.
COST_BENCHMARKS, COST_PRUNING = R.one_shot_cost_files()


rule one_shot_costs:
    input:
        scores=res("scores.csv"),
        benchmarks=list(COST_BENCHMARKS.values()),
        pruning=list(COST_PRUNING.values()),
    output:
        csv=res("benchmarks/one_shot.csv"),
        md=res("benchmarks/one_shot.md"),
        html=report(
            res("benchmarks/one_shot.html"),
            caption="../report/one_shot.rst",
            category="One-shot pruning",
            labels={"view": "table"},
        ),
        png=report(
            res("benchmarks/one_shot.png"),
            caption="../report/one_shot.rst",
            category="One-shot pruning",
            labels={"view": "figure"},
        ),
        pdf=res("benchmarks/one_shot.pdf"),
    log:
        logfile("one_shot_costs.log"),
    conda:
        ENV
    params:
        benchmarks=COST_BENCHMARKS,
        pruning=COST_PRUNING,
        sparsity=STUDY["table_sparsity"],
        step=PRUNING_OPTIONS.step,
    script:
        "../workflow_scripts/one_shot_costs.py"
