"""Do tickets generalize? easy-VQA's shifted sets (lxmert_lth.data.easyvqa_shift), the
consistency score, the scores' out-of-distribution columns in Table 1 and ood.md, and
the run: every training job scores each shifted set, and changing the held-out pairs
reruns the questions and what follows them, never the features."""

import json
import math
from collections import Counter

import pandas as pd
import pytest

from conftest import ROOT, check_study_digests, snakemake, write_config
from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.schema import SCHEMA
from lxmert_lth.data import easyvqa
from lxmert_lth.data import easyvqa_shift as shift
from lxmert_lth.data.datasets import EASY_VQA
from lxmert_lth.data.vqa_eval import consistency
from lxmert_lth.reporting.ood import build_ood_table, plot_ood
from lxmert_lth.reporting.report import KIND_LABELS, build_table1
from lxmert_lth.workflow.checks import validate_config
from lxmert_lth.workflow.plan import load_config

DEFAULT = {
    "pairs": [["circle", "red"], ["rectangle", "blue"], ["triangle", "green"]],
    "templates": [
        "what is the color of the {shape}?",
        "what shape does the image contain?",
        "is no {color} shape present?",
        "is no {shape} present?",
    ],
}


@pytest.fixture(scope="module")
def easy_vqa():
    return easyvqa._easy_vqa_records("train", 0), easyvqa._easy_vqa_records("test", 10_000_000)


def test_every_question_has_one_of_the_24_templates_and_images_one_pair(easy_vqa):
    train, test = easy_vqa
    templates = Counter(shift.parse(q["question"])[0] for q in train + test)
    assert set(templates) == set(shift.TEMPLATES) and len(shift.TEMPLATES) == 24
    pairs = shift.image_pairs(train + test)
    # The counts docs/method.md gives: images whose questions name their shape and colour.
    assert sum("train" in i for i in pairs) == 3542 and sum("test" in i for i in pairs) == 880
    assert {p for p in pairs.values()} == {(s, c) for s in shift.SHAPES for c in shift.COLOURS}


@pytest.mark.parametrize(
    "question, answer, named",
    [
        ("what color is the triangle?", "red", {"shape": "triangle", "color": "red"}),
        ("what is the blue shape?", "circle", {"shape": "circle", "color": "blue"}),
        ("is there a gray shape?", "yes", {"color": "gray"}),
        ("is there a gray shape?", "no", {}),
        ("is there not a circle?", "no", {"shape": "circle"}),
        ("is no teal shape present?", "yes", {}),
        ("is no teal shape present?", "no", {"color": "teal"}),
        ("does the image not contain a rectangle?", "yes", {}),
    ],
)
def test_a_question_and_its_answer_name_what_the_image_shows(question, answer, named):
    assert shift.named_attributes(question, answer) == named


def test_held_out_pairs_and_templates_never_reach_training(easy_vqa):
    train, test = easy_vqa
    known = shift.image_pairs(train + test)
    kept, in_dist, sets = shift.apply_shift(train, test, DEFAULT)
    held_pairs = {tuple(p) for p in DEFAULT["pairs"]}
    held_templates = set(DEFAULT["templates"])
    assert kept and in_dist and set(sets) == {"pairs", "templates"}
    for q in kept + in_dist:
        assert q["image_id"] in known  # images of unknown pair leave every split
        assert known[q["image_id"]] not in held_pairs
        assert shift.parse(q["question"])[0] not in held_templates
    assert all(known[q["image_id"]] in held_pairs for q in sets["pairs"])
    assert all(shift.parse(q["question"])[0] not in held_templates for q in sets["pairs"])
    assert all(shift.parse(q["question"])[0] in held_templates for q in sets["templates"])
    assert all(known[q["image_id"]] not in held_pairs for q in sets["templates"])
    ids = [{q["question_id"] for q in s} for s in (in_dist, *sets.values())]
    assert sum(map(len, ids)) == len(set().union(*ids))  # disjoint
    # Each shape and each colour is still seen in training, only never together.
    seen = {known[q["image_id"]] for q in kept}
    assert {s for s, _ in seen} == set(shift.SHAPES) and {c for _, c in seen} == set(shift.COLOURS)
    # An empty list makes no set.
    _, _, only = shift.apply_shift(train, test, {**DEFAULT, "templates": []})
    assert set(only) == {"pairs"}


def _validated(dataset: dict) -> dict:
    config = load_config([ROOT / "config.yaml"], SCHEMA)
    config["dataset"] = {**config["dataset"], **dataset}
    validate_config(config, SCHEMA)
    return config


def test_the_shift_defaults_fill_in_and_bad_values_are_named():
    config = _validated({"shift": {}})
    assert config["dataset"]["shift"] == DEFAULT
    assert EASY_VQA.shifted_sets(config["dataset"]) == ["pairs", "templates"]
    assert EASY_VQA.shifted_sets(_validated({})["dataset"]) == []
    with pytest.raises(ConfigError, match="dataset.shift.templates: 'is the shape red[?]'"):
        shift.check_shift({"pairs": [], "templates": ["is the shape red?"]})
    with pytest.raises(ConfigError, match="dataset.shift"):
        _validated({"shift": {"pairs": [["square", "red"]]}})


