# The rules of the datasets read from the user's files (VQA v2, VQA-CP v2:
# lxmert_lth.data.datasets): questions and answers, region features converted from the
# bottom-up-attention TSVs, and the pretrained model imported.


rule prepare_vqa_v2:
    input:
        **R.question_files(),
        # Region features: every question's image is checked for them here.
        **R.features_to_check(),
    output:
        **R.shifted_files(),
        train=res("data/train.json"),
        val=res("data/val.json"),
        test=res("data/test.json"),
        answers=res("data/answers.json"),
    log:
        logfile("prepare_vqa_v2.log"),
    benchmark:
        benchfile(BENCHMARKS["prepare_vqa_v2"])
    conda:
        ENV
    resources:
        mem_mb=R.requests.questions_memory,
    params:
        dataset=R.dataset_params(),
    script:
        "../workflow_scripts/prepare_vqa_v2.py"


# Region features, for the families that read regions (LXMERT, VisualBERT).
if FAMILY.visual_input == "regions":

    rule convert_features:
        input:
            config["features"]["tsv"],
        output:
            res("features/regions.h5"),
        log:
            logfile("convert_features.log"),
        benchmark:
            benchfile(BENCHMARKS["convert_features"])
        conda:
            ENV
        params:
            dtype=config["features"]["dtype"],
            num_boxes=config["features"]["num_boxes"],
        script:
            "../workflow_scripts/convert_features.py"


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
