"""Bottom-up-attention feature TSVs -> the workflow's HDF5 layout (``docs/method.md``,
"Data formats").

One TSV row per image, no header, tab-separated fields in this order::

    img_id, img_h, img_w, objects_id, objects_conf, attrs_id, attrs_conf,
    num_boxes, boxes, features

Array fields are base64 of raw little-endian bytes: ``objects_id``/``attrs_id`` int64
(n), ``objects_conf``/``attrs_conf`` float32 (n), ``boxes`` float32 (n, 4) as x1, y1, x2,
y2 in pixels, ``features`` float32 (n, D) with D = 2048 and n = 36 in LXMERT's files.

The converter streams: it holds one row at a time, whatever the file size (the original
code decodes whole files into RAM, 23 GiB for train2014 alone).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from lxmert_lth.core.errors import InputError, Once
from lxmert_lth.data.features import FeatureWriter, check_free_space

log = logging.getLogger("lxmert_lth")

FIELDS = (
    "img_id",
    "img_h",
    "img_w",
    "objects_id",
    "objects_conf",
    "attrs_id",
    "attrs_conf",
    "num_boxes",
    "boxes",
    "features",
)
# Boxes may overhang the image by a rounding error of the detector.
BOX_TOLERANCE_PX = 1.0


@dataclass
class Row:
    img_id: str
    img_h: int
    img_w: int
    objects_id: np.ndarray
    objects_conf: np.ndarray
    attrs_id: np.ndarray
    attrs_conf: np.ndarray
    boxes: np.ndarray  # (n, 4) pixels
    features: np.ndarray  # (n, D)
    where: str = ""  # file:line


def encode_row(row: Row) -> bytes:
    """One TSV line (with its newline) in the real format."""

    def b64(array, dtype):
        return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes())

    fields = [
        row.img_id.encode(),
        str(row.img_h).encode(),
        str(row.img_w).encode(),
        b64(row.objects_id, "<i8"),
        b64(row.objects_conf, "<f4"),
        b64(row.attrs_id, "<i8"),
        b64(row.attrs_conf, "<f4"),
        str(len(row.boxes)).encode(),
        b64(row.boxes, "<f4"),
        b64(row.features, "<f4"),
    ]
    return b"\t".join(fields) + b"\n"


def _array(field: bytes, dtype: str, shape: tuple, name: str, where: str) -> np.ndarray:
    """Decode a base64 field; a wrong byte count (a row cut short) names the field."""
    try:
        raw = base64.b64decode(field, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: field {name!r} is not valid base64") from None
    itemsize = np.dtype(dtype).itemsize
    expected = int(np.prod(shape)) * itemsize if all(s >= 0 for s in shape) else None
    if expected is not None and len(raw) != expected:
        raise InputError(
            f"{where}: field {name!r} has {len(raw)} bytes, expected {expected} for shape {shape}"
        )
    if len(raw) % (itemsize * shape[0]):
        raise InputError(
            f"{where}: field {name!r} has {len(raw)} bytes, not {shape[0]} whole rows of "
            f"{dtype} (a row cut short?)"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _int(field: bytes, name: str, where: str) -> int:
    try:
        value = int(field)
    except ValueError:
        raise InputError(f"{where}: field {name!r} is {field[:20]!r}, not an integer") from None
    if value <= 0:
        raise InputError(f"{where}: field {name!r} is {value}, expected a positive integer")
    return value


def parse_row(line: bytes, where: str, num_boxes: int | None = None) -> Row:
    """Decode and check one TSV line; ``where`` names the file and line in errors."""
    fields = line.rstrip(b"\r\n").split(b"\t")
    if len(fields) != len(FIELDS):
        raise InputError(
            f"{where}: {len(fields)} tab-separated fields, expected {len(FIELDS)} "
            f"({', '.join(FIELDS)}): a truncated or malformed row"
        )
    img_id = fields[0].decode(errors="replace")
    line_at, where = where, f"{where} (img_id {img_id})"
    h, w = _int(fields[1], "img_h", where), _int(fields[2], "img_w", where)
    n = _int(fields[7], "num_boxes", where)
    if num_boxes is not None and n != num_boxes:
        raise InputError(f"{where}: num_boxes is {n}, expected {num_boxes}")
    boxes = _array(fields[8], "<f4", (n, 4), "boxes", where)
    features = _array(fields[9], "<f4", (n, -1), "features", where)
    if features.shape[1] == 0:
        raise InputError(f"{where}: field 'features' is empty")
    if not np.isfinite(features).all() or not np.isfinite(boxes).all():
        raise InputError(f"{where}: features or boxes hold NaN or infinite values")
    tol = BOX_TOLERANCE_PX
    inside = (
        (boxes[:, 0] >= -tol)
        & (boxes[:, 1] >= -tol)
        & (boxes[:, 2] <= w + tol)
        & (boxes[:, 3] <= h + tol)
        & (boxes[:, 0] <= boxes[:, 2])
        & (boxes[:, 1] <= boxes[:, 3])
    )
    if not inside.all():
        k = int(np.argmin(inside))
        raise InputError(
            f"{where}: box {k} {boxes[k].tolist()} lies outside the {w}x{h} image "
            "(or has x2 < x1 or y2 < y1)"
        )
    return Row(
        img_id=img_id,
        img_h=h,
        img_w=w,
        objects_id=_array(fields[3], "<i8", (n,), "objects_id", where),
        objects_conf=_array(fields[4], "<f4", (n,), "objects_conf", where),
        attrs_id=_array(fields[5], "<i8", (n,), "attrs_id", where),
        attrs_conf=_array(fields[6], "<f4", (n,), "attrs_conf", where),
        boxes=np.clip(boxes, 0, [w, h, w, h]).astype(np.float32),
        features=features,
        where=line_at,
    )


def iter_tsv(path: str | os.PathLike, num_boxes: int | None = None) -> Iterator[Row]:
    """Rows of one TSV, read line by line."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below; a generator)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    with f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            yield parse_row(line, f"{path}:{lineno}", num_boxes)


