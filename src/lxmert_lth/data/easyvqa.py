"""easy-VQA, the embedded default's data: its questions and its region features.

easy-VQA (the PyPI package ``easy-vqa``) ships 5,000 64x64 images of one coloured shape and
48,248 questions about them with 13 answers. Its questions become the workflow's question
format (:mod:`lxmert_lth.data.questions`), with a validation split held out by image; its images
become region features in the HDF5 layout of :mod:`lxmert_lth.data.features`, made by a small
deterministic featuriser that stands in for the bottom-up-attention detector
(``docs/method.md``, "The embedded default").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image

from lxmert_lth.core.errors import InputError
from lxmert_lth.data import statements
from lxmert_lth.data.easyvqa_shift import apply_shift, image_pairs
from lxmert_lth.data.questions import hold_out_images, subsample

YES_NO = {"yes", "no"}


def _import_easy_vqa():
    try:
        import easy_vqa
    except ImportError:
        raise InputError(
            "the embedded default needs the 'easy-vqa' package: pip install easy-vqa==1.0"
        ) from None
    return easy_vqa


def image_id(split: str, index: int) -> str:
    return f"easyvqa_{split}_{index:06d}"


def _easy_vqa_records(split: str, qid_offset: int) -> list[dict]:
    ev = _import_easy_vqa()
    texts, answers, image_ids = (
        ev.get_train_questions() if split == "train" else ev.get_test_questions()
    )
    records = []
    for i, (text, answer, image) in enumerate(zip(texts, answers, image_ids, strict=True)):
        records.append(
            {
                "question_id": qid_offset + i,
                "image_id": image_id(split, image),
                "question": text,
                "answer_type": "yes/no" if answer in YES_NO else "other",
                # easy-VQA has one ground-truth answer; the evaluator's ten human answers
                # are that answer ten times, so its accuracy is 1 or 0.
                "answers": [answer] * 10,
                "label": {answer: 1.0},
            }
        )
    return records


def splits(
    val_fraction: float,
    split_seed: int,
    max_questions: Mapping[str, int | None],
    shift: Mapping | None = None,
) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """(train / val / pretrain / test question lists, shifted sets) from the easy-VQA
    package.

    ``val`` takes ``val_fraction`` of the training *images* (chosen by a seeded
    permutation, so by image and deterministically); ``train`` has the other training
    images. The package's test split is the reported evaluation split, never seen by
    pre-training or model selection. ``pretrain`` is drawn from the ``train`` images.
    Each split keeps at most ``max_questions[split]`` questions (None: all), drawn with
    the seed. With ``shift`` (``dataset.shift``), the held-out pairs and templates leave
    train, val and pretrain before any of this, test keeps the in-distribution questions,
    and the shifted sets (:mod:`lxmert_lth.data.easyvqa_shift`) are the rest of test.
    """
    train_all = _easy_vqa_records("train", 0)
    test = _easy_vqa_records("test", 10_000_000)
    sets: dict[str, list[dict]] = {}
    if shift is not None:
        train_all, test, sets = apply_shift(train_all, test, shift)
    train, val = hold_out_images(train_all, val_fraction, split_seed)
    cap = max_questions["test"]
    return {
        "train": subsample(train, max_questions["train"], split_seed),
        "val": subsample(val, max_questions["val"], split_seed),
        "test": subsample(test, cap, split_seed),
        "pretrain": subsample(train, max_questions["pretrain"], split_seed + 1),
    }, {name: subsample(records, cap, split_seed) for name, records in sets.items()}


def statement_splits(val_fraction: float, split_seed: int, per_image: int) -> dict[str, list[dict]]:
    """Statement verification on pairs of easy-VQA images (``data.statements``):
    ``per_image`` statements per image of each split, half true. The images split as
    the questions do (``splits``: validation images drawn from the training images by
    the same seed; test pairs only from the package's test images), so no pair holds
    images of two splits and neither task trains on the other's validation or test
    images. Each image's shape and colour are read from its own questions; an image
    whose questions name neither is left out."""
    train_all = _easy_vqa_records("train", 0)
    test = _easy_vqa_records("test", 10_000_000)
    train, val = hold_out_images(train_all, val_fraction, split_seed)
    out = {}
    for k, (name, records) in enumerate((("train", train), ("val", val), ("test", test))):
        attributes = image_pairs(records)
        count = per_image * len(attributes)
        prefix = f"easyvqa_{name}_statement_"
        out[name] = statements.generate(attributes, count, split_seed + k, prefix)
    return out


def images() -> dict[str, str]:
    """image_id -> PNG path for every easy-VQA image (train and test)."""
    ev = _import_easy_vqa()
    paths = {}
    for split, table in (
        ("train", ev.get_train_image_paths()),
        ("test", ev.get_test_image_paths()),
    ):
        for index, path in table.items():
            paths[image_id(split, index)] = path
    return dict(sorted(paths.items()))


# --- the embedded default's featuriser ----------------------------------------------
#
# easy-VQA images are 64x64 RGB: one flat-coloured shape (circle, rectangle or
# triangle) on a light, slightly tinted background. No detector weights can be fetched
# here, so this deterministic featuriser plays the role of the bottom-up-attention
# detector: it finds the object and describes it with what an object detector's
# pooled feature encodes, its colour and its shape, plus context regions.

NUM_REGIONS = 4  # the object, the whole image, the object's upper and lower halves
GRID = 5  # occupancy grid per region (GRID x GRID cells)
# Colour-name scores, the analogue of a detector's attribute head (bottom-up-attention
# features are trained to predict Visual Genome colour attributes): CSS colour values.
PALETTE = {
    "black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128),
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255), "brown": (165, 42, 42),
    "teal": (0, 128, 128), "orange": (255, 165, 0), "purple": (128, 0, 128),
    "pink": (255, 192, 203),
}  # fmt: skip
_PALETTE = np.asarray(list(PALETTE.values()), dtype=np.float32) / 255.0
_PALETTE_SIGMA = 0.12  # kernel width in normalised RGB units
# Shape-class scores, the analogue of a detector's class head: a flat shape's fill ratio
# (area / bounding-box area) is 1 for a rectangle, pi/4 for a circle and 1/2 for a triangle.
SHAPES = {"rectangle": 1.0, "circle": float(np.pi / 4), "triangle": 0.5}
_SHAPE_SIGMA = 0.06
# fg colour, colour-name scores, shape scores, bg colour, fg fraction, occupancy grid
FEATURE_DIM = 3 + len(PALETTE) + len(SHAPES) + 3 + 1 + GRID * GRID


def colour_scores(rgb: np.ndarray) -> np.ndarray:
    """Soft assignment of a normalised RGB colour to the palette's names (sums to 1)."""
    d2 = ((_PALETTE - rgb[None, :]) ** 2).sum(axis=1)
    logits = -d2 / (2 * _PALETTE_SIGMA**2)
    w = np.exp(logits - logits.max())
    return (w / w.sum()).astype(np.float32)


def shape_scores(fill_ratio: float) -> np.ndarray:
    """Soft assignment of a region's fill ratio to the shape classes (sums to 1)."""
    ref = np.asarray(list(SHAPES.values()), dtype=np.float32)
    logits = -((ref - fill_ratio) ** 2) / (2 * _SHAPE_SIGMA**2)
    w = np.exp(logits - logits.max())
    return (w / w.sum()).astype(np.float32)


def _foreground(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean foreground mask, the solid core of the shape, and the background colour."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.int32)
    colours, counts = np.unique(border, axis=0, return_counts=True)
    background = colours[counts.argmax()].astype(np.float32)
    distance = np.abs(image.astype(np.float32) - background).sum(axis=2)
    # Anti-aliased edges blend the shape into the background: pixels at least half-way to
    # the shape's colour count as the shape (so fill ratios match the geometry).
    half = 0.5 * distance.max() if distance.max() > 60.0 else 30.0
    return distance > half, distance > 120.0, background


def _region_feature(
    image: np.ndarray, fg: np.ndarray, core: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    x1, y1, x2, y2 = box
    pix, f, c = image[y1:y2, x1:x2].astype(np.float32) / 255.0, fg[y1:y2, x1:x2], core[y1:y2, x1:x2]
    solid = c if c.any() else f
    fg_colour = pix[solid].mean(axis=0) if solid.any() else np.zeros(3, np.float32)
    bg_colour = pix[~f].mean(axis=0) if (~f).any() else np.zeros(3, np.float32)
    # Occupancy grid: the fraction of foreground pixels in each cell (box-filter resize).
    grid = np.asarray(
        Image.fromarray(f.astype(np.float32)).resize((GRID, GRID), Image.Resampling.BOX)
    )
    found = solid.any()
    names = colour_scores(fg_colour) if found else np.zeros(len(PALETTE), np.float32)
    shapes = shape_scores(float(f.mean())) if found else np.zeros(len(SHAPES), np.float32)
    parts = [fg_colour, names, shapes, bg_colour, [f.mean()], grid.ravel()]
    return np.concatenate(parts).astype(np.float32)


def featurise_image(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features (R, D) and pixel boxes (R, 4) of one HxWx3 uint8 image."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    h, w = image.shape[:2]
    fg, core, _ = _foreground(image)
    if fg.any():
        ys, xs = np.nonzero(fg)
        obj = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    else:  # no object found: the object region is the whole image
        obj = (0, 0, w, h)
    mid = (obj[1] + obj[3] + 1) // 2
    boxes = [
        obj,
        (0, 0, w, h),
        (obj[0], obj[1], obj[2], max(mid, obj[1] + 1)),
        (obj[0], min(mid, obj[3] - 1), obj[2], obj[3]),
    ]
    feats = np.stack([_region_feature(image, fg, core, b) for b in boxes])
    return feats, np.asarray(boxes, dtype=np.float32)
