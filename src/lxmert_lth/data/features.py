"""Region features in one HDF5 file: its writer and its reader.

HDF5 layout (shared by every producer: the easy-VQA featuriser and the
bottom-up-attention TSV converter), one row per image, ``N`` images, ``R`` regions,
``D`` feature dimensions:

====================  ===============  ==============================================
dataset               shape, dtype     meaning
====================  ===============  ==============================================
``image_ids``         (N,) utf-8 str   image identifier (the question files' image_id)
``features``          (N, R, D) f4/f2  one feature vector per region
``boxes``             (N, R, 4) f4     x1, y1, x2, y2 normalised to [0, 1] by width/height
``num_boxes``         (N,) i4          regions actually present (<= R)
``image_h/image_w``   (N,) i4          image size in pixels
``objects_id``        (N, R) i8        detector class per region (-1: none)
``objects_conf``      (N, R) f4        detector confidence per region
``attrs_id/_conf``    (N, R) i8/f4     detector attribute per region (-1: none)
====================  ===============  ==============================================

File attributes: ``producer``, ``num_regions``, ``feature_dim``, ``layout_version``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence

import h5py
import numpy as np

from lxmert_lth.core.errors import InputError, Once
from lxmert_lth.core.io import atomic_path

LAYOUT_VERSION = 1

# --- the HDF5 store ---------------------------------------------------------------

HEADROOM = 1.05  # HDF5 metadata and chunk padding beside the raw bytes


def check_free_space(path, need_bytes: float) -> None:
    """Stop before writing ``path`` when its filesystem has less free space than the
    file will take."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < need_bytes * HEADROOM:
        raise InputError(
            f"{path}: needs about {need_bytes * HEADROOM / 2**20:,.0f} MiB, but only "
            f"{free / 2**20:,.0f} MiB are free there; free some space or point results: "
            "elsewhere"
        )


