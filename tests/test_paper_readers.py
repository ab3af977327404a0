"""Readers of the paper configuration's inputs, checked field by field against fixtures
written in the exact real formats; and their bad-input messages."""

from __future__ import annotations

import base64
import json
import math
import shutil

import h5py
import numpy as np
import pytest
import torch
from transformers import LxmertForPreTraining

import paper_fixtures as fx
from lxmert_lth.core.errors import InputError
from lxmert_lth.data import evalai, tasks, vqa_v2
from lxmert_lth.data.bottom_up_attention import convert_tsvs, encode_row, iter_tsv, parse_row
from lxmert_lth.data.features import FeatureStore
from lxmert_lth.data.loaders import batches, encode_split
from lxmert_lth.data.tokenization import load_tokenizer
from lxmert_lth.data.vqa_eval import score_predictions
from lxmert_lth.models.families.lxmert import original_state_dict
from lxmert_lth.models.modeling import PRETRAINED_ANSWERS, load_pretrained, load_theta0
from lxmert_lth.training.loop import TrainConfig, num_steps
from lxmert_lth.training.optim import bert_adam, warmup_then_linear_decay
from lxmert_lth.workflow.stages.finetuning import check_answers
from lxmert_lth.workflow.stages.pretraining import import_pretrained

# --- questions and answers ----------------------------------------------------------


def test_soft_scores_follow_the_annotator_count():
    assert [vqa_v2.soft_score(n) for n in range(6)] == [0.0, 0.3, 0.6, 0.9, 1.0, 1.0]


def test_official_records_field_by_field(tmp_path):
    paths = fx.write_official(tmp_path)
    answers = ["1", "blue", "no", "red", "yes"]
    records = vqa_v2.official_records(paths["train_questions"], paths["train_annotations"], answers)
    raw = json.loads(open(paths["train_questions"]).read())["questions"]
    assert [r["question_id"] for r in records] == [q["question_id"] for q in raw]
    first = records[0]  # image 9 (blue): "What color is the ball?"
    assert first["image_id"] == "COCO_train2014_000000000009"
    assert first["question"] == "What color is the ball?"
    assert first["answer_type"] == "other"
    assert first["answers"] == ["blue"] * 7 + ["dark blue"] * 2 + ["orange"]
    assert first["label"] == {"blue": 1.0}  # "dark blue", "orange" not in the vocabulary
    yes_no = records[1]
    assert yes_no["answer_type"] == "yes/no" and yes_no["label"] == {"no": 1.0}
    number = records[2]  # "1" x4 + "one" x3 normalise to "1" (7), "2" x3 not in vocabulary
    assert number["answer_type"] == "number" and number["label"] == {"1": 1.0}
    test = vqa_v2.official_records(paths["test_questions"])
    assert test[0]["image_id"] == "COCO_test2015_000000000001"
    assert test[0]["answer_type"] is None and test[0]["label"] == {} and test[0]["answers"] == []


def test_vocabulary_counts_normalised_multiple_choice_answers(tmp_path):
    paths = fx.write_official(tmp_path)
    ann = [
        vqa_v2.read_official_annotations(paths[k]) for k in ("train_annotations", "val_annotations")
    ]
    # train+val: "1" x12, "no" x10, blue 5, green 4, red 2, yes 2, yellow 1
    assert vqa_v2.official_vocabulary(ann, 2) == ["1", "no", "blue", "green", "red", "yes"]
    assert vqa_v2.official_vocabulary(ann, 5) == ["1", "no", "blue"]


def test_official_splits_train_nominival_minival_test(tmp_path):
    paths = fx.write_official(tmp_path)
    splits, answers = vqa_v2.official_splits(paths, 2, fx.MINIVAL_IMAGES)
    mini = {f"COCO_val2014_{i:012d}" for i in fx.VAL_IMAGES[: fx.MINIVAL_IMAGES]}
    assert {q["image_id"] for q in splits["val"]} == mini
    train_images = {q["image_id"] for q in splits["train"]}
    assert not train_images & mini
    assert len(train_images) == len(fx.TRAIN_IMAGES) + len(fx.VAL_IMAGES) - fx.MINIVAL_IMAGES
    assert len(splits["test"]) == 3 * len(fx.TEST_IMAGES)
    assert answers[0] == "1"


