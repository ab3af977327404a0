"""LXMERT's GQA and NLVR2 files read into the workflow's formats (data.lxmert_tasks), on
files the tests write in the original formats (airsplay/lxmert's data/gqa and
data/nlvr2), and bad files refused naming the file and the record."""

from __future__ import annotations

import json

import pytest

from lxmert_lth.core.errors import InputError
from lxmert_lth.data.lxmert_tasks import gqa_records, nlvr2_records
from lxmert_lth.data.questions import validate_questions

GQA = [
    {"img_id": "2375429", "label": {"pipe": 1.0}, "question_id": "07333408",
     "sent": "What is on the white wall?"},
    {"img_id": "2375429", "label": {"no": 1.0}, "question_id": "07333409",
     "sent": "Is the wall black?"},
]  # fmt: skip
NLVR2 = [
    {"identifier": "train-10171-0-0", "img0": "train-10171-0-img0",
     "img1": "train-10171-0-img1", "label": 0,
     "sent": "An image shows one leather pencil case.", "uid": "nlvr2_train_0"},
    {"identifier": "train-10171-0-1", "img0": "train-10171-0-img0",
     "img1": "train-10171-0-img1", "label": 1, "sent": "Two pencil cases.",
     "uid": "nlvr2_train_1"},
]  # fmt: skip


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_gqa_becomes_question_records_scored_by_their_label(tmp_path):
    records = gqa_records(write(tmp_path, "testdev.json", GQA))
    validate_questions(records, "testdev.json")
    assert records[0] == {
        "question_id": "07333408", "image_id": "2375429",
        "question": "What is on the white wall?", "answer_type": "other", "answers": [],
        "label": {"pipe": 1.0},
    }  # fmt: skip
    assert records[1]["answer_type"] == "yes/no"
    unlabelled = gqa_records(write(tmp_path, "u.json", [{**GQA[0], "label": None}]))
    assert unlabelled[0]["answer_type"] is None and unlabelled[0]["label"] == {}


def test_nlvr2_becomes_statement_records_keyed_by_uid(tmp_path):
    records = nlvr2_records(write(tmp_path, "valid.json", NLVR2))
    assert records[1] == {
        "statement_id": "nlvr2_train_1",
        "image_ids": ["train-10171-0-img0", "train-10171-0-img1"],
        "sentence": "Two pencil cases.", "label": 1, "identifier": "train-10171-0-1",
    }  # fmt: skip


@pytest.mark.parametrize(
    "reader, doc, message",
    [
        (gqa_records, {"a": 1}, "expected a JSON list"),
        (gqa_records, [GQA[0], 3], "record 1 is not an object"),
        (gqa_records, [GQA[0], {**GQA[1], "sent": 5}], "record 1: 'sent' is 5, not a str"),
        (gqa_records, [{k: v for k, v in GQA[0].items() if k != "img_id"}],
         "record 0 has no key 'img_id'"),
        (gqa_records, [{**GQA[0], "label": {"pipe": "1"}}], "'label' must map answers"),
        (gqa_records, [GQA[0], GQA[0]], "question_id '07333408' is given twice"),
        (nlvr2_records, [{**NLVR2[0], "label": 2}], "record 0: 'label' is 2, not 0 or 1"),
        (nlvr2_records, [{**NLVR2[0], "label": True}], "'label' is True, not 0 or 1"),
        (nlvr2_records, [NLVR2[0], {**NLVR2[1], "uid": "nlvr2_train_0"}],
         "statement_id 'nlvr2_train_0' is given twice: record 0 and record 1"),
        (nlvr2_records, [{k: v for k, v in NLVR2[0].items() if k != "img1"}],
         "record 0 has no key 'img1'"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_file_and_record(tmp_path, reader, doc, message):
    path = write(tmp_path, "bad.json", doc)
    with pytest.raises(InputError, match="bad.json") as error:
        reader(path)
    assert message in str(error.value)
