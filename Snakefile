# Lottery-ticket compression of LXMERT for VQA (arXiv 2310.15325), end to end.
#
#   snakemake --cores 2                       # the embedded default (config.yaml)
#   snakemake --cores 8 --resources gpu=2     # a GPU workstation
#   snakemake --profile profiles/slurm        # a SLURM cluster
#
# Every artifact is a file in the DAG; sparsity, subnetwork kind and seed are wildcards.

import yaml
from snakemake.utils import min_version, validate

from lxmert_lth.study import ConfigError, check_config

min_version("9.0")


configfile: "config.yaml"


# The schema is the one home of every default: validate() fills them in, nested
# sections included; check_config() then catches what a JSON schema cannot express.
SCHEMA = "schemas/config.schema.yaml"
validate(config, SCHEMA)
try:
    with open(os.path.join(workflow.basedir, SCHEMA)) as schema:
        check_config(config, yaml.safe_load(schema))
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pretraining.smk"
include: "rules/finetuning.smk"
include: "rules/subnetworks.smk"
include: "rules/reports.smk"
include: "rules/analysis.smk"
include: "rules/export.smk"


rule all:
    input:
        table=res("table1.md"),
        figure=res("figure1.png"),
        scores=res("scores.csv"),
        models=all_kept_models(),
        modules=res("module_sparsity.md"),
        # The paper configuration also compares its numbers with the published ones.
        comparison=[res("comparison.md")] if DATASET == "vqa_v2" else [],
        # Other runs beside this one, when named (compare_runs).
        runs=[res("runs.md")] if config["compare_runs"] else [],