def test_lxmert_records_and_vocabulary(tmp_path):
    paths = fx.write_lxmert(tmp_path)
    splits, answers = vqa_v2.lxmert_splits(paths)
    assert answers == json.loads(open(paths["label2ans"]).read())
    raw = json.loads(open(paths["minival"]).read())
    for rec, r in zip(splits["val"], raw, strict=True):
        assert rec["question_id"] == r["question_id"]
        assert rec["image_id"] == r["img_id"]
        assert rec["question"] == r["sent"]
        assert rec["label"] == r["label"] and rec["answer_type"] == r["answer_type"]
    assert all(q["answer_type"] is None for q in splits["test"])
    # LXMERT's records carry labels, not the ten answers: scored by label.
    q = splits["val"][0]
    best = max(q["label"], key=q["label"].get)
    assert score_predictions({q["question_id"]: best}, [q])["overall"] == 100.0


def test_lxmert_vocabulary_mismatch_is_named(tmp_path):
    paths = fx.write_lxmert(tmp_path)
    ans2label = json.loads(open(paths["ans2label"]).read())
    ans2label["red"] = 1
    open(paths["ans2label"], "w").write(json.dumps(ans2label))
    with pytest.raises(InputError, match="'red' has index 1.*'blue'"):
        vqa_v2.lxmert_vocabulary(paths["ans2label"], paths["label2ans"])


def test_unlabelled_training_split_is_refused(tmp_path):
    paths = fx.write_official(tmp_path)
    test = vqa_v2.official_records(paths["test_questions"])
    with pytest.raises(InputError, match="question 3000 is unlabelled"):
        tasks.ANSWERING.check_labelled(test, "train split")


# --- bottom-up-attention TSVs ---------------------------------------------------------


def test_tsv_rows_read_back_field_by_field(tmp_path):
    written = fx.write_tsvs(tmp_path)
    path, rows = next(iter(written.items()))
    for row, back in zip(rows, iter_tsv(path, fx.NUM_BOXES), strict=True):
        assert back.img_id == row.img_id and (back.img_h, back.img_w) == (row.img_h, row.img_w)
        for field in ("objects_id", "objects_conf", "attrs_id", "attrs_conf", "boxes", "features"):
            np.testing.assert_array_equal(getattr(back, field), getattr(row, field))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_converter_writes_the_hdf5_layout(tmp_path, dtype):
    written = fx.write_tsvs(tmp_path / "tsv")
    out = tmp_path / "regions.h5"
    n = convert_tsvs(list(written), out, fx.NUM_BOXES, dtype, progress=False)
    rows = [r for rs in written.values() for r in rs]
    assert n == len(rows)
    with h5py.File(out) as f:
        assert f["features"].dtype == np.dtype(dtype)
        assert f["features"].shape == (n, fx.NUM_BOXES, fx.FEATURE_DIM)
        assert list(f["image_ids"].asstr()[:]) == [r.img_id for r in rows]
        for i, r in enumerate(rows):
            scale = np.array([r.img_w, r.img_h, r.img_w, r.img_h], dtype=np.float32)
            np.testing.assert_allclose(f["boxes"][i], r.boxes / scale, rtol=1e-6)
            np.testing.assert_array_equal(f["features"][i], r.features.astype(dtype))
            assert (f["image_h"][i], f["image_w"][i]) == (r.img_h, r.img_w)
            np.testing.assert_array_equal(f["objects_id"][i], r.objects_id)
            np.testing.assert_array_equal(f["attrs_conf"][i], r.attrs_conf)
        assert f["boxes"][:].min() >= 0 and f["boxes"][:].max() <= 1


def _bad_tsv(tmp_path, line: bytes):
    good = encode_row(fx.fixture_row("COCO_val2014_000000000001", 1, feature_dim=8))
    path = tmp_path / "bad.tsv"
    path.write_bytes(good + line)
    return path


