# The dense network of each seed: its theta_0 (the pretrained weights and an answer head
# for the data's answers, initialised with the seed; a fraction of a second of work, so
# made by this job) fine-tuned.


rule finetune_dense:
    input:
        unpack(R.dense_training_data),
        pretrained=res("pretrained"),
    output:
        **R.late_output(),
        theta0=R.theta0(),
        model=dense("model.safetensors"),
        predictions=dense("predictions.json"),
        scores=dense("scores.json"),
        history=dense("history.json"),
    log:
        logfile("seed{seed}/finetune_dense.log"),
        record=recordfile("seed{seed}/finetune_dense.json"),
    benchmark:
        benchfile(BENCHMARKS["finetune_dense"])
    priority: R.chain_priority
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **R.requests.gpu_job_resources("finetune"),
    params:
        **R.finetune_params(),
        **R.theta0_params(),
        resume_folder=R.resume_folder,
    script:
        "../workflow_scripts/finetune_dense.py"
