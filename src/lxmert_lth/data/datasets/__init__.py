"""Datasets: the one seam between the study and the data it runs on.

Each dataset is one :class:`Dataset` declared in its own module (its scored split, shifted
sets, published sizes, preparation rules, tokenizer and images); the rules, the plan, the
checks and the reports read it from here and never branch on a dataset's name.

Adding a dataset: a module here with its ``Dataset`` (a subclass where a method differs),
an entry in ``DATASETS``, its name in the schema's ``dataset.name`` enum, its preparation
rules in ``rules/datasets/`` (or an existing file's), docs and tests (docs/development.md,
"Extending").
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.data.datasets.base import Dataset, Prepared, ScoredSplit, Sizes
from lxmert_lth.data.datasets.easy_vqa import EASY_VQA, EASY_VQA_STATEMENTS
from lxmert_lth.data.datasets.lxmert_tasks import GQA_DATASET, NLVR2_DATASET
from lxmert_lth.data.datasets.vqa_v2 import VQA_V2
from lxmert_lth.data.datasets.vqacp_v2 import VQACP_V2

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (EASY_VQA, EASY_VQA_STATEMENTS, VQA_V2, VQACP_V2, GQA_DATASET, NLVR2_DATASET)
}

# Every shifted set's label, in the order tables show them (the registry's order).
SHIFTED_SETS: dict[str, str] = {
    n: label for d in DATASETS.values() for n, label in d.shifted.items()
}

__all__ = [
    "DATASETS",
    "EASY_VQA",
    "SHIFTED_SETS",
    "Dataset",
    "Prepared",
    "ScoredSplit",
    "Sizes",
    "foreign_keys",
    "get",
    "of",
]


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(
            f"dataset.name: {name!r} is not a dataset (known: {', '.join(DATASETS)})"
        ) from None


def foreign_keys(dataset: Dataset) -> list[str]:
    """The ``dataset`` section's keys that other datasets read and ``dataset`` does not."""
    return sorted({k for d in DATASETS.values() for k in d.own_keys} - set(dataset.own_keys))


def of(config: Mapping) -> Dataset:
    """The dataset of a configuration."""
    return get(config["dataset"]["name"])