def _mangle(field: int, value: bytes, **row_changes) -> bytes:
    row = fx.fixture_row("COCO_val2014_000000000002", 2, feature_dim=8)
    for k, v in row_changes.items():
        setattr(row, k, v)
    fields = encode_row(row).rstrip(b"\n").split(b"\t")
    if value is not None:
        fields[field] = value
    return b"\t".join(fields) + b"\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (encode_row(fx.fixture_row("COCO_val2014_000000000002", 2, 8))[:-41] + b"\n", "features"),
        (b"COCO_val2014_000000000002\t480\t640\n", "3 tab-separated fields"),
        (_mangle(9, b"@@@not-base64@@@"), "'features' is not valid base64"),
        (_mangle(7, b"35"), "num_boxes is 35, expected 36"),
        (_mangle(2, b"10"), "lies outside the 10x"),
        (_mangle(1, b"tall"), "'img_h' is b'tall'"),
    ],
)
def test_bad_tsv_rows_are_named_and_leave_no_file(tmp_path, line, message):
    path = _bad_tsv(tmp_path, line)
    out = tmp_path / "regions.h5"
    with pytest.raises(InputError, match=message) as err:
        convert_tsvs([path], out, fx.NUM_BOXES, progress=False)
    assert f"{path}:2" in str(err.value) or f"{path}: " in str(err.value)
    assert "COCO_val2014_000000000002" in str(err.value) or "fields" in str(err.value)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.tsv"]


def test_truncated_features_field_names_the_byte_count(tmp_path):
    line = _mangle(9, base64.b64encode(b"\0" * 100))
    with pytest.raises(InputError, match="'features' has 100 bytes"):
        parse_row(line, "x.tsv:1", fx.NUM_BOXES)


def test_an_empty_tsv_among_several_is_named(tmp_path):
    written = fx.write_tsvs(tmp_path / "tsv")
    empty = tmp_path / "tsv" / "empty.tsv"
    empty.write_text("")
    with pytest.raises(InputError, match=f"{empty}: no rows"):
        convert_tsvs([*written, empty], tmp_path / "f.h5", fx.NUM_BOXES, progress=False)
    assert not (tmp_path / "f.h5").exists()


@pytest.mark.parametrize("fault", ["orphan", "nine answers"])
def test_annotations_must_match_the_questions(tmp_path, fault):
    """An annotation of no question (it would count toward the vocabulary) and a
    question with 9 answers instead of 10 are refused, naming the file and question."""
    paths = fx.write_official(tmp_path)
    path = paths["train_annotations"]
    doc = json.loads(open(path).read())
    if fault == "orphan":
        doc["annotations"].append({**doc["annotations"][0], "question_id": 999_999_999})
        message = "1 annotations are of no question .*question_id 999999999"
    else:
        doc["annotations"][1]["answers"] = doc["annotations"][1]["answers"][:9]
        message = f"question {doc['annotations'][1]['question_id']} has 9 answers"
    open(path, "w").write(json.dumps(doc))
    with pytest.raises(InputError, match=message):
        vqa_v2.official_records(paths["train_questions"], path, ["yes"])


def test_duplicate_image_across_tsvs_is_refused(tmp_path):
    written = fx.write_tsvs(tmp_path / "tsv")
    first = list(written)[0]
    twice = f"file '{first}' is given twice: position 0 and position 1"
    with pytest.raises(InputError, match=twice):
        convert_tsvs([first, first], tmp_path / "f.h5", fx.NUM_BOXES, progress=False)
    assert not (tmp_path / "f.h5").exists()


def test_corrupt_hdf5_is_named(tmp_path):
    path = tmp_path / "regions.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(InputError, match=f"{path}: not a readable HDF5 feature file"):
        FeatureStore(path)


# --- lazy feature loading -------------------------------------------------------------


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper")
    written = fx.write_tsvs(folder / "tsv")
    h5 = folder / "regions.h5"
    convert_tsvs(list(written), h5, fx.NUM_BOXES, progress=False)
    official = fx.write_official(folder / "vqa")
    pretrained = fx.write_pretrained(folder / "model")
    return {"h5": h5, "official": official, "pretrained": pretrained, "folder": folder}


