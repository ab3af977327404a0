"""Writers of small files in the exact formats a paper-configuration user brings:
official VQA v2 JSONs, LXMERT's JSONs, bottom-up-attention TSVs, and a pretrained LXMERT
as a ``save_pretrained`` directory and as the original code's ``model_LXRT.pth``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from transformers import LxmertForPreTraining

from lxmert_lth.data.bottom_up_attention import Row, encode_row
from lxmert_lth.data.tokenization import load_tokenizer, save_wordpiece_tokenizer
from lxmert_lth.models.modeling import small_config

COLOURS = ["red", "blue", "green", "yellow"]
NUM_BOXES = 36
FEATURE_DIM = 2048
TRAIN_IMAGES = [9, 25, 30, 34, 36, 49]  # COCO-style integer ids
VAL_IMAGES = [42, 73, 74, 133, 136, 139]
TEST_IMAGES = [1, 8, 16, 19]
MINIVAL_IMAGES = 3


def _colour(image_id: int) -> str:
    return COLOURS[image_id % len(COLOURS)]


def _questions(image_ids, qid_base):
    texts = ["What color is the ball?", "Is the ball red?", "How many balls are there?"]
    return [
        {"image_id": image, "question": text, "question_id": qid_base + 10 * i + j}
        for i, image in enumerate(image_ids)
        for j, text in enumerate(texts)
    ]


def _annotation(q: dict) -> dict:
    colour = _colour(q["image_id"])
    if q["question"].startswith("What"):
        answers, kind = [colour] * 7 + ["dark " + colour] * 2 + ["orange"], "other"
    elif q["question"].startswith("Is"):
        yes = "yes" if colour == "red" else "no"
        answers, kind = [yes] * 9 + ["Yes." if yes == "yes" else "nope"], "yes/no"
    else:
        answers, kind = ["1"] * 4 + ["one"] * 3 + ["2"] * 3, "number"
    mc = answers[0]
    return {
        "question_id": q["question_id"],
        "image_id": q["image_id"],
        "question_type": q["question"].split()[0].lower(),
        "answer_type": kind,
        "multiple_choice_answer": mc,
        "answers": [
            {"answer": a, "answer_confidence": "yes", "answer_id": j + 1}
            for j, a in enumerate(answers)
        ],
    }


def write_official(folder: Path) -> dict[str, str]:
    """The five official JSON files; returns the configuration's ``dataset.official``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = {"description": "fixture", "version": "2.0"}
    splits = {
        "train2014": _questions(TRAIN_IMAGES, 1000),
        "val2014": _questions(VAL_IMAGES, 2000),
        "test2015": _questions(TEST_IMAGES, 3000),
    }
    paths = {}
    for subtype, questions in splits.items():
        name = folder / f"v2_OpenEnded_mscoco_{subtype}_questions.json"
        doc = {"info": info, "task_type": "Open-Ended", "data_type": "mscoco",
               "license": {}, "data_subtype": subtype, "questions": questions}  # fmt: skip
        name.write_text(json.dumps(doc))
        key = subtype[:-4].replace("2015", "")
        paths[f"{key}_questions"] = str(name)
        if subtype != "test2015":
            ann = folder / f"v2_mscoco_{subtype}_annotations.json"
            doc = {"info": info, "license": {}, "data_subtype": subtype,
                   "annotations": [_annotation(q) for q in questions]}  # fmt: skip
            ann.write_text(json.dumps(doc))
            paths[f"{key}_annotations"] = str(ann)
    return paths


