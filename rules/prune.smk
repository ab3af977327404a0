# Subnetworks: a mask over the prunable weights, and theta_0 rewound under it (theta_0
# with the pruned weights zeroed; temporary, consumed by retraining). One job writes both:
# a separate rewinding job per subnetwork would cost more to start than to run.


rule low_magnitude_subnetwork:
    input:
        unpack(low_mask_inputs),
    output:
        mask=res("seed{seed}/low{sparsity}/mask.safetensors"),
        rewound=temp(res("seed{seed}/low{sparsity}/rewound.safetensors")),
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
        theta0=res("seed{seed}/theta0.safetensors"),
        low=lambda wc: res(
            f"seed{wc.seed}/low{100 - int(wc.sparsity)}/mask.safetensors"
        ),
    output:
        mask=res("seed{seed}/high{sparsity}/mask.safetensors"),
        rewound=temp(res("seed{seed}/high{sparsity}/rewound.safetensors")),
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
        mask=res("seed{seed}/random{sparsity}/mask.safetensors"),
        rewound=temp(res("seed{seed}/random{sparsity}/rewound.safetensors")),
    log:
        logfile("seed{seed}/random{sparsity}_subnetwork.log"),
    conda:
        ENV
    params:
        mode=PRUNING["random"],
    script:
        "../workflow_scripts/random_subnetwork.py"
