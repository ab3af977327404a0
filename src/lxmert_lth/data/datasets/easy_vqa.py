"""easy-VQA (the embedded default): questions, images and answers from its PyPI package,
with its own tokenizer, featuriser and small pretrained model."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.data import easyvqa, tasks
from lxmert_lth.data.datasets.base import Dataset, Prepared, ScoredSplit, Sizes
from lxmert_lth.data.easyvqa_shift import check_shift
from lxmert_lth.data.questions import build_answer_vocab, subsample


class EasyVQA(Dataset):
    def check(self, section: Mapping) -> None:
        """dataset.shift leaves something to train on (``data.easyvqa_shift``)."""
        if section.get("shift") is not None:
            check_shift(section["shift"])

    def shifted_sets(self, section: Mapping) -> list[str]:
        """From the non-empty lists of ``dataset.shift``."""
        shift = section.get("shift") or {}
        return [name for name in self.shifted if shift.get(name)]

    def prepare(self, section: Mapping) -> Prepared:
        """The train / val / test / pretrain questions, their answers and the shifted
        sets, from the package."""
        splits, sets = easyvqa.splits(section["val_fraction"], section["split_seed"],
                                      section["max_questions"], section.get("shift"))  # fmt: skip
        answers = build_answer_vocab(splits["train"], section["min_answer_count"])
        return Prepared(splits, {"answers": answers}, sets)

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


# What every dataset made from the package shares: its rules, its own tokenizer, features
# and small pretrained model, validation from the training images, square images.
FROM_PACKAGE = dict(
    scored=ScoredSplit("test", "test"),
    rules="easy_vqa",
    once=("features", "pretrain"),
    preparation="prepare_questions",
    model_rules=("build_tokenizer", "pretrain"),
    features_rule="extract_features",
    tokenizer="tokenizer",
    small_model=True,
    val_from_train=True,
    image_aspect=1.0,
)

EASY_VQA = EasyVQA(
    name="easy_vqa",
    label="easy-VQA",
    # The package's train (38,575) and test (9,673) questions, 13 answers, 5,000 images.
    sizes=Sizes(train=38_575, val=0, test=9_673, answers=13, images=5_000),
    **FROM_PACKAGE,
    shifted={"pairs": "held-out pairs", "templates": "held-out templates"},
    shift_key="shift",
    own_keys=("shift",),
    shifted_how="dataset.shift: the held-out pairs' images and templates leave train, val "
    "and pre-training, their test questions the test split",
)


class EasyVQAStatements(EasyVQA):
    """Statements about pairs of easy-VQA's images (``data.statements``), split by image
    as the questions are; pre-training reads the questions, as the default's, so both
    tasks start from the same pretrained model."""

    def check(self, section: Mapping) -> None:
        if section.get("shift") is not None:
            raise ConfigError("dataset.shift: easy_vqa_statements makes no shifted sets")

    def shifted_sets(self, section: Mapping) -> list[str]:
        return []

    def prepare(self, section: Mapping) -> Prepared:
        """The statements' splits (capped as the questions' are), and what pre-training
        reads: the questions' pre-training and validation splits and their answers,
        exactly as easy-VQA's own preparation makes them."""
        seed, caps = section["split_seed"], section["max_questions"]
        made = easyvqa.statement_splits(
            section["val_fraction"], seed, section["statements_per_image"]
        )
        splits = {name: subsample(records, caps[name], seed) for name, records in made.items()}
        questions = EASY_VQA.prepare({**section, "shift": None})
        splits.update(pretrain=questions.splits["pretrain"], pretrain_val=questions.splits["val"])
        answers = {"answers": list(tasks.get(self.task).answers),
                   "pretrain_answers": questions.answers["answers"]}  # fmt: skip
        return Prepared(splits, answers, {})

    def planned_counts(self, section: Mapping) -> dict:
        splits = self.prepare(section).splits
        return {**{s: len(splits[s]) for s in ("train", "val", "test")}, "shifted": {}}


EASY_VQA_STATEMENTS = EasyVQAStatements(
    name="easy_vqa_statements",
    label="easy-VQA statements",
    # Two statements per image with named attributes: 7,084 train+val, 1,760 test.
    sizes=Sizes(train=6_372, val=712, test=1_760, answers=2, images=5_000),
    **FROM_PACKAGE,
    own_keys=("statements_per_image",),
    task="verification",
    pretraining_files={
        "train": "data/pretrain.json",
        "val": "data/pretrain_val.json",
        "answers": "data/pretrain_answers.json",
    },  # fmt: skip
)
