# The pretrained model (a save_pretrained directory).

if DATASET == "easy_vqa":

    # The embedded default's own WordPiece tokenizer, of the pre-training questions.
    rule build_tokenizer:
        input:
            res("data/pretrain.json"),
        output:
            directory(res("tokenizer")),
        log:
            logfile("build_tokenizer.log"),
        conda:
            ENV
        params:
            vocab_size=config["tokenizer"]["vocab_size"],
        script:
            "../workflow_scripts/build_tokenizer.py"

    # The embedded default pre-trains its own small model on the training images.
    rule pretrain:
        input:
            train=res("data/pretrain.json"),
            val=res("data/val.json"),
            answers=res("data/answers.json"),
            features=R.visual_input(),
            tokenizer=res("tokenizer"),
        output:
            directory(res("pretrained")),
        log:
            logfile("pretrain.log"),
            record=recordfile("pretrain.json"),
        benchmark:
            benchfile(BENCHMARKS["pretrain"])
        conda:
            ENV
        threads: EXECUTION["pretrain_threads"]
        resources:
            **R.requests.gpu_job_resources("pretrain"),
        params:
            **R.numerics_params(),
            model=R.config_params("model"),
            recipe=R.config_params("pretrain"),
            max_length=config["tokenizer"]["max_length"],
            device=EXECUTION["device"],
            torch_threads=EXECUTION["pretrain_threads"],
        script:
            "../workflow_scripts/pretrain.py"

else:

    # The paper configuration imports the user's: hub id, directory or model_LXRT.pth.
    rule import_pretrained:
        input:
            R.local_paths(*config["pretrained"].values()),
        output:
            directory(res("pretrained")),
        log:
            logfile("import_pretrained.log"),
        benchmark:
            benchfile(BENCHMARKS["import_pretrained"])
        conda:
            ENV
        resources:
            mem_mb=R.requests.model_memory,
        params:
            pretrained=R.config_params("pretrained"),
            family=FAMILY.name,
        script:
            "../workflow_scripts/import_pretrained.py"
