"""Images for the families that read pixels: ViLT's processing, the index, and batches
that are the same in memory and read by loader workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.models.vilt.image_processing_pil_vilt import ViltImageProcessorPil

from lxmert_lth.core.errors import InputError
from lxmert_lth.data.augment import Augment
from lxmert_lth.data.images import ImageStore, Processing, coco_images, pad, write_index
from lxmert_lth.data.loaders import batches, encode_split

# (width, height) of COCO-like images: landscape, portrait, square, very wide.
SIZES = [(640, 480), (480, 640), (500, 500), (1000, 200), (333, 517)]


def write_images(folder, sizes=SIZES, fmt="JPEG") -> dict[str, str]:
    rng = np.random.default_rng(0)
    (folder / "val2014").mkdir(parents=True)
    paths = {}
    for i, (w, h) in enumerate(sizes):
        image_id = f"COCO_val2014_{i:012d}"
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "val2014" / f"{image_id}.jpg", fmt)
        paths[image_id] = f"val2014/{image_id}.jpg"
    return paths


@pytest.fixture
def store(tmp_path):
    paths = write_images(tmp_path / "coco")
    write_index(tmp_path / "images.json", tmp_path / "coco", paths, "coco", Processing(96, 32))
    return ImageStore(tmp_path / "images.json")


def test_resize_follows_vilts_min_max_rule():
    """The original ViLT's MinMaxResize (shorter side to 384, longer at most
    int(1333 / 800 x 384) = 639, rounded half up, then down to 32), by hand, and as
    transformers' processor sizes the same images."""
    processing = Processing(384, 32)
    reference = ViltImageProcessorPil(size={"shortest_edge": 384}, size_divisor=32)
    expected = {
        (640, 480): (384, 512),  # h, w
        (480, 640): (512, 384),
        (500, 500): (384, 384),
        (1000, 200): (128, 608),  # 384 x 1920 -> 127.8 x 639 -> 128 x 639 -> 128 x 608
        (333, 517): (576, 384),  # 384 x 596.2 -> 596 -> 576
    }
    for (w, h), size in expected.items():
        assert processing.size(w, h) == size, (w, h)
        image = Image.new("RGB", (w, h), (200, 30, 90))
        assert reference(image, return_tensors="np")["pixel_values"].shape[2:] == size


@pytest.mark.parametrize("edge, divisor", [(384, 32), (96, 32), (64, 16)])
def test_pixels_are_the_processors_bit_for_bit(tmp_path, edge, divisor):
    """Every pixel equals ViltImageProcessorPil's, on COCO-sized JPEG files and PNGs."""
    paths = write_images(tmp_path)
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        tmp_path / "small.png"
    )
    files = [tmp_path / p for p in paths.values()] + [tmp_path / "small.png"]
    reference = ViltImageProcessorPil(
        size={"shortest_edge": edge}, size_divisor=divisor, do_pad=False
    )
    processing = Processing(edge, divisor)
    for path in files:
        if min(processing.size(*Image.open(path).size)) == 0:
            continue  # too thin at this size (refused: the next test)
        expected = reference(Image.open(path).convert("RGB"), return_tensors="np")
        got = processing(str(path))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected["pixel_values"][0], err_msg=str(path))


def test_a_batch_is_the_processors_padded_batch(tmp_path):
    """Padding per batch, one image at a time, equals ViltImageProcessorPil's own batch
    (its default: pad to the largest, pixel_mask of the real pixels)."""
    paths = write_images(tmp_path)
    images = [Image.open(tmp_path / p).convert("RGB") for p in paths.values()]
    reference = ViltImageProcessorPil(size={"shortest_edge": 96}, size_divisor=32)(
        images, return_tensors="np"
    )
    got = pad([Processing(96, 32)(str(tmp_path / p)) for p in paths.values()])
    np.testing.assert_array_equal(got["pixel_values"], reference["pixel_values"])
    np.testing.assert_array_equal(got["pixel_mask"], reference["pixel_mask"])
    # Normalised with mean and std 0.5: values in [-1, 1].
    assert got["pixel_values"].min() >= -1.0 and got["pixel_values"].max() <= 1.0


