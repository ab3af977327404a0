"""VQA-CP v2's reader (lxmert_lth.data.vqacp_v2) on files the tests write in the release's
format: four top-level JSON lists, every record with its ``coco_split``."""

import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

import paper_fixtures as fx
from conftest import ROOT, snakemake
from lxmert_lth.core.errors import InputError
from lxmert_lth.data import vqacp_v2
from lxmert_lth.data.questions import validate_questions


def test_the_splits_keep_each_image_on_its_coco_split_and_hold_out_validation_by_image(tmp_path):
    paths = fx.write_vqacp(tmp_path)
    splits, answers = vqacp_v2.splits(paths, min_answer_count=1, val_fraction=0.25, seed=0)
    # As for VQA v2: normalised multiple-choice answers by count ("Yes." counts as yes).
    assert set(answers) >= {"yes", "no", "1", "red", "blue"}
    for name, records in splits.items():
        validate_questions(records, name)
        assert all(q["answer_type"] in ("yes/no", "number", "other") for q in records)
    train_ids = {
        q["question_id"]
        for q in json.loads((tmp_path / "vqacp_v2_train_questions.json").read_text())
    }
    held = splits["val"]
    assert held and {q["question_id"] for q in splits["train"] + held} == train_ids
    # Validation is whole images of VQA-CP train, never of its test.
    assert not {q["image_id"] for q in held} & {q["image_id"] for q in splits["train"]}
    # Each image keeps its COCO folder (the TSV that holds its features): VQA-CP's test
    # has questions on both.
    test_images = {q["image_id"] for q in splits["test"]}
    assert {i.split("_")[1] for i in test_images} == {"train2014", "val2014"}
    # The same seed, the same hold-out; another seed, another.
    again, _ = vqacp_v2.splits(paths, 1, 0.25, 0)
    assert again == splits
    other, _ = vqacp_v2.splits(paths, 1, 0.25, 1)
    assert {q["image_id"] for q in other["val"]} != {q["image_id"] for q in held}
    # Soft labels as VQA v2's: 7 of 10 say the colour.
    colour = next(q for q in splits["test"] + splits["train"] if q["answer_type"] == "other")
    assert max(colour["label"].values()) == 1.0


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda d: {"questions": d}, "expected a JSON list of VQA-CP records, found an object"),
        (lambda d: [{k: v for k, v in d[0].items() if k != "coco_split"}, *d[1:]],
         "record 0 has no key 'coco_split'"),
        (lambda d: [{**d[0], "coco_split": "test2015"}, *d[1:]], "has coco_split 'test2015'"),
    ],
)  # fmt: skip
def test_a_malformed_questions_file_is_named_with_its_record(tmp_path, corrupt, message):
    paths = fx.write_vqacp(tmp_path)
    path = tmp_path / "vqacp_v2_train_questions.json"
    path.write_text(json.dumps(corrupt(json.loads(path.read_text()))))
    with pytest.raises(InputError, match=message) as err:
        vqacp_v2.splits(paths, 1, 0.25, 0)
    assert str(path) in str(err.value)


def test_mismatched_files_are_refused(tmp_path):
    paths = fx.write_vqacp(tmp_path)
    ann = tmp_path / "vqacp_v2_test_annotations.json"
    doc = json.loads(ann.read_text())
    doc[0] = {**doc[0], "answers": doc[0]["answers"][:9]}
    ann.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="has 9 answers"):
        vqacp_v2.splits(paths, 1, 0.25, 0)
    # The train annotations given for the test questions: no annotation for them.
    fx.write_vqacp(tmp_path)
    swapped = {**paths, "test_annotations": paths["train_annotations"]}
    with pytest.raises(InputError, match="no annotation for question"):
        vqacp_v2.splits(swapped, 1, 0.25, 0)
    # An image on the other COCO split in the annotations than in the questions.
    doc = json.loads(ann.read_text())
    doc[0] = {
        **doc[0],
        "coco_split": "train2014" if doc[0]["coco_split"] == "val2014" else "val2014",
    }
    ann.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"question {doc[0]['question_id']} is on"):
        vqacp_v2.splits(paths, 1, 0.25, 0)


