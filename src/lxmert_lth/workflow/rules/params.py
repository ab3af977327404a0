"""Rerun triggers: what the rules hand each job as ``params:`` (a mixin of ``Rules``).

Snakemake compares params as written, so every value that changes a job's result
reaches it here, and a value at its schema default is left out where the paper's runs
were made without it (``core.schema.non_default``: they keep their params, so nothing
reruns)."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.schema import non_default
from lxmert_lth.data import datasets, tasks
from lxmert_lth.pruning import kinds
from lxmert_lth.workflow.checks import prunable_pattern


def canonical(value):
    """A configuration value with its mappings' keys sorted: reordering keys in a YAML
    file changes no result and must not rerun anything."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value)}
    return value


class Params:
    def config_params(self, name: str):
        """A configuration section as params, keys sorted."""
        return canonical(self.config[name])

    def dataset_params(self) -> dict:
        """The dataset section as params, without the shifted sets' keys when they make
        none (runs made before them keep their params, so nothing reruns)."""
        params = self.config_params("dataset")
        for key in datasets.foreign_keys(self.dataset):  # another dataset's (an overlay's base)
            params.pop(key, None)
        if params.get("shift") is None:
            params.pop("shift", None)
        if not any((params.get("ood") or {}).values()):
            params.pop("ood", None)
        return params

    def task_params(self) -> dict:
        """The dataset's task, for the jobs that read its records (none for the default
        task: runs made before tasks keep their params)."""
        return tasks.params(tasks.get(self.dataset.task))

    def numerics_params(self) -> dict:
        """The numerics of a job that computes with torch (they change its digits); the
        harness pins them before torch loads."""
        return {k: self.execution[k] for k in ("cpu_numerics", "deterministic")}

    def finetune_params(self) -> dict:
        """Everything that changes a fine-tuning result."""
        execution = self.execution
        return {
            "recipe": self.config_params("finetune"),
            "torch_threads": execution["train_threads"],
            "max_length": self.config["tokenizer"]["max_length"],
            "device": execution["device"],
            "precision": execution["precision"],
            "tf32": execution["tf32"],
            "scored_split": self.scored.name,
            "evaluation": self.config_params("evaluation"),
            **self.task_params(),
            **self.numerics_params(),
        }

    def theta0_params(self) -> dict:
        """What theta_0 depends on beyond its inputs: which weights are prunable (its
        metadata), the answer head, the family and, for the dense job, the late rewind
        step; the authors' options only when set."""
        params = {
            "prunable_modules": prunable_pattern(self.config),
            "answer_head": self.config["theta0"]["answer_head"],
            **non_default("model", {"family": self.family.name}),
            **non_default("pruning", {k: self.pruning[k] for k in ("prunable_set", "scope")}),
        }
        if self.writes_late:
            params["late_rewind_step"] = self.study["late_rewind_step"]
        return params

    def pretraining_level_params(self) -> dict:
        """Everything that changes a level of the pre-training tickets' chain: the
        pre-training recipe at the chain's epochs, what is prunable and how it is ranked."""
        recipe = {**self.config["pretrain"], "epochs": self.study["pretraining_ticket_epochs"]}
        return {
            "recipe": canonical(recipe),
            "pruning": {
                "prunable_modules": prunable_pattern(self.config),
                "ranking": self.options.ranking,
            },
            "max_length": self.config["tokenizer"]["max_length"],
            "device": self.execution["device"],
            **self.numerics_params(),
        }

    def mask_params(self, wildcards) -> dict:
        """The pruning options a kind's subnetwork depends on: its kind's own
        (``pruning.kinds``), and enforce_masks only when off."""
        params = kinds.get(wildcards.kind).params(self.options, self.study)
        return {**params, **non_default("pruning", {"enforce_masks": self.options.enforce_masks})}