def test_an_image_too_thin_for_the_resize_is_named(tmp_path):
    Image.new("RGB", (1000, 200)).save(tmp_path / "wide.png")
    with pytest.raises(InputError, match=r"wide\.png: 1000 x 200 pixels leave a side under 32"):
        Processing(64, 32)(str(tmp_path / "wide.png"))


def test_grey_and_png_images_are_read_as_rgb(tmp_path):
    Image.new("L", (40, 70), 128).save(tmp_path / "grey.png")
    pixels = Processing(32, 8)(str(tmp_path / "grey.png"))
    assert pixels.shape == (3, 48, 24)  # 32 x 56, capped at 53: 30 x 53, down to 8
    np.testing.assert_array_equal(pixels, np.broadcast_to(pixels[0], pixels.shape))  # grey


@pytest.mark.parametrize("workers", [0, 2])
def test_lazy_batches_equal_in_memory_batches(store, workers):
    """Batches cropped from the split held in memory equal batches decoded per batch by
    the loader's workers: the same tensors in the same order."""
    ids = list(store.ids)
    questions = [
        {"question_id": q, "image_id": ids[q % len(ids)], "question": "what shape is it",
         "label": {"circle": 1.0}}
        for q in range(13)
    ]  # fmt: skip

    class Tok:  # the tokenizer's output is not what this test is about
        def __call__(self, texts, **kw):
            n = len(texts)
            ones = torch.ones(n, 4, dtype=torch.long)
            return {"input_ids": ones, "attention_mask": ones, "token_type_ids": 0 * ones}

    memory = encode_split(questions, Tok(), ["circle"], store, 8)
    lazy = encode_split(questions, Tok(), ["circle"], store, 8, in_memory=False,
                        loader_workers=workers)  # fmt: skip
    assert lazy.visual is None  # nothing decoded up front: memory flat in the images
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    pairs = list(zip(batches(memory, 4, g1), batches(lazy, 4, g2), strict=True))
    assert len(pairs) == 4
    shapes = set()
    for a, b in pairs:
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
        shapes.add(tuple(a["pixel_values"].shape[2:]))
        # The mask's rows and columns of each image are its own size.
        for values, mask in zip(a["pixel_values"], a["pixel_mask"], strict=True):
            assert (values[:, mask == 0] == 0).all()
    assert len(shapes) > 1  # batches are padded to their own largest image


def test_the_index_knows_each_images_size_and_the_splits_memory(store):
    """Sizes from the files' headers equal the decoded images'; memory_bytes is what
    load() holds."""
    for row, path in enumerate(store.files):
        assert tuple(store.sizes[row]) == store.processing(path).shape[1:], path
    held = store.load(store.ids)["pixel_values"]
    assert store.memory_bytes() == held.numel() * held.element_size()


def test_index_refuses_a_missing_image(tmp_path):
    paths = write_images(tmp_path / "coco")
    paths["COCO_val2014_000000000099"] = "val2014/COCO_val2014_000000000099.jpg"
    with pytest.raises(InputError, match=r"COCO_val2014_000000000099\.jpg: image file of image"):
        write_index(tmp_path / "images.json", tmp_path / "coco", paths, "coco", Processing())
    assert not (tmp_path / "images.json").exists()


def test_a_corrupt_image_stops_the_job_naming_it(store, tmp_path):
    bad = store.files[2]
    with open(bad, "wb") as f:
        f.write(b"not a jpeg")
    with pytest.raises(InputError, match=rf"{bad}: not a readable image"):
        store.batch(np.array([0, 2]))
    questions = [{"question_id": 0, "image_id": store.ids[2], "question": "q", "label": {}}]

    class Tok:
        def __call__(self, texts, **kw):
            ones = torch.ones(len(texts), 2, dtype=torch.long)
            return {"input_ids": ones, "attention_mask": ones, "token_type_ids": ones}

    # Read by a loader worker: the same one line, not torch's "Caught InputError in
    # DataLoader worker process 0" with the worker's traceback.
    lazy = encode_split(questions, Tok(), ["a"], store, 4, in_memory=False, loader_workers=1)
    with pytest.raises(InputError) as err:
        next(iter(batches(lazy, 1)))
    assert str(err.value).startswith(f"{bad}: not a readable image") and "\n" not in str(err.value)


def test_an_image_outside_the_index_is_named(store):
    questions = [{"question_id": 7, "image_id": "COCO_val2014_000000000123", "question": "q",
                  "label": {}}]  # fmt: skip
    with pytest.raises(InputError, match=r"image 'COCO_val2014_000000000123' of question 7"):
        encode_split(questions, lambda *a, **k: None, ["a"], store, 4)


