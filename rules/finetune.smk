rule finetune_dense:
    input:
        unpack(lambda wc: training_data()),
        checkpoint=res("seed{seed}/theta0.safetensors"),
    output:
        model=res("seed{seed}/dense/model.safetensors"),
        predictions=res("seed{seed}/dense/predictions.json"),
        scores=res("seed{seed}/dense/scores.json"),
        history=res("seed{seed}/dense/history.json"),
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
        scratch=scratch,
    script:
        "../workflow_scripts/finetune.py"


rule retrain_subnetwork:
    input:
        unpack(lambda wc: training_data()),
        checkpoint=res("seed{seed}/{kind}{sparsity}/rewound.safetensors"),
        mask=res("seed{seed}/{kind}{sparsity}/mask.safetensors"),
    output:
        model=res("seed{seed}/{kind}{sparsity}/model.safetensors"),
        predictions=res("seed{seed}/{kind}{sparsity}/predictions.json"),
        scores=res("seed{seed}/{kind}{sparsity}/scores.json"),
        history=res("seed{seed}/{kind}{sparsity}/history.json"),
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
        scratch=scratch,
    script:
        "../workflow_scripts/finetune.py"
