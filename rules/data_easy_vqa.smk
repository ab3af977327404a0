# easy-VQA's own rules (lxmert_lth.data.datasets.easy_vqa): its questions split from the
# package, its images' region features, its own tokenizer and small pretrained model.


rule prepare_questions:
    output:
        **R.shifted_files(),
        **R.preparation_files(),
    log:
        logfile("prepare_questions.log"),
    conda:
        ENV
    resources:
        mem_mb=R.requests.questions_memory,
    params:
        dataset=R.dataset_params(),
    script:
        "../workflow_scripts/prepare_questions.py"


# Region features, for the families that read regions (LXMERT, VisualBERT).
if FAMILY.visual_input == "regions":

    rule extract_features:
        output:
            res("features/regions.h5"),
        log:
            logfile("extract_features.log"),
            record=recordfile("extract_features.json"),
        benchmark:
            benchfile(BENCHMARKS["extract_features"])
        conda:
            ENV
        params:
            **R.numerics_params(),
            dtype=config["features"]["dtype"],
            # NumPy's exp, in the featuriser, has other last digits with AVX-512.
        script:
            "../workflow_scripts/extract_features.py"


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
        **R.pretraining_data(),
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
