rule prepare_questions:
    output:
        train=res("data/train.json"),
        val=res("data/val.json"),
        test=res("data/test.json"),
        pretrain=res("data/pretrain.json"),
        answers=res("data/answers.json"),
    params:
        dataset=config["dataset"],
    log:
        logfile("prepare_questions.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/prepare_questions.py"


rule extract_features:
    output:
        res("features/regions.h5"),
    params:
        dtype=config["features"]["dtype"],
    log:
        logfile("extract_features.log"),
    benchmark:
        benchfile("extract_features.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/extract_features.py"


rule build_tokenizer:
    input:
        res("data/pretrain.json"),
    output:
        directory(res("tokenizer")),
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
    log:
        logfile("build_tokenizer.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/build_tokenizer.py"
