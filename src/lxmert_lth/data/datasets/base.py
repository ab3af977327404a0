"""What the workflow knows of a dataset, declared in one object (:class:`Dataset`).

Every decision that differs between datasets is a field or a method here, read by the
rules, the plan, the checks and the reports: which split is scored and what tables call
it, the shifted sets a configuration makes, the published sizes the plan counts before any
file exists, where the tokenizer and the pretrained model come from, which rule file
prepares the data, which files the user names, and the images' shape. Nothing outside a
dataset's own module and the registry (``lxmert_lth.data.datasets``) branches on its name.

No torch at import: the Snakefile's parse reads these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoredSplit:
    """The labelled split scored locally: the question file and what tables call it."""

    name: str  # the question file: data/{name}.json
    label: str


@dataclass(frozen=True)
class Sizes:
    """Published sizes: questions per split, answers and images (the plan's estimates)."""

    train: int
    val: int
    test: int
    answers: int
    images: int


@dataclass(frozen=True)
class Prepared:
    """What a preparation writes: records by output name (train, val, test, pretrain,
    ...), answer lists by output name (answers, ...), and the shifted sets."""

    splits: Mapping[str, list]
    answers: Mapping[str, list]
    sets: Mapping[str, list] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str  # dataset.name, the schema's enum
    label: str
    scored: ScoredSplit
    sizes: Sizes
    # rules/data_{rules}.smk: the rules that prepare its questions, its region
    # features and its pretrained model (one file may serve several datasets).
    rules: str
    # The benchmarked jobs that run once per run, in the costs table's order ("features":
    # the region features' or the image index's, by the family).
    once: tuple[str, ...]
    # The rule that writes its question files, and the rules that make the pretrained
    # model (the plan's job counts).
    preparation: str
    model_rules: tuple[str, ...]
    # The rule that makes its region features, for a family that reads regions.
    features_rule: str
    # Where its tokenizer is, under the results folder.
    tokenizer: str = "pretrained"
    # The model is built small from the configuration's ``model`` section (the embedded
    # default), not the family's published base architecture.
    small_model: bool = False
    # Validation is a fraction of the training images (dataset.val_fraction).
    val_from_train: bool = False
    # A typical image's width over its height (a family reading pixels: the plan's size).
    image_aspect: float = 4 / 3
    # The server that scores its unlabelled test split, if any.
    server: str | None = None
    # Its numbers are compared with the paper's published ones (comparison.md).
    published_results: bool = False
    # The shifted sets it can make: name -> label, in the order tables show them.
    shifted: Mapping[str, str] = field(default_factory=dict)
    # The dataset section's key that makes them (dataset.shift, dataset.ood), and how
    # (the plan says it).
    shift_key: str | None = None
    shifted_how: str = ""
    # The keys of the ``dataset`` section that only it reads (another dataset's are left
    # out of its params: an overlay of configs/paper.yaml keeps paper.yaml's files).
    own_keys: tuple[str, ...] = ()
    # What a question whose image has no features most likely means.
    unseen_image_hint: str = ""
    # Its task (``data.tasks``): the form of its records, its model's head and its score.
    task: str = "answering"
    # The files the embedded pre-training reads (its questions, the validation questions
    # it is scored on, their answers), by the pretrain rule's input names, under the
    # results folder: a dataset of another task keeps questions of its own for it.
    pretraining_files: Mapping[str, str] = field(
        default_factory=lambda: {
            "train": "data/pretrain.json", "val": "data/val.json", "answers": "data/answers.json"
        }
    )  # fmt: skip

    def check(self, section: Mapping) -> None:
        """What the schema cannot say of its ``dataset`` section (ConfigError)."""

    def shifted_sets(self, section: Mapping) -> list[str]:
        """The shifted sets a configuration's ``dataset`` section makes, in order."""
        return []

    def question_files(self, section: Mapping) -> dict[str, str]:
        """The user's question and annotation files (the preparation's inputs)."""
        return {}

    def planned_counts(self, section: Mapping) -> dict | None:
        """Questions per split and per shifted set as preparation will make them, when
        that is known before any file exists (None: the published sizes, capped)."""
        return None

    def image_folder(self, config: Mapping) -> str | None:
        """Where its image files are (a family that reads pixels); None: in its package."""
        return config["images"]["folder"]

    def regions(self, config: Mapping) -> int:
        """Regions per image (a family that reads region features)."""
        return config["features"]["num_boxes"]

    def feature_dim(self, config: Mapping) -> int:
        """Features per region."""
        return 2048

    def read_splits(self, section: Mapping) -> tuple[dict[str, list], list]:
        """The user's files -> question splits and the answer vocabulary."""
        raise NotImplementedError(f"{self.name} is not read from files")