@pytest.mark.parametrize("workers", [0, 2])
def test_lazy_batches_equal_in_memory_batches(converted, workers):
    splits, answers = vqa_v2.official_splits(converted["official"], 2, fx.MINIVAL_IMAGES)
    tok = load_tokenizer(converted["pretrained"]["tokenizer"])
    store = FeatureStore(converted["h5"])
    args = (splits["train"], tok, answers, store, 20)
    memory = encode_split(*args)
    lazy = encode_split(*args, in_memory=False, loader_workers=workers)
    assert lazy.visual is None  # nothing loaded up front
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    got = list(zip(batches(memory, 5, g1), batches(lazy, 5, g2), strict=True))
    assert len(got) == -(-len(memory) // 5)
    for a, b in got:
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_question_without_features_is_named(converted):
    splits, answers = vqa_v2.official_splits(converted["official"], 2, fx.MINIVAL_IMAGES)
    q = dict(splits["train"][0], image_id="COCO_train2014_000000999999")
    tok = load_tokenizer(converted["pretrained"]["tokenizer"])
    with pytest.raises(InputError, match="'COCO_train2014_000000999999' of question 1000"):
        encode_split([q], tok, answers, FeatureStore(converted["h5"]), 20, in_memory=False)


# --- the pretrained model ---------------------------------------------------------------


def test_original_pth_maps_onto_the_transformers_names(converted, tmp_path):
    p = converted["pretrained"]
    from_dir, from_pth = tmp_path / "a", tmp_path / "b"
    import_pretrained(from_dir, p["dir"], tokenizer=None, config=None, answers=None)
    import_pretrained(from_pth, p["pth"], p["tokenizer"], p["config"], answers=None)
    from transformers import LxmertForPreTraining

    a = LxmertForPreTraining.from_pretrained(from_dir).state_dict()
    b = LxmertForPreTraining.from_pretrained(from_pth).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    assert load_tokenizer(from_pth).get_vocab() == load_tokenizer(p["tokenizer"]).get_vocab()


def test_pth_missing_a_tensor_is_named(converted, tmp_path):
    state = torch.load(converted["pretrained"]["pth"], weights_only=True)
    del state["bert.encoder.x_layers.0.lang_output.dense.weight"]
    path = tmp_path / "model_LXRT.pth"
    torch.save(state, path)
    with pytest.raises(InputError, match="missing tensor 'lxmert.encoder.x_layers.0.lang_output"):
        import_pretrained(
            tmp_path / "out", str(path), converted["pretrained"]["tokenizer"],
            converted["pretrained"]["config"], answers=None,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


class NotATensor:
    """Unpickling this would run code of a module: weights_only must refuse it."""


class Payload:
    """A file that would run a command when unpickled without weights_only."""

    def __reduce__(self):
        return (print, ("the payload ran",))


@pytest.mark.parametrize("content", [NotATensor, Payload])
def test_pth_is_loaded_weights_only(tmp_path, content, capsys):
    """Refused, naming the file, and never passing on torch's advice to load it with
    weights_only=False (which would run the payload)."""
    path = tmp_path / "model_LXRT.pth"
    torch.save({"bert.x": content()}, path)
    with pytest.raises(InputError, match="refused: not a weights-only PyTorch file") as err:
        original_state_dict(path)
    assert str(path) in str(err.value) and "weights_only" not in str(err.value)
    assert "payload" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "verdict"), [("objects", "refused"), ("damaged", "cannot load")]
)
def test_pickled_weights_that_are_refused_name_the_file(converted, tmp_path, content, verdict):
    """A save_pretrained directory with pytorch_model.bin instead of safetensors: a pickle
    of tensors only loads; one holding objects (or damaged) is refused, naming the file."""
    folder = tmp_path / "lxmert-bin"
    shutil.copytree(converted["pretrained"]["dir"], folder)
    (folder / "model.safetensors").unlink()
    weights = folder / "pytorch_model.bin"
    if content == "objects":
        torch.save({"lxmert.pooler.dense.weight": NotATensor()}, weights)
    else:
        weights.write_bytes(b"PK\x03\x04 not a zip archive at all" * 10)
    with pytest.raises(InputError, match=f"{weights}: {verdict}"):
        load_pretrained(folder)
    with pytest.raises(InputError, match=f"{weights}: {verdict}"):
        load_theta0(folder, ["red", "blue"], seed=0, answer_head="random")