def _write_row(writer: FeatureWriter, row, path) -> None:
    """One image's row into the feature file; a bad one named with its TSV."""
    try:
        writer.add(row.img_id, row.features, row.boxes, row.img_h, row.img_w, row.objects_id,
                   row.objects_conf, row.attrs_id, row.attrs_conf)  # fmt: skip
    except InputError as err:
        raise InputError(f"{path}: {err}") from None


def convert_tsvs(
    paths: Sequence[str | os.PathLike],
    out_h5: str | os.PathLike,
    num_boxes: int,
    dtype: str = "float32",
    progress: bool = True,
) -> int:
    """Stream the TSVs into one HDF5 feature file; returns the number of images.

    Memory stays flat: one decoded row at a time, written straight into a growing
    dataset. A duplicate image id, or any bad row, stops the conversion and leaves no file.
    """
    files = Once("bottom-up-attention TSVs", "file")
    for i, path in enumerate(paths):
        files.add(os.path.realpath(path), f"position {i}")
    writer = None
    seen = Once("bottom-up-attention TSVs", "image id")
    total_bytes = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
    # The features are base64 float32 in the TSVs: 3/4 of their text as raw bytes, then
    # stored as ``dtype`` (float16: half of that).
    check_free_space(out_h5, total_bytes * 3 / 4 * np.dtype(dtype).itemsize / 4)
    bar = tqdm(total=total_bytes, unit="B", unit_scale=True, disable=not progress, mininterval=5)
    try:
        for path in paths:
            done_before, images_before = bar.n, len(seen.first)
            for row in iter_tsv(path, num_boxes):
                if writer is None:  # the features' width is the first row's
                    source = f"bottom-up-attention TSV: {', '.join(map(str, paths))}"
                    dim = row.features.shape[1]
                    writer = FeatureWriter(out_h5, None, num_boxes, dim, source, dtype)
                seen.add(row.img_id, row.where)
                _write_row(writer, row, path)
                bar.update(row.features.nbytes * 4 // 3)
            bar.update(max(0, done_before + os.path.getsize(path) - bar.n))
            if len(seen.first) == images_before:
                raise InputError(
                    f"{path}: no rows: every TSV of features.tsv must hold images (the "
                    "questions of its split would find no features)"
                )
        if writer is None:
            raise InputError(f"{paths[0] if paths else 'features.tsv'}: no rows in the TSVs")
    except BaseException:
        if writer is not None:
            writer.close(ok=False)
        raise
    finally:
        bar.close()
    writer.close()
    log.info("%d images from %d TSV files", len(seen.first), len(paths))
    return len(seen.first)
