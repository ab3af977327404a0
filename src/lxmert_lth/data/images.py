"""Images for the families that read pixels (ViLT): an index of image files, and its
reader, which decodes, resizes and normalises them as ViLT's image processor does.

The index (``features/images.json``, written by rule ``index_images``) names every image
of the study by id, relative to one folder, with how its images are processed:

====================  ==========================================================
key                   meaning
====================  ==========================================================
``layout_version``    2
``producer``          ``easy_vqa`` (the package's PNG files) or ``coco`` (a folder
                      of COCO's train2014/, val2014/ and test2015/ JPEG files)
``root``              the folder the paths are relative to
``processing``        ``shortest_edge`` and ``size_divisor`` of the resize
``images``            image_id -> path under ``root``, sorted by image_id
``sizes``             image_id -> [height, width] after resizing (from each file's
                      header: memory requests and the plan know a split's pixels)
====================  ==========================================================

An image is processed as ``transformers``' ``ViltImageProcessorPil`` processes it (its PIL
backend, the original ViLT's own transform: ``MinMaxResize`` with PIL's bicubic filter,
the longer side at most 1333/800 of the shorter, both sides rounded down to
``size_divisor``; scaled to [0, 1] and normalised with mean and standard deviation 0.5),
one image at a time, after PIL has decoded it to RGB. A batch is padded to its largest image, with a
``pixel_mask`` of the real pixels, as the processor pads a batch; a split held in memory
is padded to its largest image once and cropped to each batch's largest, so both modes
give the same batches.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import write_json
from lxmert_lth.data.features import ByImageId, FeatureStore

LAYOUT_VERSION = 2  # 2: each image's size after resizing
CHANNELS = 3


MAX_SHORTER, MAX_LONGER = 800, 1333  # ViLT's aspect limit, from COCO's usual image sizes


@dataclass(frozen=True)
class Processing:
    """ViLT's resize: the shorter side to ``shortest_edge``, the longer at most
    int(1333 / 800 x shortest_edge), both rounded down to a multiple of ``size_divisor``.

    The same numbers as ``transformers``' ``ViltImageProcessorPil`` (tests/test_images.py
    compares them bit for bit), computed directly: the processor's per-call checks and
    conversions cost about 12 ms an image against 0.1 ms for decoding a 64 x 64 PNG, which
    for easy-VQA's 5,000 images in every training job was most of the job."""

    shortest_edge: int = 384
    size_divisor: int = 32

    def size(self, width: int, height: int) -> tuple[int, int]:
        """(height, width) after resizing: scaled so that the shorter side is
        ``shortest_edge``, then down so that the longer is at most the limit, each rounded
        half up, then down to a multiple of ``size_divisor``."""
        shorter, limit = self.shortest_edge, int(MAX_LONGER / MAX_SHORTER * self.shortest_edge)
        scale = shorter / min(width, height)
        h, w = (shorter, scale * width) if height < width else (scale * height, shorter)
        if max(h, w) > limit:
            h, w = h * limit / max(h, w), w * limit / max(h, w)
        d = self.size_divisor
        return int(h + 0.5) // d * d, int(w + 0.5) // d * d

    def __call__(self, path: str) -> np.ndarray:
        """The image at ``path`` as ViLT reads it: (3, h, w) float32, PIL's bicubic resize,
        scaled by 1/255 (in float64, as the processor does) and normalised with mean and
        standard deviation 0.5."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except FileNotFoundError:
            raise InputError(f"{path}: image file not found") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise InputError(f"{path}: not a readable image ({err})") from None
        height, width = self.size(rgb.width, rgb.height)
        if min(height, width) == 0:
            raise InputError(
                f"{path}: {rgb.width} x {rgb.height} pixels leave a side under "
                f"{self.size_divisor} after resizing"
            )
        resized = np.asarray(rgb.resize((width, height), resample=Image.BICUBIC))
        scaled = (resized.astype(np.float64) * (1 / 255)).astype(np.float32)
        half = np.float32(0.5)
        return np.ascontiguousarray(((scaled - half) / half).transpose(2, 0, 1))


def pad(images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """A batch: ``pixel_values`` (B, 3, H, W) zero-padded at the bottom and right to the
    largest image, and ``pixel_mask`` (B, H, W) int64, 1 on each image's own pixels."""
    height = max(im.shape[1] for im in images)
    width = max(im.shape[2] for im in images)
    values = np.zeros((len(images), CHANNELS, height, width), dtype=np.float32)
    mask = np.zeros((len(images), height, width), dtype=np.int64)
    for i, im in enumerate(images):
        values[i, :, : im.shape[1], : im.shape[2]] = im
        mask[i, : im.shape[1], : im.shape[2]] = 1
    return {"pixel_values": values, "pixel_mask": mask}


# --- the index ----------------------------------------------------------------------------


