"""What the rules (``rules/*.smk``) read of one configuration, along its seams, one
module each: paths (``paths``), rerun triggers (``params``), inputs (``inputs``), the
stability analysis (``stability``), the IMP chain's priorities and the targets (``dag``);
its resource requests are ``workflow.resources.Requests``.

``rules/common.smk`` builds one ``Rules`` from the validated configuration (schema
defaults filled in) and hands its methods to the rules as input functions, params and
resources, so that every decision about the DAG is here, in tested Python, and the rules
stay glue. Nothing here imports torch: the Snakefile's parse reads it.

Params are rerun triggers: Snakemake compares them as written, so every value that
changes a job's result reaches it here, and a value at its default is left out where the
paper's runs were made without it (they keep their params, so nothing reruns).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.options import PruningOptions
from lxmert_lth.data import datasets
from lxmert_lth.pruning import chain
from lxmert_lth.workflow.checks import family_of
from lxmert_lth.workflow.resources import Requests
from lxmert_lth.workflow.rules.dag import BENCHMARKS, Dag
from lxmert_lth.workflow.rules.inputs import Inputs
from lxmert_lth.workflow.rules.params import Params, canonical
from lxmert_lth.workflow.rules.paths import Paths
from lxmert_lth.workflow.rules.stability import Stability

__all__ = ["BENCHMARKS", "Rules", "canonical"]


class Rules(Paths, Params, Inputs, Stability, Dag):
    """The rules' view of one validated configuration."""

    def __init__(self, config: Mapping):
        self.config = config
        self.results = config["results"]
        self.study = config["study"]
        self.pruning = config["pruning"]
        self.options = PruningOptions.of(self.pruning)
        self.execution = config["execution"]
        self.dataset = datasets.of(config)
        self.family = family_of(config)
        # The labelled split scored locally (easy-VQA's test, VQA v2's minival, VQA-CP's test).
        self.scored = self.dataset.scored
        # The shifted sets every training job scores beside it (dataset.shift, dataset.ood).
        self.shifted = self.dataset.shifted_sets(config["dataset"])
        # The dense fine-tunes write the late-rewinding point only when the late control
        # is asked for (turning it on reruns them, and so the study after them).
        self.writes_late = "late" in self.study["kinds"]
        self.levels = chain.levels(self.study, self.pruning)
        self.requests = Requests(config, self.family)