class FeatureWriter:
    """Writes the layout above image by image; the file appears only when closed cleanly.

    ``num_images`` may be None when the count is unknown (a streamed TSV): the datasets
    then grow as rows arrive. Feature chunks hold whole images (about 64 KiB or one
    image), so a training batch reads its images without decoding its neighbours.
    Images are written ``BLOCK`` at a time, one write per dataset: written one by one,
    ten small HDF5 writes per image took twice as long as featurising it.
    """

    GROW = 1024  # rows added at a time when the count is unknown
    BLOCK = 256  # images buffered before they are written (VQA v2: ~75 MB of features)

    def __init__(
        self,
        path,
        num_images: int | None,
        num_regions: int,
        feature_dim: int,
        producer: str,
        dtype: str = "float32",
    ):
        if num_images is not None:
            # h5py can crash (SIGSEGV) on a full disk instead of raising: check first.
            row = num_regions * (feature_dim * np.dtype(dtype).itemsize + 4 * 4 + 2 * (8 + 4))
            check_free_space(path, num_images * row)
        self._atomic = atomic_path(path)
        tmp = self._atomic.__enter__()
        self.path = path
        self.file = h5py.File(tmp, "w")
        n, r, d = num_images, num_regions, feature_dim
        self.capacity = n if n is not None else 0
        f = self.file
        f.attrs.update(
            producer=producer, num_regions=r, feature_dim=d, layout_version=LAYOUT_VERSION
        )
        per_image = r * d * np.dtype(dtype).itemsize
        rows_per_chunk = max(1, 65536 // per_image)

        def dataset(name, shape, dtype, chunk_rows=256):
            f.create_dataset(
                name,
                (self.capacity, *shape),
                dtype=dtype,
                maxshape=(None, *shape),
                chunks=(chunk_rows, *shape),
            )

        dataset("image_ids", (), h5py.string_dtype())
        dataset("features", (r, d), dtype, rows_per_chunk)
        dataset("boxes", (r, 4), "f4")
        dataset("num_boxes", (), "i4")
        dataset("image_h", (), "i4")
        dataset("image_w", (), "i4")
        dataset("objects_id", (r,), "i8")
        dataset("objects_conf", (r,), "f4")
        dataset("attrs_id", (r,), "i8")
        dataset("attrs_conf", (r,), "f4")
        self.num_images, self.num_regions, self.feature_dim, self.row = n, r, d, 0
        self.dtype = np.dtype(dtype)
        self.written = 0  # rows in the file; self.row - self.written wait in self.pending
        self.pending: dict[str, list] = {name: [] for name in f}

    def _grow(self, rows: int) -> None:
        if self.num_images is not None:
            raise InputError(f"{self.path}: more than the announced {self.num_images} images")
        while self.capacity < rows:
            self.capacity += self.GROW
        for name in self.file:
            self.file[name].resize(self.capacity, axis=0)

    def _flush(self) -> None:
        k = self.row - self.written
        if k == 0:
            return
        if self.row > self.capacity:
            self._grow(self.row)
        for name, values in self.pending.items():
            dset = self.file[name]
            # In the values' own type: HDF5 converts to the stored one, as it did row by row.
            strings = dset.dtype.kind == "O"
            block = np.array(values, dtype=object) if strings else np.stack(values)
            dset[self.written : self.row] = block
            values.clear()
        self.written = self.row

    def add(
        self,
        image_id: str,
        features: np.ndarray,
        boxes_px: np.ndarray,
        height: int,
        width: int,
        objects_id=None,
        objects_conf=None,
        attrs_id=None,
        attrs_conf=None,
    ) -> None:
        """Append one image; ``boxes_px`` are x1, y1, x2, y2 in pixels."""
        n = len(features)
        if n != self.num_regions or boxes_px.shape != (n, 4):
            raise InputError(
                f"image {image_id!r}: {n} feature rows and boxes of shape {boxes_px.shape}, "
                f"expected {self.num_regions} regions"
            )
        if features.shape[1:] != (self.feature_dim,):
            raise InputError(
                f"image {image_id!r}: features of shape {features.shape}, "
                f"expected ({n}, {self.feature_dim})"
            )
        self._check_range(image_id, features)
        scale = np.array([width, height, width, height], dtype=np.float32)
        boxes = boxes_px.astype(np.float32) / scale
        if (boxes < -1e-6).any() or (boxes > 1 + 1e-6).any():
            raise InputError(f"image {image_id!r}: a box lies outside the {width}x{height} image")
        if self.num_images is not None and self.row == self.num_images:
            raise InputError(f"{self.path}: more than the announced {self.num_images} images")
        r = self.num_regions
        row = {
            "image_ids": str(image_id),
            "features": features,
            "boxes": np.clip(boxes, 0.0, 1.0),
            "num_boxes": n,
            "image_h": height,
            "image_w": width,
            "objects_id": np.full(r, -1) if objects_id is None else objects_id,
            "objects_conf": np.zeros(r) if objects_conf is None else objects_conf,
            "attrs_id": np.full(r, -1) if attrs_id is None else attrs_id,
            "attrs_conf": np.zeros(r) if attrs_conf is None else attrs_conf,
        }
        for name, value in row.items():
            self.pending[name].append(value)
        self.row += 1
        if self.row - self.written == self.BLOCK:
            self._flush()

    def _check_range(self, image_id: str, features: np.ndarray) -> None:
        """Stop at a value the storage type cannot hold, rather than store inf or NaN."""
        if not np.isfinite(features).all():
            raise InputError(f"image {image_id!r}: its features hold NaN or infinity")
        limit = float(np.finfo(self.dtype).max)
        peak = float(np.abs(features).max()) if features.size else 0.0
        if peak > limit:
            raise InputError(
                f"image {image_id!r}: a feature value of magnitude {peak:.4g} is beyond "
                f"the range of {self.dtype} (±{limit:.4g}); store float32 (features.dtype)"
            )

    def close(self, ok: bool = True) -> None:
        err = None
        if ok:
            try:
                self._flush()
            except Exception:
                self.close(ok=False)
                raise
        if ok and self.num_images is not None and self.row != self.num_images:
            ok = False
            err = InputError(f"{self.path}: wrote {self.row} of {self.num_images} images")
        if ok and self.capacity != self.row:
            for name in self.file:
                self.file[name].resize(self.row, axis=0)
        self.file.close()
        if ok:
            self._atomic.__exit__(None, None, None)
        else:
            self._atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)
        if err:
            raise err

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(ok=exc_type is None)


