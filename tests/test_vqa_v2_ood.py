"""VQA v2's shifted sets (lxmert_lth.data.vqa_v2_ood) on files the tests write in the
releases' formats: VQA-CE's id lists and VQA-Rephrasings' questions and annotations;
and the paper configuration that names them: its DAG, and a dense fine-tune that scores
them (accuracy, and the rephrasings' consistency)."""

import json

import pytest
import yaml

import paper_fixtures as fx
from conftest import snakemake
from lxmert_lth.core.errors import InputError
from lxmert_lth.data import vqa_v2_ood
from lxmert_lth.data.vqa_v2 import official_splits


@pytest.fixture
def files(tmp_path):
    official = fx.write_official(tmp_path / "vqa")
    splits, answers = official_splits(official, 1, fx.MINIVAL_IMAGES)
    return fx.write_ood(tmp_path / "ood"), splits, answers


def test_vqace_keeps_the_minival_questions_of_its_list_in_minival_order(files):
    ood, splits, _ = files
    minival = splits["val"]
    subset = vqa_v2_ood.vqace_subset(ood["easy"], minival)
    assert [q["question_id"] for q in subset] == [2001, 2010]  # 2040 is nominival's
    assert subset == [q for q in minival if q["question_id"] in (2001, 2010)]


def test_rephrasings_keep_the_minival_groups_with_their_originals(files):
    ood, splits, answers = files
    minival_ids = {q["question_id"] for q in splits["val"]}
    records = vqa_v2_ood.rephrasings(
        ood["rephrasings_questions"], ood["rephrasings_annotations"], splits["val"], answers
    )
    groups = {r["group"] for r in records}
    assert groups == minival_ids
    assert len(records) == 4 * len(minival_ids)  # each original and its three rephrasings
    for r in records:
        assert r["image_id"].startswith("COCO_val2014_") and r["answers"] and r["answer_type"]
    original = next(r for r in records if r["question_id"] == r["group"])
    assert original["question"] == "What color is the ball?"


@pytest.mark.parametrize(
    "which, corrupt, message",
    [
        ("easy", lambda d: {"ids": d}, "expected a JSON list of VQA v2 question ids"),
        ("easy", lambda d: [*d, "2001"], r"record 3 is '2001', not a question id"),
        ("easy", lambda d: [1, 2, 3], "none of its 3 question ids is a minival question"),
        ("rephrasings_questions", lambda d: {**d, "questions": [*d["questions"],
         {"image_id": 42, "question": "?", "question_id": 5, "rephrasing_of": 77}]},
         r"record \d+ \(question 5\) rephrases question 77, which is not an original"),
        ("rephrasings_questions", lambda d: {**d, "questions": [d["questions"][0],
         {**d["questions"][1], "image_id": 73}, *d["questions"][2:]]},
         r"record 1 \(question \d+\) is on image 73, its original 2000 on 42"),
        ("rephrasings_annotations", lambda d: {**d, "annotations": d["annotations"][1:]},
         "no annotation for question 2000"),
        ("rephrasings_questions", lambda d: d["questions"],
         "expected a JSON object with a list 'questions'"),
        ("rephrasings_questions", lambda d: {**d, "questions": [d["questions"][0],
         {**d["questions"][1], "rephrasing_of": "2000"}, *d["questions"][2:]]},
         r"record 1 \(question \d+\) has rephrasing_of '2000' of type str, not a question id "
         r"\(of type int"),
        ("rephrasings_annotations", lambda d: {**d, "annotations": [*d["annotations"],
         {**d["annotations"][0], "question_id": 5}]},
         "1 annotations are of no question in .*question_id 5"),
    ],
)  # fmt: skip
def test_a_malformed_or_mismatched_file_is_named_with_its_record(files, which, corrupt, message):
    ood, splits, answers = files
    path = ood[which]
    with open(path) as f:
        doc = json.load(f)
    with open(path, "w") as f:
        json.dump(corrupt(doc), f)
    with pytest.raises(InputError, match=message) as err:
        if which == "easy":
            vqa_v2_ood.vqace_subset(path, splits["val"])
        else:
            vqa_v2_ood.rephrasings(
                ood["rephrasings_questions"], ood["rephrasings_annotations"], splits["val"],
                answers,
            )  # fmt: skip
    assert str(path) in str(err.value)


@pytest.mark.slow
def test_the_paper_configuration_scores_each_subset_in_its_dense_fine_tune(tmp_path):
    from test_paper_workflow import paper_test_config

    config = paper_test_config(tmp_path / "inputs")
    config["dataset"]["ood"] = fx.write_ood(tmp_path / "inputs" / "ood")
    path = tmp_path / "paper-ood.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = snakemake(tmp_path, "--dry-run", "--cores", "2", configfile=path).stdout
    assert "counterexamples.json" in jobs and "humans_og_annotations.json" in jobs  # inputs
    assert "results-paper/data/shifted/rephrasings.json" in jobs
    target = "results-paper/seed0/dense/scores.json"
    snakemake(tmp_path, "--cores", "2", target, configfile=path)
    scores = json.loads((tmp_path / target).read_text())
    assert scores["counterexamples:n_overall"] == 2 and scores["easy:n_overall"] == 2
    minival = json.loads((tmp_path / "results-paper/data/val.json").read_text())
    assert scores["rephrasings:n_overall"] == 4 * len(minival)
    assert scores["rephrasings:n_groups"] == len(minival)
    for k in range(1, 5):
        assert 0 <= scores[f"rephrasings:cs{k}"] <= 100
    # CS(k) cannot grow with k: a k+1-subset all right has all its k-subsets right.
    assert [scores[f"rephrasings:cs{k}"] for k in range(1, 5)] == sorted(
        (scores[f"rephrasings:cs{k}"] for k in range(1, 5)), reverse=True
    )