def test_coco_file_names():
    assert coco_images(["COCO_test2015_000000000001"]) == {
        "COCO_test2015_000000000001": "test2015/COCO_test2015_000000000001.jpg"
    }
    with pytest.raises(InputError, match="not a COCO image id"):
        coco_images(["easyvqa_train_000001"])


def test_an_index_of_another_layout_is_refused(tmp_path):
    (tmp_path / "images.json").write_text('{"layout_version": 9, "root": ".", '
                                          '"processing": {}, "images": {}}')  # fmt: skip
    with pytest.raises(InputError, match="layout 9.*rerun rule index_images"):
        ImageStore(tmp_path / "images.json")


def _moved(image: np.ndarray, dy: int, dx: int, flip: bool) -> np.ndarray:
    """``image`` (3, h, w) moved by (dy, dx), its edge pixels filling in, then mirrored."""
    h, w = image.shape[1:]
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    moved = image[:, ys][:, :, xs]
    return moved[:, :, ::-1] if flip else moved


def test_augmentation_shifts_and_mirrors_each_image_within_its_own_pixels():
    """Every image comes out as one of its shifts (edge pixels fill in), mirrored or not;
    the padding of a batch's smaller images stays as it was; the draws differ between
    images, and the same generator seed gives the same batch."""
    rng = np.random.default_rng(0)
    images = [rng.standard_normal((3, h, w)).astype(np.float32) for h, w in [(8, 12)] * 7]
    images.append(rng.standard_normal((3, 5, 6)).astype(np.float32))
    batch = {k: torch.from_numpy(v) for k, v in pad(images).items()}
    augment = Augment(shift=2, flip=True)
    out = augment(batch, torch.Generator().manual_seed(3))
    again = augment(batch, torch.Generator().manual_seed(3))
    assert torch.equal(out["pixel_values"], again["pixel_values"])
    assert out["pixel_mask"] is batch["pixel_mask"]
    seen = set()
    for i, image in enumerate(images):
        h, w = image.shape[1:]
        got = out["pixel_values"][i].numpy()
        assert not got[:, h:].any() and not got[:, :, w:].any()  # padding untouched
        moves = [
            (dy, dx, flip)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            for flip in (False, True)
            if np.array_equal(got[:, :h, :w], _moved(image, dy, dx, flip))
        ]
        assert len(moves) == 1, (i, moves)
        seen.add(moves[0])
    assert len(seen) >= 5
    assert any(flip for _, _, flip in seen) and not all(flip for _, _, flip in seen)


def test_augmentation_is_off_unless_asked_for():
    assert Augment.from_dict(None) is None
    assert Augment.from_dict({"shift": 0, "flip": False}) is None
    assert Augment.from_dict({"shift": 4}) == Augment(shift=4, flip=False)
    images = {k: torch.from_numpy(v) for k, v in pad([np.ones((3, 4, 4), np.float32)]).items()}
    mirrored = Augment(flip=True)(images, torch.Generator().manual_seed(0))
    assert torch.equal(mirrored["pixel_values"], images["pixel_values"])  # symmetric image


class Tok:
    """A tokenizer of four word pieces a question, for the pre-training tests."""

    cls_token_id, sep_token_id, mask_token_id = 1, 2, 3

    def __len__(self):
        return 40

    def __call__(self, texts, **kw):
        ids = torch.full((len(texts), 4), 5, dtype=torch.long)
        return {"input_ids": ids, "attention_mask": ids > 0, "token_type_ids": 0 * ids}


def pretraining_split(tmp_path, answer_types=("other",)):
    """Sixteen questions about four 16 x 16 images (question q about image q % 4)."""
    paths = write_images(tmp_path / "coco", sizes=[(16, 16)] * 4)
    write_index(tmp_path / "images.json", tmp_path / "coco", paths, "coco", Processing(16, 8))
    store = ImageStore(tmp_path / "images.json")
    ids = list(store.ids)
    questions = [{"question_id": q, "image_id": ids[q % 4], "question": "what shape",
                  "answer_type": answer_types[q % len(answer_types)],
                  "label": {"abcd"[q % 4]: 1.0}} for q in range(16)]  # fmt: skip
    return store, questions, encode_split(questions, Tok(), list("abcde"), store, 8)


