# Lottery-ticket compression of LXMERT for VQA (arXiv 2310.15325), end to end.
#
#   snakemake --cores 2                       # the embedded default (config.yaml)
#   snakemake --cores 8 --resources gpu=2     # a GPU workstation
#   snakemake --profile profiles/slurm        # a SLURM cluster
#
# Every artifact is a file in the DAG; sparsity, subnetwork kind and seed are wildcards.

from snakemake.utils import min_version

from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.io import read_yaml_mapping
from lxmert_lth.runtime.determinism import summary as nondeterminism_summary
from lxmert_lth.workflow.checks import validate_config

min_version("9.0")


# The embedded default, unless configuration files are given: `--configfile A B` reads
# A then B (each over the one before), never config.yaml under them, so that a key left
# out gets the schema's default, not the embedded default's value. The overlays in
# configs/ (controls, authors_code, scope) name config.yaml first, as their comments say.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# The schema is the one home of every default: validate_config fills them in, nested
# sections included, then catches what a JSON schema cannot express.
try:
    # Snakemake has read the files already; read again, each key given twice is refused.
    for path in workflow.overwrite_configfiles or ["config.yaml"]:
        read_yaml_mapping(path)
    validate_config(
        config, os.path.join(workflow.basedir, "schemas/config.schema.yaml")
    )
except (ConfigError, InputError) as err:
    raise WorkflowError(f"invalid configuration: {err}")


include: "rules/common.smk"
# The dataset's own rules (questions, region features, pretrained model: its ``rules``).
include: f"rules/data_{DATASET.rules}.smk"
include: "rules/images.smk"
include: "rules/finetuning.smk"
include: "rules/subnetworks.smk"


if "pretraining" in STUDY["kinds"] and not STUDY["pretraining_tickets_from"]:

    include: "rules/pretraining_tickets.smk"


if R.one_shot_methods():

    include: "rules/one_shot.smk"


include: "rules/reports.smk"
include: "rules/analysis.smk"
include: "rules/stability.smk"
include: "rules/export.smk"


onstart:
    hold_results_lock()


# The run's summary names every job that ran an operation without a deterministic
# implementation (on a GPU; lxmert_lth.runtime.determinism): its digits may not repeat.
onsuccess:
    for line in nondeterminism_summary(R.res("records")):
        print(line)


rule all:
    input:
        # Every report rule's files (lxmert_lth.workflow.rules.dag: report_targets).
        **R.report_targets(),
        models=R.all_kept_models(),