def write_vqacp(folder: Path) -> dict[str, str]:
    """VQA-CP v2's four JSON files (top-level lists; each record with its ``coco_split``):
    the fixture's train2014 and val2014 questions re-split, the yes/no and number questions
    of the train2014 images and the colour questions of the val2014 images in train, the
    rest in test; returns the configuration's ``dataset.vqacp``."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = [(q, "train2014") for q in _questions(TRAIN_IMAGES, 1000)]
    pool += [(q, "val2014") for q in _questions(VAL_IMAGES, 2000)]
    parts = {"train": [], "test": []}
    for q, split in pool:
        colour = q["question"].startswith("What")
        parts["train" if colour == (split == "val2014") else "test"].append((q, split))
    paths = {}
    for name, questions in parts.items():
        qs = [{**q, "coco_split": split} for q, split in questions]
        anns = [{**_annotation(q), "coco_split": split} for q, split in questions]
        for kind, doc in (("questions", qs), ("annotations", anns)):
            path = folder / f"vqacp_v2_{name}_{kind}.json"
            path.write_text(json.dumps(doc))
            paths[f"{name}_{kind}"] = str(path)
    return paths


def write_ood(folder: Path) -> dict[str, str]:
    """VQA-CE's two id lists (JSON lists of val question ids, minival's and nominival's
    mixed) and VQA-Rephrasings' questions and annotations (VQA v2's objects: every val
    question and three rephrasings of each, naming it by ``rephrasing_of``); returns the
    configuration's ``dataset.ood``."""
    folder.mkdir(parents=True, exist_ok=True)
    val = _questions(VAL_IMAGES, 2000)  # minival: the first MINIVAL_IMAGES images' questions
    paths = {}
    # Two minival questions and one of nominival (2030) in each list.
    for name, ids in (("counterexamples", [2000, 2011, 2030]), ("easy", [2001, 2040, 2010])):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(ids))
        paths[name] = str(path)
    questions, annotations = [], []
    for q in val:
        questions.append(q)
        annotations.append(_annotation(q))
        for k, text in enumerate(("Which colour is the ball?", "The ball's colour?",
                                  "Tell me the ball's colour.")):  # fmt: skip
            rephrased = {**q, "question": text if q["question"].startswith("What") else
                         q["question"].lower(), "question_id": 900000 + 10 * q["question_id"] + k,
                         "rephrasing_of": q["question_id"]}  # fmt: skip
            questions.append(rephrased)
            annotations.append({**_annotation(q), "question_id": rephrased["question_id"]})
    for kind, name, doc in (
        ("questions", "v2_OpenEnded_mscoco_valrep2014_humans_og_questions.json",
         {"data_subtype": "valrep2014", "questions": questions}),
        ("annotations", "v2_mscoco_valrep2014_humans_og_annotations.json",
         {"data_subtype": "valrep2014", "annotations": annotations}),
    ):  # fmt: skip
        path = folder / name
        path.write_text(json.dumps(doc))
        paths[f"rephrasings_{kind}"] = str(path)
    return paths


def write_lxmert(folder: Path) -> dict[str, str]:
    """LXMERT's preprocessed JSONs; returns the configuration's ``dataset.lxmert``."""
    folder.mkdir(parents=True, exist_ok=True)
    label2ans = ["", "blue", "green", "no", "red", "yellow", "yes", "1", "2"]
    val = _questions(VAL_IMAGES, 2000)
    parts = {
        "train": _questions(TRAIN_IMAGES, 1000),
        "nominival": [q for q in val if q["image_id"] not in VAL_IMAGES[:MINIVAL_IMAGES]],
        "minival": [q for q in val if q["image_id"] in VAL_IMAGES[:MINIVAL_IMAGES]],
        "test": _questions(TEST_IMAGES, 3000),
    }
    paths = {}
    for name, questions in parts.items():
        subtype = {"train": "train2014", "test": "test2015"}.get(name, "val2014")
        records = []
        for q in questions:
            r = {"question_id": q["question_id"], "img_id": f"COCO_{subtype}_{q['image_id']:012d}",
                 "sent": q["question"]}  # fmt: skip
            if name != "test":
                a = _annotation(q)
                label = {a["multiple_choice_answer"]: 1.0}
                if a["answer_type"] == "other":
                    label = {_colour(q["image_id"]): 1.0}
                r.update(label=label, answer_type=a["answer_type"])
                r["question_type"] = a["question_type"]
            records.append(r)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(records))
        paths[name] = str(path)
    (folder / "trainval_label2ans.json").write_text(json.dumps(label2ans))
    ans2label = {a: i for i, a in enumerate(label2ans)}
    (folder / "trainval_ans2label.json").write_text(json.dumps(ans2label))
    paths["label2ans"] = str(folder / "trainval_label2ans.json")
    paths["ans2label"] = str(folder / "trainval_ans2label.json")
    return paths


