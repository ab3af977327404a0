"""Statement verification models (models.verification): each family's model of a
statement about two images, made from its question-answering model (the same encoder,
a fresh head drawn from the seed), and LXMERT's pairing of statement and images checked
against its encoder run on each image alone."""

from __future__ import annotations

import pytest
import torch
from test_families import batch
from test_features import write_store

from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors
from lxmert_lth.data import statements
from lxmert_lth.data.easyvqa import FEATURE_DIM
from lxmert_lth.data.features import FeatureStore
from lxmert_lth.data.loaders import batches, encode_split
from lxmert_lth.data.tasks import VERIFICATION
from lxmert_lth.models import families
from lxmert_lth.models.modeling import load_checkpoint, save_checkpoint, small_config
from lxmert_lth.models.tasks import of_model
from lxmert_lth.models.verification import LxmertForVerification, verification_model
from lxmert_lth.training.inference import predict_indices, soft_accuracy
from lxmert_lth.training.loop import TrainConfig, train_qa
from tiny_models import ARCH, small_model


def pair_batch(n: int = 3) -> dict:
    """Each statement with a left and a right image (the right: another sample's)."""
    left = batch(n)
    pairs = dict(left)
    for key in ("visual_feats", "visual_pos", "pixel_values", "pixel_mask"):
        pairs[key] = torch.stack([left[key], left[key].roll(1, 0)], 1)
    return pairs


def made(name: str, seed: int = 0):
    family, source = families.get(name), small_model(name)
    torch.manual_seed(seed)
    return family, verification_model(family, source).eval()


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_each_family_verifies_a_pair_with_its_question_answering_encoder(name):
    family, model = made(name)
    qa = small_model(name).state_dict()
    logits = model(**family.verification_inputs(pair_batch())).logits
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()
    state = model.state_dict()
    encoder = [k for k in state if k.startswith(f"{family.encoder_name}.") and k in qa]
    assert encoder and all(
        torch.equal(state[k], qa[k]) for k in encoder if state[k].shape == qa[k].shape
    )
    head = [k for k in state if k.startswith(f"{family.verification_head_name}.")]
    same, other = made(name, 0)[1].state_dict(), made(name, 1)[1].state_dict()
    assert all(torch.equal(state[k], same[k]) for k in head)
    assert not all(torch.equal(state[k], other[k]) for k in head)


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_the_left_and_right_images_are_told_apart(name):
    family, model = made(name)
    pairs = pair_batch()
    swapped = {k: v.flip(1) if v.dim() > 3 and v.shape[1] == 2 else v for k, v in pairs.items()}
    a = model(**family.verification_inputs(pairs)).logits
    b = model(**family.verification_inputs(swapped)).logits
    assert not torch.allclose(a, b)


