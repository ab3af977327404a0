"""What a training job is given, and the one way a training job starts from its rule
(``finetune_dense``, ``retrain_subnetwork``, ``retrain_control``, ``stability_copy``,
``stability_line``): every value that changes a result comes from the rule's inputs,
outputs, wildcards and params; the settings that change none (how features are read, how
often resumable state is saved) from :func:`settings`, the one reader of the
configuration in a training job. A job
script is then one call of ``run_job`` with these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from lxmert_lth.core.grid import SHIFTED_PREFIX
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.core.schema import with_defaults
from lxmert_lth.data import tasks
from lxmert_lth.data.loaders import Loading
from lxmert_lth.data.tasks import Task

# The configuration's keys a job reads besides its rule's inputs, outputs, wildcards and
# params: they change no result (how features are read, the loader's workers, how often
# resumable state is saved), so changing them reruns nothing. Every other value reaches a
# job through its rule, where Snakemake sees it.
SETTINGS = {
    "in_memory": ("features", "in_memory"),
    "loader_workers": ("execution", "loader_workers"),
    "checkpoint_minutes": ("execution", "checkpoint_minutes"),
}


def settings(job) -> dict:
    """The result-free settings (``SETTINGS``) of a Snakemake ``job``."""
    return {name: job.config[section][key] for name, (section, key) in SETTINGS.items()}


@dataclass(frozen=True)
class TrainingData:
    """The files every training job reads besides its network: the splits, answers,
    visual input and tokenizer, and the shifted sets it scores beside the scored split
    (name -> question file; ``data.datasets.SHIFTED_SETS``)."""

    train: str
    val: str
    test: str
    answers: str
    features: str
    tokenizer: str
    shifted: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_input(cls, files: Mapping[str, str]) -> TrainingData:
        """From a job's ``snakemake.input``."""
        names = [f.name for f in fields(cls) if f.name != "shifted"]
        shifted = {
            key.removeprefix(SHIFTED_PREFIX): files[key]
            for key in files.keys()
            if key.startswith(SHIFTED_PREFIX)
        }
        return cls(*(files[name] for name in names), shifted=shifted)

    def files(self) -> list[str]:
        """Every file, in a fixed order (what resumable state is keyed by)."""
        fixed = [getattr(self, f.name) for f in fields(self) if f.name != "shifted"]
        return [*fixed, *(self.shifted[name] for name in sorted(self.shifted))]


@dataclass(frozen=True)
class StartingPoint:
    """The network training starts from: theta_0, or a rewound subnetwork and its mask,
    kept at zero through training unless ``enforce`` is off (the authors' code: the
    pruned weights start at zero and may grow back)."""

    checkpoint: str
    mask: str | None = None
    enforce: bool = True


@dataclass(frozen=True)
class FinetuneOutputs:
    model: str | None  # None: the trained weights are not kept (controls, unless asked)
    predictions: str | None  # None: no submission file (the stability copies)
    scores: str
    history: str
    # The dense network after this many optimizer steps (the late-rewinding point), when
    # asked for: (step, path).
    late: tuple[int, str] | None = None


@dataclass(frozen=True)
class Scoring:
    """What a job scores locally: the labelled split (test, or val = minival), by the
    evaluator's rule (``lxmert_lth.data.vqa_eval.RULES``), for the dataset's task (which
    also gives the records' form and the model's head)."""

    split: str
    rule: str = "official"
    task: Task = tasks.DEFAULT


@dataclass(frozen=True)
class JobOptions:
    """Where and how the job runs. device and precision can change results (they reach
    the rule through params:); loading and resumable state cannot."""

    device: str
    precision: str
    tf32: bool
    loading: Loading
    resume_folder: str | None
    checkpoint_minutes: float

    @classmethod
    def from_job(cls, job) -> JobOptions:
        """From a training job's params, and the settings that change no result (how
        features are read, how often state is saved: changing them reruns nothing)."""
        p, s = job.params, settings(job)
        return cls(
            device=p["device"],
            precision=p["precision"],
            tf32=p["tf32"],
            loading=Loading(s["in_memory"], s["loader_workers"]),
            resume_folder=p["resume_folder"],
            checkpoint_minutes=s["checkpoint_minutes"],
        )


@dataclass(frozen=True)
class Theta0:
    """What theta_0 of a seed is made from and where it is written: the dense job makes
    it (:func:`write_theta0`), a fraction of a second of work."""

    pretrained: str
    path: str
    prunable_modules: str
    answer_head: str
    prunable_set: str  # pruning.prunable_set
    scope: str  # pruning.scope
    family: str | None  # model.family (None: the default family)

    @classmethod
    def from_job(cls, job) -> Theta0:
        """From the dense job's pretrained model, theta_0's path and its params (the
        family and the pruning keys left out at their defaults: ``Rules.theta0_params``)."""
        p = job.params
        pruning = with_defaults("pruning", p, ("prunable_set", "scope"))
        family = with_defaults("model", p, ("family",))["family"]
        return cls(job.input.pretrained, job.output.theta0, p.prunable_modules,
                   p.answer_head, pruning["prunable_set"], pruning["scope"], family)  # fmt: skip


def training_arguments(job) -> dict:
    """The arguments every training stage takes from its Snakemake ``job``: the data, the
    recipe, the tokenizer's length, what is scored and how the job runs."""
    p = job.params
    return {
        "data": TrainingData.from_input(job.input),
        "recipe": p.recipe,
        "max_length": p.max_length,
        "scoring": Scoring(p.scored_split, p.evaluation["rule"], tasks.of_params(p)),
        "options": JobOptions.from_job(job),
    }


def pruning_of(params) -> PruningOptions:
    """The pruning options a mask job depends on, from its params (``Rules.mask_params``:
    each kind's own, the rest at the schema's default)."""
    names = {f.name for f in fields(PruningOptions)}
    return PruningOptions.of({k: v for k, v in params.items() if k in names}, partial=True)