def write_index(
    path, root, images: Mapping[str, str], producer: str, processing: Processing
) -> None:
    """Write an index of ``images`` (image_id -> path under ``root``); every file must
    exist and have a readable header (PIL reads no pixels to give the size)."""
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    sizes = {}
    for image_id, rel in tqdm(sorted(images.items()), desc="images", mininterval=2):
        file = root / rel
        if not file.is_file():
            raise InputError(f"{file}: image file of image {image_id!r} not found")
        try:
            with Image.open(file) as image:
                sizes[image_id] = list(processing.size(*image.size))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise InputError(f"{file}: not a readable image ({err})") from None
    write_json(
        path,
        {
            "layout_version": LAYOUT_VERSION,
            "producer": producer,
            "root": str(root.resolve()),
            "processing": asdict(processing),
            "images": dict(sorted(images.items())),
            "sizes": sizes,
        },
    )


def coco_images(image_ids: Iterable[str]) -> dict[str, str]:
    """COCO's file of each image id (``COCO_val2014_000000000042`` is
    ``val2014/COCO_val2014_000000000042.jpg``)."""
    paths = {}
    for image_id in image_ids:
        parts = str(image_id).split("_")
        if len(parts) != 3 or parts[0] != "COCO":
            raise InputError(f"image id {image_id!r} is not a COCO image id (COCO_<split>_<id>)")
        paths[str(image_id)] = f"{parts[1]}/{image_id}.jpg"
    return paths


class ImageStore(ByImageId):
    """The images of an index by id, read as ViLT reads them (:class:`Processing`).

    Holds only the index: images are decoded when read, in the process that reads them
    (the data loader's workers for a split read per batch), so memory stays flat in the
    number of images. The same reading interface as ``features.FeatureStore``.
    """

    missing = "is not in the index"

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        try:
            index = json.loads(Path(self.path).read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{self.path}: not a readable image index ({err})") from None
        if index.get("layout_version") != LAYOUT_VERSION:
            raise InputError(
                f"{self.path}: image index layout {index.get('layout_version')}, this "
                f"version reads {LAYOUT_VERSION}: rerun rule index_images"
            )
        for key in ("root", "processing", "images", "sizes"):
            if key not in index:
                raise InputError(f"{self.path}: image index has no key {key!r}")
        self.root = Path(index["root"])
        self.processing = Processing(**index["processing"])
        self.ids = list(index["images"])
        self.files = [str(self.root / p) for p in index["images"].values()]
        self.sizes = np.asarray([index["sizes"][i] for i in self.ids], dtype=np.int64)
        self.row_of = {image_id: i for i, image_id in enumerate(self.ids)}
        self.feature_dim = CHANNELS

    def memory_bytes(self) -> int:
        """The bytes of every image held in memory: float32, padded to the largest."""
        if not len(self):
            return 0
        height, width = self.sizes.max(0).tolist()
        return len(self) * CHANNELS * height * width * 4

    def _read(self, rows) -> list[np.ndarray]:
        return [self.processing(self.files[r]) for r in np.asarray(rows).tolist()]

    # --- what lxmert_lth.data.loaders reads: the same for every store ------------------

    def load(self, image_ids: Sequence[str]) -> dict:
        """The images in memory: padded to the largest once, with each image's size."""
        import torch

        images = self._read(self.rows(image_ids))
        sizes = np.asarray([im.shape[1:] for im in images], dtype=np.int64)
        return {
            "pixel_values": torch.from_numpy(pad(images)["pixel_values"]),
            "image_size": torch.from_numpy(sizes.reshape(-1, 2)),
        }

    @staticmethod
    def gather(memory: Mapping, rows) -> dict:
        """A batch of images held in memory: cropped to the batch's largest image."""
        import torch

        size = memory["image_size"][rows]
        height, width = (int(v) for v in size.max(0).values.tolist())
        values = memory["pixel_values"][rows][:, :, :height, :width]
        ys = torch.arange(height, device=size.device)
        xs = torch.arange(width, device=size.device)
        mask = (ys[None, :, None] < size[:, 0, None, None]) & (
            xs[None, None, :] < size[:, 1, None, None]
        )
        return {"pixel_values": values, "pixel_mask": mask.long()}

    def batch(self, rows) -> dict:
        """A batch read from the files (a loader worker's)."""
        import torch

        return {k: torch.from_numpy(v) for k, v in pad(self._read(rows)).items()}

    @staticmethod
    def num_images(memory: Mapping) -> int:
        return len(memory["image_size"])


def open_store(path: str | os.PathLike):
    """The store of a visual input file: region features (HDF5) or an image index."""
    if str(path).endswith(".json"):
        return ImageStore(path)

    return FeatureStore(path)


def memory_bytes(path: str | os.PathLike) -> int:
    """What a visual input file takes in a training job's memory when held there: the
    region features' file (as stored), or the pixels of an image index's images."""
    if str(path).endswith(".json"):
        return ImageStore(path).memory_bytes()
    return os.path.getsize(path)
