"""easy-VQA (the embedded default): questions, images and answers from its PyPI package,
with its own tokenizer, featuriser and small pretrained model."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.data import easyvqa
from lxmert_lth.data.datasets.base import Dataset, ScoredSplit, Sizes
from lxmert_lth.data.easyvqa_shift import check_shift


class EasyVQA(Dataset):
    def check(self, section: Mapping) -> None:
        """dataset.shift leaves something to train on (``data.easyvqa_shift``)."""
        if section.get("shift") is not None:
            check_shift(section["shift"])

    def shifted_sets(self, section: Mapping) -> list[str]:
        """From the non-empty lists of ``dataset.shift``."""
        shift = section.get("shift") or {}
        return [name for name in self.shifted if shift.get(name)]

    def planned_counts(self, section: Mapping) -> dict:
        """Preparation's own split of the package's questions, computed as it will be."""
        splits, made = easyvqa.splits(section["val_fraction"], section["split_seed"],
                                      section["max_questions"], section.get("shift"))  # fmt: skip
        counts = {s: len(splits[s]) for s in ("train", "val", "test")}
        return {**counts, "shifted": {n: len(made[n]) for n in self.shifted_sets(section)}}

    def image_folder(self, config: Mapping) -> None:
        return None  # the package's own

    def regions(self, config: Mapping) -> int:
        """The featuriser's regions per image (``data.easyvqa``)."""
        return easyvqa.NUM_REGIONS

    def feature_dim(self, config: Mapping) -> int:
        return easyvqa.FEATURE_DIM


EASY_VQA = EasyVQA(
    name="easy_vqa",
    label="easy-VQA",
    scored=ScoredSplit("test", "test"),
    # The package's train (38,575) and test (9,673) questions, 13 answers, 5,000 images.
    sizes=Sizes(train=38_575, val=0, test=9_673, answers=13, images=5_000),
    rules="easy_vqa",
    once=("features", "pretrain"),
    preparation="prepare_questions",
    model_rules=("build_tokenizer", "pretrain"),
    features_rule="extract_features",
    tokenizer="tokenizer",
    small_model=True,
    val_from_train=True,
    image_aspect=1.0,
    shifted={"pairs": "held-out pairs", "templates": "held-out templates"},
    shift_key="shift",
    own_keys=("shift",),
    shifted_how="dataset.shift: the held-out pairs' images and templates leave train, val "
    "and pre-training, their test questions the test split",
)