def test_lxmert_reads_each_statement_with_each_of_its_images():
    """The logits are the head on [pooled(statement, left); pooled(statement, right)]."""
    family, model = made("lxmert")
    pairs = pair_batch()
    text = {k: pairs[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    pooled = [
        model.lxmert(**text, visual_feats=pairs["visual_feats"][:, i],
                     visual_pos=pairs["visual_pos"][:, i]).pooled_output
        for i in (0, 1)
    ]  # fmt: skip
    expected = model.classifier(torch.cat(pooled, dim=-1))
    got = model(**family.verification_inputs(pairs)).logits
    assert torch.allclose(got, expected, atol=1e-6)


def test_vilts_right_image_starts_as_the_image_type():
    family, model = made("vilt")
    rows = model.vilt.embeddings.token_type_embeddings.weight
    qa = small_model("vilt").vilt.embeddings.token_type_embeddings.weight
    assert rows.shape[0] == 3 and torch.equal(rows[:2], qa) and torch.equal(rows[2], qa[1])


def test_lxmerts_verification_model_saves_and_loads_as_safetensors(tmp_path):
    family, model = made("lxmert")
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    again = LxmertForVerification.from_pretrained(tmp_path).eval()
    inputs = family.verification_inputs(pair_batch())
    assert torch.equal(model(**inputs).logits, again(**inputs).logits)


def test_a_source_of_another_shape_is_refused():
    family = families.get("lxmert")
    source = small_model("lxmert")
    source.lxmert.encoder.layer = source.lxmert.encoder.layer[:1]
    source.config.l_layers = 2  # the configuration says two layers, the weights hold one
    with pytest.raises(ValueError, match="does not match the verification model"):
        verification_model(family, source)


# --- statements through the loaders and the training loop ------------------------------


class Words:
    """A tokenizer of the tiny models' vocabulary (40): one piece per word."""

    def __call__(self, texts, max_length, **_):
        ids = [[1] + [5 + len(w) % 30 for w in t.split()][: max_length - 2] + [2] for t in texts]
        width = max(map(len, ids))
        rows = [row + [0] * (width - len(row)) for row in ids]
        mask = [[1] * len(row) + [0] * (width - len(row)) for row in ids]
        return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(mask),
                "token_type_ids": torch.zeros(len(rows), width, dtype=torch.long)}  # fmt: skip


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Statements about pairs of the six features test images, and their store."""
    path = tmp_path_factory.mktemp("pairs") / "f.h5"
    write_store(path, n=6)
    shapes = ["rectangle", "circle", "triangle"]  # write_store draws list(SHAPES)[i % 3]
    images = {f"img{i}": (shapes[i % 3], ["red", "blue"][i // 3]) for i in range(6)}
    return statements.generate(images, 24, 0, "s"), FeatureStore(path)


def test_statements_load_as_pairs_in_memory_and_lazily_alike(pairs):
    records, store = pairs
    answers = VERIFICATION.answers
    memory = encode_split(records, Words(), answers, store, 12, task=VERIFICATION)
    lazy = encode_split(records, Words(), answers, store, 12, in_memory=False, task=VERIFICATION)
    assert memory.image_rows.shape == (24, 2) and memory.question_ids[0] == "s0000000"
    assert memory.label_idx[:, 0].tolist() == [r["label"] for r in records]
    for a, b in zip(batches(memory, 8), batches(lazy, 8), strict=True):
        assert a["visual_feats"].shape[:2] == (8, 2)
        for key in a:
            assert torch.equal(a[key], b[key]), key
    first = next(batches(memory, 1))
    left, right = store.read(records[0]["image_ids"])[0]
    assert torch.allclose(first["visual_feats"][0, 0], torch.as_tensor(left))
    assert torch.allclose(first["visual_feats"][0, 1], torch.as_tensor(right))


def test_a_verification_model_trains_and_is_scored_by_accuracy(pairs):
    """A few steps of the study's training loop on statements: the task's loss (cross-
    entropy) goes down, and the validation score is the share of labels predicted."""
    records, store = pairs
    split = encode_split(records, Words(), VERIFICATION.answers, store, 12, task=VERIFICATION)
    family = families.get("lxmert")
    torch.manual_seed(0)
    source = family.qa_class()(small_config(40, FEATURE_DIM, 5, ARCH["lxmert"]))
    model = verification_model(family, source)
    assert of_model(model).task is VERIFICATION
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-2, warmup_ratio=0.0, weight_decay=0.0,
                      clip_norm=5.0, eval_batch_size=16, bias_correction=True)  # fmt: skip
    history = train_qa(model, split, split, cfg, seed=0, progress=False)
    losses = [e["loss"] for e in history["epochs"]]
    assert losses[-1] < losses[0]
    predicted = predict_indices(model, split, 16)
    share = (predicted == split.label_idx[:, 0]).float().mean().item()
    assert soft_accuracy(model, split, 16) == pytest.approx(100 * share)


def test_a_verification_checkpoint_names_its_task_and_loads_as_its_model(tmp_path):
    """save_checkpoint records a task other than answering (answering's checkpoints carry
    no key, as before tasks); load_checkpoint builds that task's model."""
    for name in sorted(families.FAMILIES):
        family, model = made(name)
        meta = CheckpointMeta({}, list(VERIFICATION.answers), 0, [], 0)
        save_checkpoint(tmp_path / f"{name}.safetensors", model, meta)
        assert (
            CheckpointTensors(tmp_path / f"{name}.safetensors").metadata["task"] == "verification"
        )
        again, _ = load_checkpoint(tmp_path / f"{name}.safetensors", name)
        inputs = family.verification_inputs(pair_batch())
        assert type(again) is type(model)
        assert torch.equal(again.eval()(**inputs).logits, model(**inputs).logits)
    save_checkpoint(tmp_path / "qa.safetensors", small_model("lxmert"), meta)
    assert "task" not in CheckpointTensors(tmp_path / "qa.safetensors").metadata
