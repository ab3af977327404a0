rule low_magnitude_mask:
    input:
        unpack(low_mask_inputs),
    output:
        res("seed{seed}/low{sparsity}/mask.safetensors"),
    log:
        logfile("seed{seed}/mask_low{sparsity}.log"),
    conda:
        ENV
    params:
        ranking=PRUNING["ranking"],
    script:
        "../workflow_scripts/low_magnitude_mask.py"


rule high_magnitude_mask:
    input:
        low=lambda wc: res(
            f"seed{wc.seed}/low{100 - int(wc.sparsity)}/mask.safetensors"
        ),
    output:
        res("seed{seed}/high{sparsity}/mask.safetensors"),
    log:
        logfile("seed{seed}/mask_high{sparsity}.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/high_magnitude_mask.py"


rule random_mask:
    input:
        unpack(random_mask_inputs),
    output:
        res("seed{seed}/random{sparsity}/mask.safetensors"),
    log:
        logfile("seed{seed}/mask_random{sparsity}.log"),
    conda:
        ENV
    params:
        mode=PRUNING["random"],
    script:
        "../workflow_scripts/random_mask.py"


rule rewind:
    input:
        theta0=res("seed{seed}/theta0.safetensors"),
        mask=res("seed{seed}/{kind}{sparsity}/mask.safetensors"),
    output:
        temp(res("seed{seed}/{kind}{sparsity}/rewound.safetensors")),
    log:
        logfile("seed{seed}/rewind_{kind}{sparsity}.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/rewind.py"