def test_the_consistency_score_by_hand():
    # Group 1: 3 of 4 right; group 2: all 4 right; group 3 has 3 questions (not counted).
    right = {1: [1, 1, 1, 0], 2: [1, 1, 1, 1], 3: [1, 1, 1]}
    questions, predictions = [], {}
    for group, marks in right.items():
        for i, ok in enumerate(marks):
            qid = 10 * group + i
            questions.append({"question_id": qid, "group": 10 * group, "answer_type": "other",
                              "answers": ["red"] * 10, "label": {"red": 1.0}})  # fmt: skip
            predictions[qid] = "red" if ok else "blue"
    cs = consistency(predictions, questions)
    assert cs["n_groups"] == 2
    # CS(k): group 1 has C(3, k) all-right k-subsets of C(4, k); group 2 all of them.
    for k in range(1, 5):
        assert cs[f"cs{k}"] == pytest.approx(100 * (math.comb(3, k) / math.comb(4, k) + 1) / 2)


def _scores() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        rows.append({"kind": "dense", "sparsity": 0, "seed": seed, "overall": 100.0,
                     "yes/no": 100.0, "number": None, "other": 100.0,
                     "pairs:overall": 90.0 + seed, "templates:overall": 40.0})  # fmt: skip
        for kind, drop in (("low", 0.0), ("random", 10.0)):
            for s in (50, 90):
                pairs = 80.0 - drop * s / 50
                rows.append({"kind": kind, "sparsity": s, "seed": seed, "overall": 99.0 - drop,
                             "yes/no": 99.0, "number": None, "other": 99.0,
                             "pairs:overall": pairs, "templates:overall": 40.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_table1_gains_a_column_per_shifted_set_and_ood_md_the_tickets_advantage(tmp_path):
    scores = _scores()
    table = build_table1(scores, 50, ["low", "random"])
    assert list(table.columns)[-2:] == ["held-out pairs", "held-out templates"]
    assert table.loc[0, "held-out pairs"] == "90.50 ± 0.71"
    ood = build_ood_table(scores, ["low", "random"], "test")
    row = ood[(ood.split == "held-out pairs") & (ood.sparsity == 90)].iloc[0]
    # The ticket's mean minus random's: 80 - (80 - 18).
    assert row[f"{KIND_LABELS['low']} − {KIND_LABELS['random']}"] == "+18.00"
    assert set(ood.split) == {"test", "held-out pairs", "held-out templates"}
    plot_ood(scores, ["low", "random"], "test", tmp_path / "f.png", tmp_path / "f.pdf", "t")
    assert (tmp_path / "f.png").stat().st_size > 0 and (tmp_path / "f.pdf").stat().st_size > 0


def test_every_training_job_scores_the_shifted_sets_and_a_new_shift_reruns_only_after_the_questions(
    run_copy,
):
    # The shift changes the pre-training questions: a shorter pre-training keeps it quick.
    quick = {"epochs": 1}
    config = write_config(run_copy, "ood.yaml", dataset={"shift": DEFAULT}, pretrain=quick)

    def dry_run(configfile) -> set[str]:
        """The rules of the jobs a dry run would run (its job stats table)."""
        out = snakemake(run_copy, "-n", "--cores", "2", configfile=configfile).stdout
        table = out.split("Job stats:")[1].split("total")[0].splitlines()[3:]
        return {line.split()[0] for line in table if line.strip()}

    jobs = dry_run(config)
    assert {"prepare_questions", "build_tokenizer", "pretrain", "finetune_dense"} <= jobs
    assert "extract_features" not in jobs
    target = "results-test/seed0/dense/scores.json"
    snakemake(run_copy, "--cores", "2", target, configfile=config)
    scores = json.loads((run_copy / target).read_text())
    for name in ("pairs", "templates"):
        questions = json.loads((run_copy / f"results-test/data/shifted/{name}.json").read_text())
        assert scores[f"{name}:n_overall"] == len(questions) > 0
        assert 0 <= scores[f"{name}:overall"] <= 100
    check_study_digests("ood", run_copy / "results-test")
    moved = {**DEFAULT, "pairs": [["circle", "teal"]]}
    other = write_config(run_copy, "ood2.yaml", dataset={"shift": moved}, pretrain=quick)
    jobs = dry_run(other)
    assert "prepare_questions" in jobs and "extract_features" not in jobs


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"pairs": [[s, c] for s in shift.SHAPES for c in shift.COLOURS]},
         "holds all 24 .shape, colour. pairs of easy-VQA: .* none is left to train on"),
        ({"templates": list(shift.TEMPLATES)}, "holds all 24 templates of easy-VQA"),
        ({"pairs": [["circle", c] for c in shift.COLOURS]},
         "holds every pair with 'circle', which training then never sees"),
        ({"pairs": [[s, "red"] for s in shift.SHAPES]}, "every pair with 'red'"),
        ({"pairs": [["circle", "red"], ["circle", "red"]]}, "dataset.shift.pairs.*non-unique"),
        ({"templates": ["is no {shape} present?"] * 2}, "dataset.shift.templates.*non-unique"),
    ],
)  # fmt: skip
def test_a_shift_that_leaves_nothing_to_learn_or_repeats_itself_is_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        _validated({"shift": changes})
