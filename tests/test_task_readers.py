"""LXMERT's GQA and NLVR2 files read into the workflow's formats (data.lxmert_tasks), on
files the tests write in the original formats (airsplay/lxmert's data/gqa and
data/nlvr2), and bad files refused naming the file and the record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.schema import SCHEMA
from lxmert_lth.data.lxmert_tasks import gqa_records, nlvr2_records
from lxmert_lth.data.questions import validate_questions
from lxmert_lth.workflow.plan import load_config

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


# --- GQA and NLVR2 as datasets of the paper configuration ------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _section(tmp_path, overlay: str, files: dict) -> dict:
    """The merged ``dataset`` section of configs/paper.yaml and the overlay, its files
    replaced by ``files``."""
    config = load_config([ROOT / "configs" / "paper.yaml", ROOT / "configs" / overlay], SCHEMA)
    section = config["dataset"]
    section[section["name"]] = {**section[section["name"]], **files}
    return section


def _features(tmp_path, image_ids) -> str:
    from lxmert_lth.data.bottom_up_attention import convert_tsvs, encode_row
    from paper_fixtures import fixture_row

    tmp_path.mkdir(exist_ok=True)
    tsv = tmp_path / "obj36.tsv"
    tsv.write_bytes(b"".join(encode_row(fixture_row(i, seed=n)) for n, i in enumerate(image_ids)))
    out = tmp_path / "regions.h5"
    convert_tsvs([str(tsv)], str(out), 36, "float16")
    return str(out)


def _outputs(tmp_path) -> dict:
    """The preparation's files, in a folder of their own."""
    (tmp_path / "out").mkdir(parents=True, exist_ok=True)
    return {s: str(tmp_path / "out" / f"{s}.json") for s in ("train", "val", "test", "answers")}


def _nlvr2(split: str, n: int, label=0) -> list[dict]:
    return [{"identifier": f"{split}-{i}-0-0", "img0": f"{split}-{i}-img0",
             "img1": f"{split}-{i}-img1", "label": label if label is None else (i + label) % 2,
             "sent": f"Statement {i}.", "uid": f"nlvr2_{split}_{i}"} for i in range(n)]  # fmt: skip


def test_nlvr2_is_prepared_as_statements_with_both_images_checked(tmp_path):
    from lxmert_lth.workflow.stages.data import prepare_vqa_v2

    files = {s: str(write(tmp_path, f"{s}.json", _nlvr2(s, 3))) for s in ("train", "valid", "test")}
    section = _section(tmp_path, "paper_nlvr2.yaml", files)
    images = [
        f"{s}-{i}-img{k}" for s in ("train", "valid", "test") for i in range(3) for k in (0, 1)
    ]
    prepare_vqa_v2(_outputs(tmp_path), section, _features(tmp_path, images))
    train = json.loads((tmp_path / "out" / "train.json").read_text())
    assert [r["statement_id"] for r in train] == ["nlvr2_train_0", "nlvr2_train_1", "nlvr2_train_2"]
    assert train[1]["image_ids"] == ["train-1-img0", "train-1-img1"]
    assert json.loads((tmp_path / "out" / "answers.json").read_text()) == {
        "answers": ["false", "true"]
    }

    missing = _features(tmp_path / "f", images[:-1])  # test-2's right image has none
    with pytest.raises(InputError, match=r"no features for image 'test-2-img1' of statement "
                       r"nlvr2_test_2 \(test split\) \(each split's images"):  # fmt: skip
        prepare_vqa_v2(_outputs(tmp_path / "f"), section, missing)


def test_an_unlabelled_nlvr2_training_statement_is_refused(tmp_path):
    from lxmert_lth.workflow.stages.data import prepare_vqa_v2

    files = {s: str(write(tmp_path, f"{s}.json", _nlvr2(s, 2))) for s in ("valid", "test")}
    files["train"] = str(write(tmp_path, "train.json", _nlvr2("train", 2, label=None)))
    with pytest.raises(InputError, match="train split: statement nlvr2_train_0 is unlabelled"):
        prepare_vqa_v2(_outputs(tmp_path), _section(tmp_path, "paper_nlvr2.yaml", files))


def test_gqa_is_prepared_with_lxmerts_answers_and_a_shared_id_is_refused(tmp_path):
    from lxmert_lth.workflow.stages.data import prepare_vqa_v2

    answers = ["pipe", "no", "yes"]
    files = {
        "train": str(write(tmp_path, "train.json", GQA)),
        "valid": str(write(tmp_path, "valid.json", [{**GQA[0], "question_id": "1"}])),
        "testdev": str(write(tmp_path, "testdev.json", [{**GQA[1], "question_id": "2"}])),
        "ans2label": str(write(tmp_path, "a2l.json", {a: i for i, a in enumerate(answers)})),
        "label2ans": str(write(tmp_path, "l2a.json", answers)),
    }
    prepare_vqa_v2(_outputs(tmp_path), _section(tmp_path, "paper_gqa.yaml", files))
    test = json.loads((tmp_path / "out" / "test.json").read_text())
    assert test == [{"question_id": "2", "image_id": "2375429", "question": "Is the wall black?",
                     "answer_type": "yes/no", "answers": [], "label": {"no": 1.0}}]  # fmt: skip
    assert json.loads((tmp_path / "out" / "answers.json").read_text()) == {"answers": answers}

    files["testdev"] = files["train"]
    with pytest.raises(
        InputError,
        match=r"train.json \(the testdev file\): question_id '07333408' is also in the train",
    ):
        prepare_vqa_v2(_outputs(tmp_path), _section(tmp_path, "paper_gqa.yaml", files))


def test_the_plan_counts_nlvr2s_model_and_pairs():
    """NLVR2's network is the verification model (its own head, not 3,129 answers), and a
    statement's two images are two passes of LXMERT's encoder: twice the activations of a
    question, and twice its positions in the cost of a fine-tune."""
    from lxmert_lth.workflow import sizes

    vqa = load_config([ROOT / "configs" / "paper.yaml"], SCHEMA)
    nlvr2 = load_config([ROOT / "configs" / "paper.yaml", ROOT / "configs" / "paper_nlvr2.yaml"],
                        SCHEMA)  # fmt: skip
    encoder = sizes.model_size(vqa).parameters - (768 * 1536 + 1536 + 2 * 1536 + 1536 * 3129 + 3129)
    head = 1536 * 1536 + 1536 + 2 * 1536 + 1536 * 2 + 2  # Linear, LayerNorm, Linear
    assert sizes.model_size(nlvr2).parameters == encoder + head
    assert sizes.positions(nlvr2) == 2 * sizes.positions(vqa)
    ratio = sizes.activation_bytes(nlvr2, "finetune") / sizes.activation_bytes(vqa, "finetune")
    assert ratio == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(
    "overlays, row",
    [((), "VQA v2"), (("paper_gqa.yaml",), "GQA"), (("paper_nlvr2.yaml",), "NLVR2")],
)
def test_docs_three_tasks_table_is_what_the_plan_says(overlays, row):
    """docs/paper.md's table of the three tasks: its samples, parameters and activations
    are today's plan's."""
    from lxmert_lth.workflow import sizes

    files = [ROOT / "configs" / "paper.yaml", *(ROOT / "configs" / o for o in overlays)]
    config = load_config(files, SCHEMA)
    text = (ROOT / "docs" / "paper.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith(f"| {row} |"))
    activations = sizes.activation_bytes(config, "finetune") / 2**20
    for number in (sizes.finetune_samples(config), sizes.model_size(config).parameters,
                   activations):  # fmt: skip
        assert f"{round(number):,}" in line
