"""Stages of ``rules/data_*.smk`` and ``rules/images.smk``: questions, answers, region
features and the index of image files, from easy-VQA (the embedded default) or from the
user's VQA v2 files. None of them imports torch."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np
from PIL import Image
from tqdm import tqdm

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.grid import SHIFTED_PREFIX
from lxmert_lth.core.io import write_json
from lxmert_lth.data import datasets, easyvqa, tasks, vqa_v2_ood
from lxmert_lth.data.bottom_up_attention import convert_tsvs
from lxmert_lth.data.features import FeatureStore, FeatureWriter
from lxmert_lth.data.images import Processing, coco_images, write_index
from lxmert_lth.data.questions import load_questions, subsample

log = logging.getLogger("lxmert_lth")


def prepare_questions(outputs: Mapping[str, str], dataset: Mapping) -> None:
    """easy-VQA -> train/val/test/pretrain files of the dataset's task (questions, or
    statements with the questions' pre-training split), the answers and, with
    ``dataset.shift``, the shifted sets."""
    prepared = datasets.get(dataset["name"]).prepare(dataset)
    write_splits(outputs, prepared.splits, prepared.answers, prepared.sets)


def prepare_vqa_v2(
    outputs: Mapping[str, str], dataset: Mapping, features: str | None = None
) -> None:
    """A dataset of the user's files (VQA v2's official or LXMERT files, VQA-CP v2, GQA,
    NLVR2) -> train/val/test files of its task's records, answers and (VQA v2,
    ``dataset.ood``) the shifted sets; with ``features``, every record's images checked
    for region features first."""
    source = datasets.get(dataset["name"])
    task = tasks.get(source.task)
    splits, answers = source.read_splits(dataset)
    limits, seed = dataset["max_questions"], dataset["split_seed"]
    splits = {name: subsample(records, limits[name], seed) for name, records in splits.items()}
    for name in ("train", "val"):
        task.check_labelled(splits[name], f"{name} split")
    if features is not None:
        refuse_unseen_images(splits, features, source.unseen_image_hint, task)
    sets = ood_sets(dataset.get("ood") or {}, splits, answers)
    write_splits(outputs, splits, {"answers": answers}, sets)


def refuse_unseen_images(
    splits: Mapping[str, list], features: str, hint: str = "", task=tasks.DEFAULT
) -> None:
    """Every record's images have region features, or one line naming the first that
    has none, with the dataset's ``hint`` (VQA-CP names each image's COCO split itself: a
    wrong one shows here)."""
    have = FeatureStore(features).row_of
    for name, records in splits.items():
        for r in records:
            missing = next((i for i in task.image_ids(r) if i not in have), None)
            if missing is not None:
                raise InputError(
                    f"{features}: no features for image {missing!r} of {task.noun} "
                    f"{r[task.id_key]} ({name} split){hint}: the bottom-up-attention TSVs "
                    f"(features.tsv) must cover every {task.noun}'s images"
                )


def ood_sets(ood: Mapping, splits: Mapping[str, list], answers: list) -> dict[str, list]:
    """VQA v2's shifted sets (``dataset.ood``), each on the minival questions (val)."""
    sets = {}
    for name in ("counterexamples", "easy"):
        if ood.get(name):
            sets[name] = vqa_v2_ood.vqace_subset(ood[name], splits["val"])
    if ood.get("rephrasings_questions"):
        sets["rephrasings"] = vqa_v2_ood.rephrasings(
            ood["rephrasings_questions"], ood["rephrasings_annotations"], splits["val"], answers
        )
    return sets


def write_splits(
    outputs: Mapping[str, str],
    splits: Mapping[str, list],
    answers: Mapping[str, list],
    sets: Mapping[str, list] | None = None,
) -> None:
    """The one writer of question files (``outputs[split]``, a shifted set's
    ``outputs[SHIFTED_PREFIX + name]``) and answer lists (``answers``, by output name)."""
    files = {**splits, **{SHIFTED_PREFIX + name: q for name, q in (sets or {}).items()}}
    for name, records in files.items():
        images = len({i for q in records for i in q.get("image_ids", [q.get("image_id")])})
        log.info("%s: %d records on %d images", name, len(records), images)
        write_json(outputs[name], records)
    for name, values in answers.items():
        write_json(outputs[name], {"answers": values})
        log.info("%s: %d answers", name, len(values))


def extract_features(out_h5: str, dtype: str) -> None:
    """Region features of every easy-VQA image (train and test) into one HDF5 file."""
    images = easyvqa.images()
    with FeatureWriter(
        out_h5,
        len(images),
        easyvqa.NUM_REGIONS,
        easyvqa.FEATURE_DIM,
        "easy-vqa shape featuriser v1",
        dtype,
    ) as writer:
        for image_id, path in tqdm(images.items(), desc="features", mininterval=2):
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("RGB"))
            feats, boxes = easyvqa.featurise_image(pixels)
            writer.add(image_id, feats, boxes, pixels.shape[0], pixels.shape[1])
    log.info(
        "%d images, %d regions x %d features", len(images), easyvqa.NUM_REGIONS, easyvqa.FEATURE_DIM
    )


def convert_features(tsvs: list[str], out_h5: str, dtype: str, num_boxes: int) -> None:
    """Bottom-up-attention TSVs -> one HDF5 feature file, streamed."""
    convert_tsvs(tsvs, out_h5, num_boxes, dtype)


def index_images(
    out_json: str,
    processing: Mapping,
    questions: list[str] | None = None,
    folder: str | None = None,
) -> None:
    """The index of image files a family that reads pixels reads (``lxmert_lth.data.images``):
    every easy-VQA image (``questions`` None), or the COCO files of the questions' images
    under ``folder``; a missing file stops the job naming it."""
    how = Processing(**processing)
    if questions is None:
        paths = easyvqa.images()
        root = os.path.commonpath(list(paths.values()))
        images = {i: os.path.relpath(p, root) for i, p in paths.items()}
        write_index(out_json, root, images, datasets.EASY_VQA.name, how)
    else:
        ids = sorted({str(q["image_id"]) for path in questions for q in load_questions(path)})
        write_index(out_json, folder, coco_images(ids), "coco", how)
        root, images = folder, ids
    log.info("%d images under %s, resized as %s", len(images), root, how)
