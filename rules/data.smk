# Questions, answers, region features (or the index of image files) and tokenizer: built
# from easy-VQA for the embedded default, read from the user's VQA v2 files for the paper
# configuration.

if DATASET == "easy_vqa":

    rule prepare_questions:
        output:
            **R.shifted_files(),
            train=res("data/train.json"),
            val=res("data/val.json"),
            test=res("data/test.json"),
            pretrain=res("data/pretrain.json"),
            answers=res("data/answers.json"),
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

else:

    rule prepare_vqa_v2:
        input:
            **R.vqa_v2_files(),
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


# Region features, for the families that read regions (LXMERT, VisualBERT): made by the
# embedded default's featuriser, or converted from the user's bottom-up-attention TSVs.
if FAMILY.visual_input == "regions":

    if DATASET == "easy_vqa":

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

    else:

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

else:

    # A family that reads pixels (ViLT) reads the image files through an index of them:
    # easy-VQA's PNG files in its package, or the COCO JPEG files of the questions' images.
    rule index_images:
        input:
            **R.image_index_inputs(),
        output:
            res("features/images.json"),
        log:
            logfile("index_images.log"),
        benchmark:
            benchfile(BENCHMARKS["index_images"])
        conda:
            ENV
        resources:
            mem_mb=R.requests.index_memory,
        params:
            # How the images are resized: it changes every ViLT result downstream.
            processing={
                k: config["images"][k] for k in ("shortest_edge", "size_divisor")
            },
        script:
            "../workflow_scripts/index_images.py"
