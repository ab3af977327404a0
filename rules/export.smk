# Export on request (not part of `all`): any trained network as a standard
# save_pretrained directory, e.g. `snakemake --cores 1 results/export/seed0/low50`; a
# heads_neurons subnetwork also without its pruned heads and neurons, e.g.
# `results/export/seed0/low50-smaller` (lxmert_lth.pruning.shrink reads it back).


rule export_network:
    input:
        model=R.exported_model,
        tokenizer=R.training_data()["tokenizer"],
    output:
        directory(res("export/{network}")),
    log:
        logfile("export/{network}.log"),
    wildcard_constraints:
        network=NETWORK_FOLDER,
    conda:
        ENV
    resources:
        mem_mb=R.requests.model_memory,
    script:
        "../workflow_scripts/export_network.py"


rule export_smaller:
    input:
        unpack(R.smaller_inputs),
        tokenizer=R.training_data()["tokenizer"],
    output:
        directory(res("export/{network}-smaller")),
    log:
        logfile("export/{network}-smaller.log"),
    wildcard_constraints:
        network=NETWORK_FOLDER,
    conda:
        ENV
    resources:
        mem_mb=R.requests.model_memory,
    script:
        "../workflow_scripts/export_smaller.py"
