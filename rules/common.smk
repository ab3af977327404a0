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

# The paths the rules write most (the rest of R's methods they call as R.NAME, and the
# resource requests as R.requests.NAME).
res, dense, subnetwork, network_file = R.res, R.dense, R.subnetwork, R.network_file
logfile, benchfile, recordfile = R.logfile, R.benchfile, R.recordfile


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
        for network in R.trained_networks()
    ]
