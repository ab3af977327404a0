"""Statement verification models (models.verification): each family's model of a
statement about two images, made from its question-answering model (the same encoder,
a fresh head drawn from the seed), and LXMERT's pairing of statement and images checked
against its encoder run on each image alone."""

from __future__ import annotations

import pytest
import torch
from test_families import batch

from lxmert_lth.models import families
from lxmert_lth.models.verification import LxmertForVerification, verification_model
from tiny_models import small_model


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
