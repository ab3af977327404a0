# Subnetworks: a mask over the prunable weights (these jobs use NumPy, not torch, to
# start fast), and theta_0 rewound under it (temporary: consumed by retraining, and remade
# by its own cheap job when needed again, without touching the mask).


rule low_magnitude_subnetwork:
    input:
        unpack(low_mask_inputs),
    output:
        subnetwork("mask.safetensors", "low"),
    log:
        logfile("seed{seed}/low{sparsity}_subnetwork.log"),
    conda:
        ENV
    params:
        ranking=PRUNING["ranking"],
    script:
        "../workflow_scripts/low_magnitude_subnetwork.py"


rule high_magnitude_subnetwork:
    input:
        unpack(high_mask_inputs),
    output:
        subnetwork("mask.safetensors", "high"),
    log:
        logfile("seed{seed}/high{sparsity}_subnetwork.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/high_magnitude_subnetwork.py"


rule random_subnetwork:
    input:
        unpack(random_mask_inputs),
    output:
        subnetwork("mask.safetensors", "random"),
    log:
        logfile("seed{seed}/random{sparsity}_subnetwork.log"),
    conda:
        ENV
    params:
        mode=PRUNING["random"],
    script:
        "../workflow_scripts/random_subnetwork.py"


rule rewind:
    input:
        theta0=res("seed{seed}/theta0.safetensors"),
        mask=subnetwork("mask.safetensors"),
    output:
        temp(subnetwork("rewound.safetensors")),
    log:
        logfile("seed{seed}/{kind}{sparsity}_rewind.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/rewind.py"
