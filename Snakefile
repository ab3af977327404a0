# Lottery-ticket compression of LXMERT for VQA (arXiv 2310.15325), end to end.
#
#   snakemake --cores 2                       # the embedded default (config.yaml)
#   snakemake --cores 8 --resources gpu=2     # a GPU workstation
#   snakemake --profile profiles/slurm        # a SLURM cluster
#
# Every artifact is a file in the DAG; sparsity, subnetwork kind and seed are wildcards.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/prune.smk"
include: "rules/report.smk"


rule all:
    input:
        table=res("table1.md"),
        figure=res("figure1.png"),
        scores=res("scores.csv"),
        # The paper configuration also compares its numbers with the published ones.
        comparison=[res("comparison.md")] if DATASET == "vqa_v2" else [],