RECIPE = dict(epochs=1, batch_size=8, lr=1e-3, warmup_ratio=0.0, weight_decay=0.0,
              clip_norm=1.0, eval_batch_size=8, bias_correction=True)  # fmt: skip


def test_the_pretraining_reads_augmented_images_only_when_asked(tmp_path):
    """What ViLT's pre-training sees: each batch's images as gathered, or, with
    ``pretrain.augment``, shifted and mirrored (other pixels, the same steps)."""
    from lxmert_lth.training.loop import TrainConfig
    from lxmert_lth.training.pretraining import pretrain
    from tiny_models import small_model

    store, _, split = pretraining_split(tmp_path)

    def seen(augment):
        model, pixels = small_model("vilt"), []
        model.register_forward_pre_hook(
            lambda _, args, kwargs: pixels.append(kwargs["pixel_values"].clone()),
            with_kwargs=True,
        )
        pretrain(model, split, Tok(), TrainConfig(**RECIPE), 0, 0.15, 0.0, 0.0, 0.0,
                 progress=False, augment=augment)  # fmt: skip
        return pixels

    plain, moved = seen(None), seen(Augment(shift=3, flip=True))
    assert len(plain) == len(moved) == 2
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(16, generator=gen)[:8]
    first = store.gather(split.visual, split.image_rows[order])["pixel_values"]
    assert torch.equal(plain[0], first)
    assert not torch.equal(moved[0], first)


def test_image_tags_are_the_answers_of_each_images_open_questions(tmp_path):
    """Per image: the best soft score of each answer of its questions that are not yes/no;
    an image asked only yes/no questions has no tag."""
    from lxmert_lth.data.loaders import image_tags

    _, questions, split = pretraining_split(tmp_path, ("other", "yes/no", "other", "yes/no"))
    questions[0]["label"] = {"a": 0.3, "e": 0.6}  # image 0's open questions: 0, 4, 8, 12
    questions[4]["label"] = {"e": 0.9}
    split = encode_split(questions, Tok(), list("abcde"), split.store, 8)
    tags = image_tags(questions, split, 5)
    rows = {split.image_rows[q].item(): q % 4 for q in range(4)}
    expected = {0: [1.0, 0, 0, 0, 0.9], 1: [0] * 5, 2: [0, 0, 1.0, 0, 0], 3: [0] * 5}
    for row, image in rows.items():
        assert tags[row].tolist() == pytest.approx(expected[image])


def test_image_tagging_shows_each_batchs_images_with_an_empty_question(tmp_path):
    """With ``tag_weight``, every step runs the model twice: on the batch's questions, and
    on the same images with [CLS] [SEP] alone; without it, once."""
    from lxmert_lth.data.loaders import image_tags
    from lxmert_lth.training.loop import TrainConfig
    from lxmert_lth.training.pretraining import pretrain
    from tiny_models import small_model

    _, questions, split = pretraining_split(tmp_path)

    def seen(tag_weight):
        model, calls = small_model("vilt"), []
        model.register_forward_pre_hook(
            lambda _, args, kw: calls.append((kw["input_ids"].clone(), kw["pixel_values"])),
            with_kwargs=True,
        )
        tags = image_tags(questions, split, 5) if tag_weight else None
        pretrain(model, split, Tok(), TrainConfig(**RECIPE), 0, 0.15, 0.0, 0.0, 0.0,
                 progress=False, tags=tags, tag_weight=tag_weight)  # fmt: skip
        return calls, model

    plain, plain_model = seen(0.0)
    tagged, tagged_model = seen(1.0)
    assert len(plain) == 2 and len(tagged) == 4
    for (question, pixels), (blank, same) in zip(tagged[::2], tagged[1::2], strict=True):
        assert question.shape == (8, 4) and blank.tolist() == [[1, 2]] * 8
        assert torch.equal(pixels, same)
    assert torch.equal(plain[0][1], tagged[0][1])  # the same batches, in the same order
    weights = [m.classifier[3].weight for m in (plain_model, tagged_model)]
    assert not torch.equal(*weights)
    _, again = seen(1.0)  # the same seed, the same weights, ViLT's patch draws and all
    pairs = zip(tagged_model.parameters(), again.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
