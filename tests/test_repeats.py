"""Every reader of a user's file refuses a repeated question id or image id, naming the
file and both records (lxmert_lth.core.errors.Once: one rule for all of them)."""

import json
import re

import h5py
import numpy as np
import pytest

import paper_fixtures as fx
from lxmert_lth.core.errors import InputError
from lxmert_lth.data import questions, vqa_v2, vqa_v2_ood, vqacp_v2
from lxmert_lth.data.bottom_up_attention import convert_tsvs, encode_row
from lxmert_lth.data.features import FeatureStore


def repeat_first(doc, key=None):
    """The file's first record given again at its end."""
    records = doc[key] if key else doc
    records = [*records, records[0]]
    return {**doc, key: records} if key else records


def repeated(path, key=None) -> str:
    """Repeat the first record of a JSON file; the message its reader must give."""
    doc = json.loads(open(path).read())
    n = len(doc[key] if key else doc)
    first = (doc[key] if key else doc)[0]
    open(path, "w").write(json.dumps(repeat_first(doc, key)))
    qid = first["question_id"]
    return f"{path}: question_id {qid!r} is given twice: record 0 and record {n}"


@pytest.fixture
def official(tmp_path):
    return fx.write_official(tmp_path / "vqa")


def test_vqa_v2s_questions_and_annotations(official):
    message = repeated(official["train_questions"], "questions")
    with pytest.raises(InputError, match=re.escape(message)):
        vqa_v2.read_official_questions(official["train_questions"])
    message = repeated(official["train_annotations"], "annotations")
    with pytest.raises(InputError, match=re.escape(message)):
        vqa_v2.read_official_annotations(official["train_annotations"])


@pytest.mark.parametrize("kind", ["questions", "annotations"])
def test_vqacps_files(tmp_path, kind):
    paths = fx.write_vqacp(tmp_path)
    message = repeated(paths[f"train_{kind}"])
    with pytest.raises(InputError, match=re.escape(message)):
        vqacp_v2.splits(paths, 1, 0.25, 0)


def test_vqa_rephrasings_and_vqa_ce(official, tmp_path):
    splits, answers = vqa_v2.official_splits(official, 1, fx.MINIVAL_IMAGES)
    ood = fx.write_ood(tmp_path / "ood")
    message = repeated(ood["rephrasings_questions"], "questions")
    with pytest.raises(InputError, match=re.escape(message)):
        vqa_v2_ood.rephrasings(ood["rephrasings_questions"], ood["rephrasings_annotations"],
                               splits["val"], answers)  # fmt: skip
    ids = json.loads(open(ood["easy"]).read())
    open(ood["easy"], "w").write(json.dumps([*ids, ids[1]]))
    message = f"{ood['easy']}: question id {ids[1]} is given twice: record 1 and record {len(ids)}"
    with pytest.raises(InputError, match=re.escape(message)):
        vqa_v2_ood.vqace_subset(ood["easy"], splits["val"])


def test_lxmerts_json_and_the_workflows_own(tmp_path, official):
    paths = fx.write_lxmert(tmp_path / "lxmert")
    message = repeated(paths["train"])
    with pytest.raises(InputError, match=re.escape(message)):
        vqa_v2.lxmert_records(paths["train"])
    splits, _ = vqa_v2.official_splits(official, 1, fx.MINIVAL_IMAGES)
    path = tmp_path / "train.json"
    path.write_text(json.dumps(splits["train"]))
    message = repeated(path)
    with pytest.raises(InputError, match=re.escape(message)):
        questions.load_questions(path)


def test_bottom_up_tsvs_and_hdf5_features(tmp_path):
    written = fx.write_tsvs(tmp_path / "tsv")
    path, rows = next(iter(written.items()))
    with open(path, "ab") as f:
        f.write(encode_row(rows[0]))
    message = (f"bottom-up-attention TSVs: image id {rows[0].img_id!r} is given twice: "
               f"{path}:1 and {path}:{len(rows) + 1}")  # fmt: skip
    with pytest.raises(InputError, match=re.escape(message)):
        convert_tsvs([path], tmp_path / "f.h5", fx.NUM_BOXES, progress=False)
    assert not (tmp_path / "f.h5").exists()
    h5 = tmp_path / "g.h5"
    with h5py.File(h5, "w") as f:
        f["image_ids"] = np.array([b"a", b"b", b"a"])
        for name in ("features", "boxes", "num_boxes"):
            f[name] = np.zeros((3, 1, 1), dtype=np.float32)
    with pytest.raises(InputError, match=re.escape(f"{h5} ('image_ids'): image id 'a' is "
                                                   "given twice: row 0 and row 2")):  # fmt: skip
        FeatureStore(h5)