@pytest.mark.parametrize(
    "damage", [b"\xff" * 8 + b"{}", b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{not json"]
)
def test_a_damaged_safetensors_file_in_a_pretrained_folder_is_named(converted, tmp_path, damage):
    """Header too large, empty, or not JSON: one line naming the file, no traceback of
    the safetensors library's own error."""
    folder = tmp_path / "lxmert-damaged"
    shutil.copytree(converted["pretrained"]["dir"], folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(damage)
    with pytest.raises(InputError, match=f"{weights}: cannot load the pretrained model"):
        load_pretrained(folder)
    with pytest.raises(InputError, match=f"{weights}: cannot load"):
        load_theta0(folder, ["red", "blue"], seed=0, answer_head="random")


def test_answer_head_random_or_copied(converted, tmp_path):
    p = converted["pretrained"]
    out = tmp_path / "pretrained"
    import_pretrained(out, p["dir"], tokenizer=None, config=None, answers=p["answers"])
    assert json.loads((out / PRETRAINED_ANSWERS).read_text()) == fx.PRETRAINED_ANSWERS
    # red, yes, 2 are pretrained answers 2, 0, 4; "The Red." and "two" become "red" and
    # "2" first, as the original code's answer table converts them; "green" is unknown.
    answers = ["red", "green", "yes", "2", "The Red.", "two"]
    random_head = load_theta0(out, answers, seed=0, answer_head="random")
    copied = load_theta0(out, answers, seed=0, answer_head="copy_pretrained")
    w_copy = copied.answer_head.logit_fc[3].weight
    b_copy = copied.answer_head.logit_fc[3].bias
    for ours, theirs in ((0, 2), (2, 0), (3, 4), (4, 2), (5, 4)):
        assert torch.all(w_copy[ours] == theirs)  # the fixture head's row j is all j
    # "green": no match, a zero row and a zero bias (not left random), as the original
    assert torch.all(w_copy[1] == 0) and b_copy[1] == 0
    # The random head is the seed's, hidden layers too, never the pretrained one's.
    pretrained = LxmertForPreTraining.from_pretrained(out).answer_head.logit_fc
    assert not torch.equal(random_head.answer_head.logit_fc[0].weight, pretrained[0].weight)
    torch.testing.assert_close(copied.answer_head.logit_fc[0].weight, pretrained[0].weight)
    again = load_theta0(out, answers, seed=0, answer_head="random").answer_head.state_dict()
    other = load_theta0(out, answers, seed=1, answer_head="random").answer_head.logit_fc
    assert all(torch.equal(v, again[k]) for k, v in random_head.answer_head.state_dict().items())
    assert not torch.equal(other[0].weight, random_head.answer_head.logit_fc[0].weight)
    torch.testing.assert_close(
        copied.lxmert.pooler.dense.weight, random_head.lxmert.pooler.dense.weight
    )


def test_pretrained_answers_must_match_the_head(converted, tmp_path):
    bad = tmp_path / "answers.json"
    bad.write_text(json.dumps(["yes", "no"]))
    with pytest.raises(InputError, match="2 answers, but the pretrained answer head .* has 6"):
        import_pretrained(
            tmp_path / "out", converted["pretrained"]["dir"], None, None, answers=str(bad)
        )
    assert not (tmp_path / "out").exists()


# --- optimizer, submission, EvalAI results -----------------------------------------------


def bert_adam_steps(start, grads, lrs, wd=0.01, eps=1e-6, b1=0.9, b2=0.999):
    """BertAdam's update written out with the torch operations its code uses: the
    moments by in-place add with alpha and addcmul (no bias correction), then
    update = m / (sqrt(v) + e), update += wd * p, p += -(lr * update)."""
    p, m, v = start.clone(), torch.zeros_like(start), torch.zeros_like(start)
    for g, lr in zip(grads, lrs, strict=True):
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        # The correctly rounded square root (Python's, in double, then rounded: exact).
        root = torch.tensor([math.sqrt(x) for x in v.tolist()], dtype=v.dtype)
        update = m / (root + eps)
        update += wd * p
        p.add_(-(lr * update))
    return p


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adamw_without_bias_correction_is_bert_adam_bit_for_bit(dtype):
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(257, generator=gen, dtype=dtype)
    grads = [torch.randn(257, generator=gen, dtype=dtype) for _ in range(20)]
    lrs = [1e-3 * (i + 1) / 20 for i in range(20)]
    p = torch.nn.Parameter(start.clone())
    opt = bert_adam([p], lr=lrs[0], weight_decay=0.01)
    for g, lr in zip(grads, lrs, strict=True):
        opt.param_groups[0]["lr"] = lr
        p.grad = g.clone()
        opt.step()
    assert torch.equal(p.detach(), bert_adam_steps(start, grads, lrs))


@pytest.mark.parametrize(("total", "warmup"), [(46, 0.1), (20, 0.1), (7, 0.25), (10, 0.0)])
def test_the_schedule_is_bert_adams_warmup_linear(total, warmup):
    """Factor at step i: x / w while x = i / total < w, then max((x - 1) / (w - 1), 0):
    warm-up over 4.6 steps at 46 x 0.1 (transformers' scheduler would round it to 4)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=2.0)
    scheduler = warmup_then_linear_decay(opt, warmup, total)
    for i in range(total):
        x = i / total
        factor = x / warmup if x < warmup else max((x - 1.0) / (warmup - 1.0), 0.0)
        assert opt.param_groups[0]["lr"] == 2.0 * factor
        opt.step()
        scheduler.step()
    if (total, warmup) == (46, 0.1):
        assert 0 < scheduler.factor(4) < 1  # step 4 of 4.6 is still warming up


def test_steps_drop_the_short_last_batch():
    cfg = TrainConfig(epochs=4, batch_size=32, lr=1e-3, warmup_ratio=0.1, weight_decay=0.0,
                      clip_norm=5.0, eval_batch_size=8, bias_correction=False)  # fmt: skip
    assert num_steps(100, cfg) == 3 * 4  # floor(100 / 32) per epoch, as drop_last
    assert num_steps(96, cfg) == 12
    with pytest.raises(ValueError, match="31 training questions make no whole batch"):
        num_steps(31, cfg)


def test_submission_must_cover_every_test_question(tmp_path):
    out = tmp_path / "predictions.json"
    with pytest.raises(InputError, match="1 test questions have no answer .*question_id 3"):
        evalai.write_submission(out, {1: "yes", 2: "no"}, [1, 2, 3])
    with pytest.raises(InputError, match="question_id 2 is answered 2 times"):
        evalai.check_submission([{"question_id": 2, "answer": "a"}] * 2, [2], "s.json")
    assert not out.exists()
    evalai.write_submission(out, {1: "yes", 2: "no"}, [1, 2])
    assert json.loads(out.read_text()) == [
        {"question_id": 1, "answer": "yes"},
        {"question_id": 2, "answer": "no"},
    ]


def test_evalai_result_files_are_read(tmp_path):
    path = tmp_path / "dense.json"
    path.write_text(json.dumps([
        {"test-dev": {"yes/no": 88.24, "number": 54.45, "others": 63.05, "overall": 72.45}},
        {"test-standard": {"yes/no": 88.29, "number": 54.37, "other": 63.18, "overall": 72.63}},
    ]))  # fmt: skip
    result = evalai.read_result(path)
    assert result["test-dev"]["other"] == 63.05 and result["test-std"]["overall"] == 72.63
    path.write_text(json.dumps({"test-dev": {"yes/no": 1.0}}))
    with pytest.raises(InputError, match="no number for 'number'"):
        evalai.read_result(path)


def test_checkpoint_head_must_match_the_answer_vocabulary(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"answers": ["yes", "no", "red"]}))
    check_answers("theta0.safetensors", ["yes", "no", "red"], str(path))
    with pytest.raises(InputError, match="theta0.safetensors: answer 2 of its head is 'blue'"):
        check_answers("theta0.safetensors", ["yes", "no", "blue"], str(path))
    with pytest.raises(InputError, match="has 2 answers, but .*answers.json has 3"):
        check_answers("theta0.safetensors", ["yes", "no"], str(path))


@pytest.mark.parametrize("warmup_steps, total", [(0, 10), (3, 10), (10, 10), (4, 46)])
def test_the_schedules_are_torchs_lambda_lr_and_transformers_linear_warmup(warmup_steps, total):
    """The workflow's own schedule (lxmert_lth.training.optim.Schedule: torch's classes
    import its compiler) gives the same rates, float for float, as LambdaLR over torch's
    optimizer, and linear_warmup as transformers.get_linear_schedule_with_warmup."""
    from transformers import get_linear_schedule_with_warmup

    from lxmert_lth.training.optim import linear_warmup

    ours_p, theirs_p = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    ours = linear_warmup(bert_adam([ours_p], lr=3e-4, weight_decay=0.0), warmup_steps, total)
    opt = torch.optim.SGD([theirs_p], lr=3e-4)
    theirs = get_linear_schedule_with_warmup(opt, warmup_steps, total)
    for _ in range(total + 2):
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert ours.optimizer.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
        opt.step()
        ours.step()
        theirs.step()
    state = ours.state_dict()
    again = linear_warmup(bert_adam([ours_p], lr=3e-4, weight_decay=0.0), warmup_steps, total)
    again.load_state_dict(state)
    assert again.get_last_lr() == ours.get_last_lr()
