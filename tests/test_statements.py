"""Statement verification on pairs of easy-VQA images (data.statements, the second task of
issue 42): every label checked against the images' attributes by a reading of the
sentence written here, apart from the generator's templates; splits by image; balance;
the same statements from the same seed; the format's refusals."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from conftest import ROOT
from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.data import easyvqa, statements
from lxmert_lth.data.datasets import EASY_VQA, EASY_VQA_STATEMENTS
from lxmert_lth.data.easyvqa_shift import image_pairs
from lxmert_lth.data.questions import hold_out_images
from lxmert_lth.workflow.plan import SCHEMA, load_config


@pytest.fixture(scope="module")
def splits():
    return easyvqa.statement_splits(0.1, 0, 2)


def truth(sentence: str, left: tuple, right: tuple) -> bool:
    """What the sentence says of (shape, colour) pairs, read from its words."""
    one = re.fullmatch(r"the (left|right) (?:image shows a (\w+)|shape is (\w+))\.", sentence)
    if one:
        image = left if one[1] == "left" else right
        return image[0] == one[2] if one[2] else image[1] == one[3]
    both = re.fullmatch(r"(both|exactly one) (?:images? shows? a (\w+)|shapes? (?:is|are) (\w+))\.",
                        sentence)  # fmt: skip
    if both:
        says = [(a[0] == both[2]) if both[2] else (a[1] == both[3]) for a in (left, right)]
        return all(says) if both[1] == "both" else says[0] != says[1]
    same = re.fullmatch(r"the two (?:images show the same shape|shapes are the same (color))\.",
                        sentence)  # fmt: skip
    assert same, sentence
    return left[1] == right[1] if same[1] else left[0] == right[0]


def test_every_label_is_what_the_images_show(splits):
    records = easyvqa._easy_vqa_records("train", 0) + easyvqa._easy_vqa_records("test", 10**7)
    attributes = image_pairs(records)
    for split in splits.values():
        for s in split:
            left, right = (attributes[i] for i in s["image_ids"])
            assert s["image_ids"][0] != s["image_ids"][1]
            assert truth(s["sentence"], left, right) == bool(s["label"]), s


def test_the_splits_follow_the_questions_images_and_share_none(splits):
    train, val = hold_out_images(easyvqa._easy_vqa_records("train", 0), 0.1, 0)
    images = {
        name: {i for s in records for i in s["image_ids"]} for name, records in splits.items()
    }
    assert images["train"] <= {q["image_id"] for q in train}
    assert images["val"] <= {q["image_id"] for q in val}
    assert all(i.startswith("easyvqa_test_") for i in images["test"])
    assert not (images["train"] & images["val"] or images["train"] & images["test"])
    ids = [s["statement_id"] for records in splits.values() for s in records]
    assert len(set(ids)) == len(ids)


def test_each_template_is_half_true(splits):
    for records in splits.values():
        forms = Counter()
        for s in records:
            form = next(t.text for t in statements.TEMPLATES if _matches(t, s["sentence"]))
            forms[form, s["label"]] += 1
        for t in statements.TEMPLATES:
            assert abs(forms[t.text, 1] - forms[t.text, 0]) <= 1, t.text


def _matches(template, sentence: str) -> bool:
    return any(template.sentence(v) == sentence for v in template.values())


def test_the_same_seed_gives_the_same_statements():
    images = {f"i{k}": (shape, colour) for k, (shape, colour) in
              enumerate([("circle", "red"), ("circle", "blue"), ("triangle", "red"),
                         ("rectangle", "teal"), ("triangle", "teal")])}  # fmt: skip
    first = statements.generate(images, 40, 7, "s")
    assert first == statements.generate(images, 40, 7, "s")
    assert first != statements.generate(images, 40, 8, "s")
    assert Counter(s["label"] for s in first) == {0: 20, 1: 20}


def test_a_label_no_pair_can_have_is_refused_by_its_template():
    same = {"a": ("circle", "red"), "b": ("circle", "red")}
    with pytest.raises(InputError, match="no pair of the 2 images makes .*true"):
        statements.generate(same, 20, 0, "s")
    with pytest.raises(InputError, match="two images or more"):
        statements.generate({"a": ("circle", "red")}, 2, 0, "s")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"label": 2}, "'label' must be 0 or 1"),
        ({"label": True}, "'label' must be an integer"),
        ({"statement_id": 1}, "'statement_id' must be a string"),
        ({}, "statement_id 's' is given twice: record 0 and record 1"),
        ({"image_ids": ["a"]}, "'image_ids' must be two image ids"),
        ({"sentence": None}, "'sentence' must be a string"),
    ],
)
def test_a_record_out_of_format_is_refused_naming_file_and_record(change, message):
    record = {"statement_id": "s", "image_ids": ["a", "b"], "sentence": "x.", "label": 1}
    statements.check_records([record], "f.json")
    with pytest.raises(InputError, match=f"f.json: (record 1: )?{re.escape(message)}"):
        statements.check_records([record, {**record, **change}], "f.json")


def test_the_statements_pretrain_on_exactly_the_questions_of_easy_vqa():
    """Both tasks start from the same pretrained model: the statements' preparation
    writes the questions' own pre-training and validation splits and answers."""
    section = {"val_fraction": 0.1, "split_seed": 0, "min_answer_count": 1, "shift": None,
               "statements_per_image": 1,
               "max_questions": {"train": 300, "val": 50, "test": 80, "pretrain": 400}}  # fmt: skip
    questions, made = EASY_VQA.prepare(section), EASY_VQA_STATEMENTS.prepare(section)
    assert made.splits["pretrain"] == questions.splits["pretrain"]
    assert made.splits["pretrain_val"] == questions.splits["val"]
    assert made.answers == {"answers": ["false", "true"],
                            "pretrain_answers": questions.answers["answers"]}  # fmt: skip
    assert [len(made.splits[s]) for s in ("train", "val", "test")] == [300, 50, 80]
    assert "statement_id" in made.splits["train"][0]


def test_the_verification_overlay_is_valid_and_a_copied_answer_head_is_refused(tmp_path):
    files = [ROOT / "config.yaml", ROOT / "configs" / "verification.yaml"]
    assert load_config(files, SCHEMA)["dataset"]["name"] == "easy_vqa_statements"
    copied = tmp_path / "copied.yaml"  # the default copies its pretrained answer head
    copied.write_text("theta0: {answer_head: copy_pretrained}\n")
    with pytest.raises(ConfigError, match="copy_pretrained .* set answer_head: random"):
        load_config([*files, copied], SCHEMA)
