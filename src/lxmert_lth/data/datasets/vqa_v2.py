"""VQA v2 (the paper's): the user's official or LXMERT-format files, bottom-up-attention
features and a pretrained checkpoint; minival scored locally, test2015 by EvalAI."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.data.datasets.base import Dataset, ScoredSplit, Sizes
from lxmert_lth.data.vqa_v2 import lxmert_splits, official_splits


class VQAv2(Dataset):
    def check(self, section: Mapping) -> None:
        """The rephrasings come as two files: the questions and their human answers."""
        ood = section.get("ood") or {}
        if bool(ood.get("rephrasings_questions")) != bool(ood.get("rephrasings_annotations")):
            raise ConfigError(
                "dataset.ood: rephrasings_questions and rephrasings_annotations come together "
                "(the rephrasings and their human answers)"
            )

    def shifted_sets(self, section: Mapping) -> list[str]:
        """From the files given in ``dataset.ood`` (the rephrasings come as two)."""
        ood = section.get("ood") or {}
        given = {name for name in ("counterexamples", "easy") if ood.get(name)}
        if ood.get("rephrasings_questions"):
            given.add("rephrasings")
        return [name for name in self.shifted if name in given]

    def question_files(self, section: Mapping) -> dict[str, str]:
        """The files of ``dataset.format`` and the shifted sets' (``dataset.ood``)."""
        ood = {f"ood_{k}": v for k, v in (section.get("ood") or {}).items()}
        files = {**section[section["format"]], **ood}
        return {k: v for k, v in files.items() if isinstance(v, str)}

    def read_splits(self, section: Mapping) -> tuple[dict[str, list], list]:
        if section["format"] == "official":
            spec = section["official"]
            return official_splits(spec, spec["min_answer_count"], spec["minival_images"])
        return lxmert_splits(section["lxmert"])


# The rules of a dataset read from the user's files (rules/data_vqa_files.smk): VQA v2's
# and every dataset that shares its preparation.
FROM_FILES = {
    "rules": "vqa_files",
    "once": ("prepare_vqa_v2", "features", "import_pretrained"),
    "preparation": "prepare_vqa_v2",
    "model_rules": ("import_pretrained",),
    "features_rule": "convert_features",
}

VQA_V2 = VQAv2(
    name="vqa_v2",
    label="VQA v2",
    # test2015 is unlabelled: the EvalAI server scores each network's predictions.
    scored=ScoredSplit("val", "minival"),
    # LXMERT's splits: train2014 + nominival for training, minival for validation,
    # test2015 for EvalAI; 3,129 answers; 204,721 images (train2014 82,783, val2014
    # 40,504, test2015 81,434).
    sizes=Sizes(train=632_117, val=25_994, test=447_793, answers=3_129, images=204_721),
    **FROM_FILES,
    server="EvalAI",
    published_results=True,
    shifted={
        "counterexamples": "VQA-CE counterexamples",
        "easy": "VQA-CE easy",
        "rephrasings": "VQA-Rephrasings",
    },
    shift_key="ood",
    own_keys=("format", "official", "lxmert", "ood"),
    shifted_how="dataset.ood: subsets of VQA v2 val, scored only",
)
