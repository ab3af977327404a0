"""The region featuriser, the HDF5 layout and the feature store."""

import h5py
import numpy as np
import pytest

from lxmert_lth.core.errors import InputError
from lxmert_lth.data.easyvqa import (
    FEATURE_DIM,
    NUM_REGIONS,
    PALETTE,
    SHAPES,
    colour_scores,
    featurise_image,
)
from lxmert_lth.data.features import FeatureStore, FeatureWriter


def draw(shape: str, colour=(255, 0, 0), size=64) -> np.ndarray:
    img = np.full((size, size, 3), (245, 240, 235), dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    if shape == "rectangle":
        inside = (xx >= 10) & (xx < 40) & (yy >= 20) & (yy < 44)
    elif shape == "circle":
        inside = (xx - 32) ** 2 + (yy - 30) ** 2 < 15**2
    else:  # triangle with its apex at the top
        inside = (yy >= 10) & (yy < 50) & (np.abs(xx - 32) <= (yy - 10) / 2)
    img[inside] = colour
    return img


def shape_part(feats):
    start = 3 + len(PALETTE)
    return feats[0, start : start + len(SHAPES)]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_featuriser_recognises_shape_and_box(shape):
    feats, boxes = featurise_image(draw(shape))
    assert feats.shape == (NUM_REGIONS, FEATURE_DIM) and boxes.shape == (NUM_REGIONS, 4)
    assert list(SHAPES)[shape_part(feats).argmax()] == shape
    assert boxes[1].tolist() == [0, 0, 64, 64]  # the whole image
    if shape == "rectangle":
        assert boxes[0].tolist() == [10, 20, 40, 44]


@pytest.mark.parametrize("name", ["red", "blue", "teal", "brown", "gray", "yellow"])
def test_colour_scores_name_the_colour(name):
    rgb = np.asarray(PALETTE[name], dtype=np.float32) / 255
    assert list(PALETTE)[colour_scores(rgb).argmax()] == name
    feats, _ = featurise_image(draw("circle", PALETTE[name]))
    assert list(PALETTE)[feats[0, 3 : 3 + len(PALETTE)].argmax()] == name


def test_featuriser_is_deterministic():
    a = featurise_image(draw("triangle"))
    b = featurise_image(draw("triangle"))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def write_store(path, n=3, dtype="float32"):
    with FeatureWriter(path, n, NUM_REGIONS, FEATURE_DIM, "test", dtype) as w:
        for i in range(n):
            f, b = featurise_image(draw(list(SHAPES)[i % 3]))
            w.add(f"img{i}", f + i, b, 64, 64)


def test_store_round_trip_layout(tmp_path):
    path = tmp_path / "f.h5"
    write_store(path)
    with h5py.File(path) as f:
        assert f["features"].shape == (3, NUM_REGIONS, FEATURE_DIM)
        assert f["boxes"][:].min() >= 0 and f["boxes"][:].max() <= 1
        assert f["num_boxes"][:].tolist() == [NUM_REGIONS] * 3
        assert f["image_h"][0] == 64 and f["objects_id"][0, 0] == -1
        assert f.attrs["num_regions"] == NUM_REGIONS
    store = FeatureStore(path)
    feats, boxes = store.read(["img2", "img0", "img2"])
    expected, b = featurise_image(draw("triangle"))
    np.testing.assert_allclose(feats[0], expected + 2, rtol=1e-6)
    np.testing.assert_allclose(feats[0], feats[2])
    np.testing.assert_allclose(boxes[0], b / 64)


@pytest.mark.parametrize("announced", [True, False])
def test_blocks_and_growth_keep_every_row(tmp_path, monkeypatch, announced):
    """Images are written a block at a time and, when their count is unknown (a
    streamed TSV), the datasets grow as they come: rows across block and growth
    boundaries, and the last partial block, all land where they belong, in the layout
    written one by one."""
    monkeypatch.setattr(FeatureWriter, "BLOCK", 3)
    monkeypatch.setattr(FeatureWriter, "GROW", 4)
    n, rng = 11, np.random.default_rng(0)
    feats = rng.normal(size=(n, NUM_REGIONS, FEATURE_DIM)).astype(np.float32)
    conf = rng.random((n, NUM_REGIONS)).astype(np.float32)
    path = tmp_path / "f.h5"
    _, boxes = featurise_image(draw("circle"))
    with FeatureWriter(path, n if announced else None, NUM_REGIONS, FEATURE_DIM, "t") as w:
        for i in range(n):
            w.add(f"img{i}", feats[i], boxes, 64, 64 + i, objects_conf=conf[i])
    with h5py.File(path) as f:
        assert f["image_ids"].asstr()[:].tolist() == [f"img{i}" for i in range(n)]
        assert np.array_equal(f["features"][:], feats)
        assert np.array_equal(f["objects_conf"][:], conf)
        assert f["image_w"][:].tolist() == [64 + i for i in range(n)]
        assert (f["objects_id"][:] == -1).all() and (f["attrs_conf"][:] == 0).all()
        assert f["num_boxes"][:].tolist() == [NUM_REGIONS] * n


def test_float16_storage(tmp_path):
    path = tmp_path / "f.h5"
    write_store(path, dtype="float16")
    with h5py.File(path) as f:
        assert f["features"].dtype == np.float16
    feats, _ = FeatureStore(path).read(["img1"])
    assert feats.dtype == np.float32


def test_unknown_image_is_named(tmp_path):
    path = tmp_path / "f.h5"
    write_store(path)
    with pytest.raises(InputError, match="'nope' has no features"):
        FeatureStore(path).read(["nope"])


def test_box_outside_image_stops_and_leaves_no_file(tmp_path):
    path = tmp_path / "f.h5"
    f, b = featurise_image(draw("circle"))
    with pytest.raises(InputError, match="outside"):
        with FeatureWriter(path, 1, NUM_REGIONS, FEATURE_DIM, "test") as w:
            w.add("x", f, b * 2, 64, 64)
    assert not path.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("announced", "added", "message"),
    [(2, 1, "wrote 1 of 2"), (1, 2, "more than the announced 1 images")],
)
def test_another_image_count_than_announced_leaves_no_file(tmp_path, announced, added, message):
    path = tmp_path / "f.h5"
    f, b = featurise_image(draw("circle"))
    with pytest.raises(InputError, match=message):
        with FeatureWriter(path, announced, NUM_REGIONS, FEATURE_DIM, "test") as w:
            for i in range(added):
                w.add(f"x{i}", f, b, 64, 64)
    assert not list(tmp_path.iterdir())


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="bad.h5"):
        FeatureStore(path)


