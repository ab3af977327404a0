rule prepare_questions:
    output:
        train=res("data/train.json"),
        val=res("data/val.json"),
        test=res("data/test.json"),
        pretrain=res("data/pretrain.json"),
        answers=res("data/answers.json"),
    log:
        logfile("prepare_questions.log"),
    conda:
        ENV
    params:
        dataset=section("dataset"),
    script:
        "../workflow_scripts/prepare_questions.py"


rule extract_features:
    output:
        res("features/regions.h5"),
    log:
        logfile("extract_features.log"),
    benchmark:
        benchfile("extract_features.tsv")
    conda:
        ENV
    params:
        dtype=config["features"]["dtype"],
    script:
        "../workflow_scripts/extract_features.py"


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