def fixture_row(img_id: str, seed: int, feature_dim: int = FEATURE_DIM) -> Row:
    """One image's detector output: boxes inside the image, informative features."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(300, 640)), int(rng.integers(300, 640))
    x1 = rng.uniform(0, w / 2, NUM_BOXES)
    y1 = rng.uniform(0, h / 2, NUM_BOXES)
    boxes = np.stack([x1, y1, x1 + rng.uniform(1, w / 2, NUM_BOXES),
                      y1 + rng.uniform(1, h / 2, NUM_BOXES)], axis=1)  # fmt: skip
    return Row(
        img_id=img_id,
        img_h=h,
        img_w=w,
        objects_id=rng.integers(0, 1600, NUM_BOXES),
        objects_conf=rng.uniform(0, 1, NUM_BOXES).astype(np.float32),
        attrs_id=rng.integers(0, 400, NUM_BOXES),
        attrs_conf=rng.uniform(0, 1, NUM_BOXES).astype(np.float32),
        boxes=boxes.astype(np.float32),
        features=rng.uniform(0, 4, (NUM_BOXES, feature_dim)).astype(np.float32),
    )


def write_tsvs(folder: Path) -> dict[str, list[Row]]:
    """train2014/val2014/test2015 ``*_obj36.tsv``; returns path -> the rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for subtype, images in (("train2014", TRAIN_IMAGES), ("val2014", VAL_IMAGES),
                            ("test2015", TEST_IMAGES)):  # fmt: skip
        rows = [fixture_row(f"COCO_{subtype}_{i:012d}", seed=i) for i in images]
        path = folder / f"{subtype}_obj36.tsv"
        path.write_bytes(b"".join(encode_row(r) for r in rows))
        written[str(path)] = rows
    return written


PRETRAINED_ANSWERS = ["yes", "no", "red", "blue", "2", "purple"]


def write_pretrained(folder: Path, seed: int = 0) -> dict[str, str]:
    """A small pretrained LXMERT with its tokenizer, saved both ways; returns paths."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = [q["question"] for q in _questions(TRAIN_IMAGES + VAL_IMAGES, 0)] * 5
    texts += ["ball balls color colour red blue green yellow many how is what the"] * 5
    tok_dir = folder / "tokenizer"
    save_wordpiece_tokenizer(texts, tok_dir, vocab_size=120)
    tokenizer = load_tokenizer(tok_dir)
    arch = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
            "l_layers": 1, "x_layers": 1, "r_layers": 1, "max_position_embeddings": 32,
            "dropout": 0.0}  # fmt: skip
    config = small_config(len(tokenizer), FEATURE_DIM, len(PRETRAINED_ANSWERS), arch)
    torch.manual_seed(seed)
    model = LxmertForPreTraining(config)
    with torch.no_grad():  # a recognisable, non-default answer head
        model.answer_head.logit_fc[3].weight.copy_(
            torch.arange(len(PRETRAINED_ANSWERS), dtype=torch.float32)[:, None].expand(-1, 64)
        )
    hf = folder / "lxmert-small"
    model.save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    # The original code's file: the same tensors, "bert." for "lxmert.", no metadata.
    state = {("bert." + k[len("lxmert.") :] if k.startswith("lxmert.") else k): v
             for k, v in model.state_dict().items()}  # fmt: skip
    pth = folder / "model_LXRT.pth"
    torch.save(state, pth)
    answers = folder / "all_ans.json"
    answers.write_text(json.dumps([{"ans": a, "count": 10} for a in PRETRAINED_ANSWERS]))
    return {"dir": str(hf), "pth": str(pth), "tokenizer": str(tok_dir), "answers": str(answers),
            "config": str(hf)}  # fmt: skip
