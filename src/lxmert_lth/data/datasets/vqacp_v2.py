"""VQA-CP v2 (Agrawal et al. 2018): VQA v2's labelled questions re-split so that each
question type's answers differ between train and test; its test split scored locally."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.data import vqacp_v2
from lxmert_lth.data.datasets.base import Dataset, ScoredSplit, Sizes
from lxmert_lth.data.datasets.vqa_v2 import FROM_FILES


class VQACPv2(Dataset):
    def question_files(self, section: Mapping) -> dict[str, str]:
        return {k: v for k, v in section["vqacp"].items() if isinstance(v, str)}

    def read_splits(self, section: Mapping) -> tuple[dict[str, list], list]:
        spec = section["vqacp"]
        return vqacp_v2.splits(
            spec, spec["min_answer_count"], section["val_fraction"], section["split_seed"]
        )


VQACP_V2 = VQACPv2(
    name="vqacp_v2",
    label="VQA-CP v2",
    scored=ScoredSplit("test", "VQA-CP test"),
    # About 438k training and 220k test questions, all of VQA v2's labelled ones, on
    # train2014 and val2014 images; validation: a fraction of the training images.
    sizes=Sizes(train=438_000, val=0, test=220_000, answers=3_129, images=123_287),
    **FROM_FILES,
    val_from_train=True,
    own_keys=("vqacp",),
    unseen_image_hint=" (is its coco_split right?)",
)
