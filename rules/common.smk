# The glue between the rules and lxmert_lth.workflow.rules, which decides every path,
# rerun trigger, input, resource request and target from the validated configuration.

from snakemake.io import report as report_item  # report( opens a directive here

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import lock_results
from lxmert_lth.pruning.kinds import CONTROL_KINDS, KINDS
from lxmert_lth.workflow.rules import BENCHMARKS, Rules

R = Rules(config)
STUDY, EXECUTION, FAMILY, SCORED = R.study, R.execution, R.family, R.scored
DATASET, PRUNING_OPTIONS, WRITES_LATE = R.dataset, R.options, R.writes_late
ENV = "../envs/lxmert-lth.yaml"
# A network's folder, e.g. seed0/dense or seed0/low50 (lxmert_lth.core.network).
NETWORK_FOLDER = rf"seed\d+/(dense|({'|'.join(KINDS)})\d+)"

# Paths.
res, dense, subnetwork, network_file = R.res, R.dense, R.subnetwork, R.network_file
logfile, benchfile, recordfile = R.logfile, R.benchfile, R.recordfile
theta0, resume_folder, late_output = R.theta0, R.resume_folder, R.late_output
# Rerun triggers.
config_params, numerics_params = R.config_params, R.numerics_params
finetune_params, theta0_params, mask_params = (
    R.finetune_params,
    R.theta0_params,
    R.mask_params,
)
# Inputs.
training_data, visual_input = R.training_data, R.visual_input
image_index_inputs, vqa_v2_files, local_paths = (
    R.image_index_inputs,
    R.vqa_v2_files,
    R.local_paths,
)
server_results, mask_sources, theta0_of = R.server_results, R.mask_sources, R.theta0_of
exported_model, smaller_inputs, speed_inputs = (
    R.exported_model,
    R.smaller_inputs,
    R.speed_inputs,
)
# The IMP chain, and resources.
chain_priority, kinds_with_weights = R.chain_priority, R.kinds_with_weights
gpu_job_resources, model_memory, speed_memory = (
    R.gpu_job_resources,
    R.model_memory,
    R.speed_memory,
)
questions_memory, index_memory, costs_memory = (
    R.questions_memory,
    R.index_memory,
    R.costs_memory,
)
# Targets.
all_score_files, all_mask_files, all_kept_models = (
    R.all_score_files,
    R.all_mask_files,
    R.all_kept_models,
)
trained_networks, benchmarked_jobs = R.trained_networks, R.benchmarked_jobs


wildcard_constraints:
    seed=r"\d+",
    sparsity=r"\d+",
    kind="|".join(KINDS),


def hold_results_lock():
    """One run at a time writes the results folder, whichever folder it runs from; the
    lock lasts as long as this (main) Snakemake process."""
    global RESULTS_LOCK
    if workflow.is_main_process:
        try:
            RESULTS_LOCK = lock_results(R.results)
        except InputError as err:
            raise WorkflowError(str(err))


def curve_outputs():
    """Each trained network's curves: a report item labelled by seed, kind and sparsity."""
    return [
        report_item(
            res("curves", f"{network.folder}.png"),
            caption="../report/curves.rst",
            category="Training curves",
            subcategory="per network",
            labels=R.network_labels(network),
        )
        for network in trained_networks()
    ]
