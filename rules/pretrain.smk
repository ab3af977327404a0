rule pretrain:
    input:
        questions=res("data/pretrain.json"),
        val=res("data/val.json"),
        answers=res("data/answers.json"),
        features=res("features/regions.h5"),
        tokenizer=res("tokenizer"),
    output:
        directory(res("pretrained")),
    log:
        logfile("pretrain.log"),
    benchmark:
        benchfile("pretrain.tsv")
    conda:
        ENV
    threads: EXECUTION["pretrain_threads"]
    params:
        model=section("model"),
        recipe=section("pretrain"),
        max_length=config["tokenizer"]["max_length"],
        device=EXECUTION["device"],
    script:
        "../workflow_scripts/pretrain.py"


rule init_theta0:
    input:
        pretrained=res("pretrained"),
        answers=res("data/answers.json"),
    output:
        res("seed{seed}/theta0.safetensors"),
    log:
        logfile("seed{seed}/init_theta0.log"),
    conda:
        ENV
    params:
        prunable_modules=PRUNING["prunable_modules"],
    script:
        "../workflow_scripts/init_theta0.py"
