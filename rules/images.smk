# A family that reads pixels (ViLT) reads the image files through an index of them:
# easy-VQA's PNG files in its package, or the COCO JPEG files of the questions' images.
if FAMILY.visual_input == "pixels":

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