def test_an_image_flipped_to_the_other_coco_split_in_both_files_is_refused_at_preparation(
    tmp_path,
):
    """A coco_split changed alike in the questions and annotations passes the readers; the
    preparation finds that no features exist for the image so named."""
    from lxmert_lth.data.bottom_up_attention import convert_tsvs
    from lxmert_lth.workflow.stages.data import prepare_vqa_v2

    paths = fx.write_vqacp(tmp_path / "vqacp")
    features = tmp_path / "regions.h5"
    convert_tsvs(list(fx.write_tsvs(tmp_path / "tsv")), features, fx.NUM_BOXES, progress=False)
    dataset = {"name": "vqacp_v2", "vqacp": {**paths, "min_answer_count": 1},
               "val_fraction": 0.25, "split_seed": 0,
               "max_questions": {"train": None, "val": None, "test": None}}  # fmt: skip
    outputs = {s: str(tmp_path / f"{s}.json") for s in ("train", "val", "test", "answers")}
    prepare_vqa_v2(outputs, dataset, str(features))  # as they are: every image is there
    for kind in ("questions", "annotations"):
        path = Path(paths[f"test_{kind}"])
        doc = json.loads(path.read_text())
        flipped = "train2014" if doc[0]["coco_split"] == "val2014" else "val2014"
        doc[0] = {**doc[0], "coco_split": flipped}
        path.write_text(json.dumps(doc))
    qid = doc[0]["question_id"]
    with pytest.raises(
        InputError,
        match=rf"{features}: no features for image 'COCO_{flipped}_"
        rf"\d+' of question {qid} \(test split\) \(is its coco_split right\?\)",
    ):
        prepare_vqa_v2(outputs, dataset, str(features))


def vqacp_test_config(folder) -> dict:
    """configs/paper_vqacp.yaml pointed at the fixtures, sized for a CPU test."""
    from test_paper_workflow import paper_test_config

    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    overlay = yaml.safe_load((ROOT / "configs" / "paper_vqacp.yaml").read_text())
    update_config(config, overlay)  # read over paper.yaml, as --configfile A B does
    paper = paper_test_config(folder)  # the model, TSVs and recipe of the paper fixtures
    for key in ("features", "pretrained", "theta0", "finetune", "pruning", "study", "execution"):
        config[key] = paper[key]
    config["dataset"]["vqacp"] = {**fx.write_vqacp(folder / "vqacp"), "min_answer_count": 1}
    config["dataset"]["val_fraction"] = 0.25
    return config


@pytest.mark.slow
def test_the_vqacp_configuration_prepares_its_splits_and_plans_its_dag(tmp_path):
    config = tmp_path / "vqacp.yaml"
    config.write_text(yaml.safe_dump(vqacp_test_config(tmp_path / "inputs"), sort_keys=False))
    dry = snakemake(tmp_path, "--dry-run", "--cores", "2", configfile=config)
    jobs = dry.stdout
    for rule in ("prepare_vqa_v2", "convert_features", "import_pretrained", "finetune_dense"):
        assert rule in jobs
    assert "compare_with_paper" not in jobs  # the paper's numbers are VQA v2's
    assert "vqacp_v2_test_annotations.json" in jobs  # the user's files are inputs
    snakemake(tmp_path, "--cores", "1", "results-paper-vqacp/data/test.json", configfile=config)
    data = tmp_path / "results-paper-vqacp" / "data"
    test = json.loads((data / "test.json").read_text())
    expected = json.loads((tmp_path / "inputs/vqacp/vqacp_v2_test_questions.json").read_text())
    assert [q["question_id"] for q in test] == [q["question_id"] for q in expected]
    assert all(q["answers"] and q["answer_type"] for q in test)  # labelled: scored locally
    assert json.loads((data / "val.json").read_text())


def test_a_vocabulary_left_empty_by_the_count_names_the_file_and_key(tmp_path):
    paths = fx.write_vqacp(tmp_path)
    with pytest.raises(InputError, match=r"no answer occurs 99 times in train \+ test") as err:
        vqacp_v2.splits(paths, 99, 0.25, 0)
    assert paths["train_annotations"] in str(err.value)
    assert "dataset.vqacp.min_answer_count" in str(err.value)
