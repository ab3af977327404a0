"""GQA and NLVR2, the two other tasks LXMERT was fine-tuned on (airsplay/lxmert), in its
preprocessed files (``lxmert_lth.data.lxmert_tasks``): the paper configuration's second
and third tasks (configs/paper_gqa.yaml, configs/paper_nlvr2.yaml), prepared by VQA v2's
rules (the user's files, the bottom-up-attention TSVs, the imported pretrained model)."""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.data import lxmert_tasks
from lxmert_lth.data.datasets.base import Dataset, ScoredSplit, Sizes
from lxmert_lth.data.datasets.vqa_v2 import FROM_FILES


class LxmertTaskFiles(Dataset):
    """A task in LXMERT's files: under the ``dataset`` section's key of its name, read by
    its reader in ``data.lxmert_tasks``."""

    def question_files(self, section: Mapping) -> dict[str, str]:
        return dict(section[self.name])

    def read_splits(self, section: Mapping) -> tuple[dict[str, list], list]:
        return READERS[self.name](section[self.name])


READERS = {"gqa": lxmert_tasks.gqa_splits, "nlvr2": lxmert_tasks.nlvr2_splits}

GQA_DATASET = LxmertTaskFiles(
    name="gqa",
    label="GQA",
    # testdev is labelled: scored locally by exact match, as LXMERT's GQA evaluator.
    scored=ScoredSplit("test", "testdev"),
    # The plan's estimates until your files are prepared. Checked: testdev's 12,578
    # questions on 398 images and about 943,000 training questions on about 72,000 images
    # (a dataset card of GQA's balanced splits), the 1,842 answers of LXMERT's
    # trainval_ans2label.json (airsplay/lxmert 90a4fde); not checked: validation's
    # 132,062 questions and about 10,000 images.
    sizes=Sizes(train=943_000, val=132_062, test=12_578, answers=1_842, images=82_772),
    **FROM_FILES,
    own_keys=("gqa",),
    unseen_image_hint=" (GQA's images are Visual Genome's: vg_gqa_obj36.tsv, and "
    "gqa_testdev_obj36.tsv for testdev)",
)
NLVR2_DATASET = LxmertTaskFiles(
    name="nlvr2",
    label="NLVR2",
    # test-P (the public test split) is labelled: scored locally by accuracy.
    scored=ScoredSplit("test", "test-P"),
    # The plan's estimates until your files are prepared: 86,373 training, 6,982 dev and
    # 6,967 test-P statements (with test-U's 6,970 they make the 107,292 of NLVR2's page,
    # lil.nlp.cornell.edu/nlvr, which is what was checked), two images each: at most
    # 200,644 images.
    sizes=Sizes(train=86_373, val=6_982, test=6_967, answers=2, images=200_644),
    **FROM_FILES,
    own_keys=("nlvr2",),
    task="verification",
    unseen_image_hint=" (each split's images are in its own TSV: train_obj36.tsv, "
    "valid_obj36.tsv, test_obj36.tsv)",
)
