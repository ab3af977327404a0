rule finetune_dense:
    input:
        unpack(lambda wc: training_data()),
        checkpoint=res("seed{seed}/theta0.safetensors"),
    output:
        model=dense("model.safetensors"),
        predictions=dense("predictions.json"),
        scores=dense("scores.json"),
        history=dense("history.json"),
    log:
        logfile("seed{seed}/finetune_dense.log"),
    benchmark:
        benchfile("seed{seed}/finetune_dense.tsv")
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **gpu_job_resources("finetune"),
    params:
        **finetune_params(),
        resume_folder=resume_folder,
    script:
        "../workflow_scripts/finetune.py"


rule retrain_subnetwork:
    input:
        unpack(lambda wc: training_data()),
        checkpoint=subnetwork("rewound.safetensors"),
        mask=subnetwork("mask.safetensors"),
    output:
        model=subnetwork("model.safetensors"),
        predictions=subnetwork("predictions.json"),
        scores=subnetwork("scores.json"),
        history=subnetwork("history.json"),
    log:
        logfile("seed{seed}/retrain_{kind}{sparsity}.log"),
    benchmark:
        benchfile("seed{seed}/retrain_{kind}{sparsity}.tsv")
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **gpu_job_resources("finetune"),
    params:
        **finetune_params(),
        resume_folder=resume_folder,
    script:
        "../workflow_scripts/finetune.py"