class ByImageId:
    """A store's images by id: ``row_of`` (image id -> row) and ``path`` set by the store;
    ``missing`` says, after an image id, what the store lacks."""

    row_of: dict[str, int]
    path: str
    missing = "is not in it"

    def __len__(self) -> int:
        return len(self.row_of)

    def __contains__(self, image_id: str) -> bool:
        return image_id in self.row_of

    def rows(self, image_ids: Iterable[str]) -> np.ndarray:
        try:
            return np.asarray([self.row_of[str(i)] for i in image_ids], dtype=np.int64)
        except KeyError as err:
            raise InputError(f"{self.path}: image {err.args[0]!r} {self.missing}") from None


class FeatureStore(ByImageId):
    """Read access to a feature file by image id.

    The h5py handle is opened lazily in the process that first reads, so a store can be
    handed to several data-loader workers without sharing one handle across a fork.
    """

    REQUIRED = ("image_ids", "features", "boxes", "num_boxes")
    missing = "has no features"

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._file = None
        self._pid = None
        try:
            with h5py.File(self.path, "r") as f:
                missing = [k for k in self.REQUIRED if k not in f]
                if missing:
                    raise InputError(f"{self.path}: feature file has no dataset {missing[0]!r}")
                ids = f["image_ids"].asstr()[:]
                self.num_regions, self.feature_dim = f["features"].shape[1:]
        except (OSError, KeyError) as err:
            raise InputError(f"{self.path}: not a readable HDF5 feature file ({err})") from None
        once = Once(f"{self.path} ('image_ids')", "image id")
        for i, image_id in enumerate(ids):
            once.add(image_id, f"row {i}")
        self.row_of = {image_id: i for i, image_id in enumerate(ids)}

    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def read(self, image_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, R, D) as float32 and boxes (n, R, 4) of the given images."""
        return self.read_rows(self.rows(image_ids))

    def read_rows(self, rows: np.ndarray, as_stored: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, R, D) and boxes (n, R, 4) of the given file rows; the features as
        float32, or in their stored type (``as_stored``: float16 travels to the device at
        half the bytes and is cast there)."""
        rows = np.asarray(rows, dtype=np.int64)
        unique, inverse = np.unique(rows, return_inverse=True)
        f = self._handle()
        features, boxes = f["features"], f["boxes"]
        if len(unique) and len(unique) > (unique[-1] - unique[0] + 1) // 2:
            # Dense selection (a whole split into memory): one contiguous read.
            lo, hi = int(unique[0]), int(unique[-1]) + 1
            feats = features[lo:hi][unique - lo]
            box = boxes[lo:hi][unique - lo]
        else:
            # A batch: one read per image straight into the output. h5py's point
            # selection (features[unique]) costs 4 ms per image at 36 x 2048; reading each
            # image's chunk directly costs about 0.15 ms (bench/bench_loader.py).
            feats = np.empty((len(unique), *features.shape[1:]), dtype=features.dtype)
            box = np.empty((len(unique), *boxes.shape[1:]), dtype=boxes.dtype)
            for i, row in enumerate(unique.tolist()):
                features.read_direct(feats, np.s_[row], np.s_[i])
                boxes.read_direct(box, np.s_[row], np.s_[i])
        if not as_stored:
            feats = feats.astype(np.float32, copy=False)
        return feats[inverse], box[inverse]

    # --- what lxmert_lth.data.loaders reads: the same for every store ------------------

    def load(self, image_ids: Sequence[str]) -> dict:
        """The images' features and boxes in memory (float32)."""
        import torch

        feats, boxes = self.read(image_ids)
        return {"visual_feats": torch.from_numpy(feats), "visual_pos": torch.from_numpy(boxes)}

    @staticmethod
    def gather(memory: Mapping, rows) -> dict:
        """A batch of images held in memory."""
        return {key: value[rows] for key, value in memory.items()}

    def batch(self, rows) -> dict:
        """A batch read from the file (a loader worker's); features in their stored type."""
        import torch

        feats, boxes = self.read_rows(rows, as_stored=True)
        return {"visual_feats": torch.from_numpy(feats), "visual_pos": torch.from_numpy(boxes)}

    @staticmethod
    def num_images(memory: Mapping) -> int:
        return len(memory["visual_feats"])