def test_a_value_beyond_float16_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "f.h5"
    f, b = featurise_image(draw("circle"))
    f[1, 2] = 70000.0  # float16 holds at most 65504
    with pytest.raises(InputError, match="image 'img0': a feature value of magnitude 7e\\+04"):
        with FeatureWriter(path, 1, NUM_REGIONS, FEATURE_DIM, "test", "float16") as w:
            w.add("img0", f, b, 64, 64)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_named_before_anything_is_written(tmp_path, monkeypatch):
    """h5py can crash with SIGSEGV on a full disk: the writer checks the free space
    first, names the file and what it needs, and leaves nothing behind."""
    import shutil as _shutil
    from collections import namedtuple

    from lxmert_lth.core.errors import InputError
    from lxmert_lth.data.bottom_up_attention import convert_tsvs
    from lxmert_lth.data.features import FeatureWriter

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_shutil, "disk_usage", lambda path: usage(3 << 20, 3 << 20, 1 << 20))
    out = tmp_path / "regions.h5"
    with pytest.raises(InputError, match=f"{out}: needs about .* MiB, but only 1 MiB"):
        FeatureWriter(out, 1000, 36, 2048, "test", dtype="float16")
    tsv = tmp_path / "big.tsv"
    tsv.write_bytes(b"x" * (4 << 20))
    with pytest.raises(InputError, match="only 1 MiB are free"):
        convert_tsvs([tsv], out, 36, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tsv"]
