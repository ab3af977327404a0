"""The controls' and the authors' code's masks and prunable sets (docs/method.md), unit by
unit; tests/test_workflow.py runs them end to end."""

import numpy as np
import pytest
import torch
from transformers import LxmertConfig, LxmertForQuestionAnswering

from lxmert_lth.core.checkpoints import CheckpointMeta
from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.grid import networks
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.models.modeling import fresh_weights
from lxmert_lth.pruning.chain import mask_sources
from lxmert_lth.pruning.enforcement import prunable_parameter_names
from lxmert_lth.pruning.single_weights import (
    authors_high_mask,
    coin_flip_mask,
    prune_lowest_magnitude,
    remaining_schedule_mask,
)
from lxmert_lth.workflow.checks import _check_schedule


def weights(seed=0, shapes=((40, 25), (30, 7), (64,))):
    rng = np.random.default_rng(seed)
    names = ["a.weight", "b.weight", "c.bias"]
    return {
        n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes, strict=True)
    }


def sizes(w):
    return {n: v.size for n, v in w.items()}


# --- the authors' schedule: 10 % of the remaining weights per step ---------------------


def authors_loop(w: dict, sparsity: float) -> tuple[dict, int]:
    """Their loop, built step by step from its description (docs/method.md): a float
    mask per tensor (1 = pruned); each step, per tensor, the sorted magnitudes of the
    weights still there, the cutoff at index round(0.1 k), every weight at most the
    cutoff pruned, a tensor whose index falls off the end left as it is; stop once the
    pruned share in percent reaches the target. Returns keep-masks and the step count."""
    pruned = {n: np.zeros_like(v) for n, v in w.items()}
    total = sum(v.size for v in w.values())
    steps = 0
    while True:
        for n, v in w.items():
            survivors = np.sort(np.abs(v[pruned[n] == 0]))
            try:
                cutoff = survivors[np.round(0.1 * survivors.size).astype(int)]
            except IndexError:
                continue
            pruned[n] = np.where(np.abs(v) <= cutoff, np.ones(v.shape), pruned[n])
        steps += 1
        if (sum(np.sum(m) for m in pruned.values()) / total) * 100 >= sparsity:
            return {n: m == 0 for n, m in pruned.items()}, steps


def tied_weights(seed=0):
    """Small tensors with ties, exact zeros, a one-dimensional tensor, one whose every
    weight is tied, and sizes at which round(0.1 k) is a half (k = 5, 15, 25 ...)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(-6, 7, size=(15, 5)).astype(np.float32) / 4  # many ties, zeros
    return {
        "a.weight": coarse,
        "b.weight": rng.standard_normal((25, 3)).astype(np.float32),
        "c.bias": np.round(rng.standard_normal(35), 1).astype(np.float32),  # 1-D, ties
        "d.weight": np.full((5, 1), 0.5, dtype=np.float32),  # all tied: gone in one step
        "e.weight": np.zeros((2, 2), dtype=np.float32),
    }


@pytest.mark.parametrize("sparsity", [10, 20, 30, 40, 50, 60, 70, 80, 90])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_remaining_schedule_is_the_authors_loop_position_for_position(sparsity, seed):
    w = tied_weights(seed)
    theirs, their_steps = authors_loop(w, sparsity)
    ours, steps = remaining_schedule_mask(w, sizes_as_shapes(w), sparsity, 10)
    assert steps == their_steps
    for n in w:
        assert np.array_equal(ours.tensors[n], theirs[n]), n


def test_the_remaining_schedule_on_continuous_weights():
    w = weights(5)
    for s in (10, 50, 90):
        theirs, their_steps = authors_loop(w, s)
        ours, steps = remaining_schedule_mask(w, sizes_as_shapes(w), s, 10)
        assert steps == their_steps
        assert all(np.array_equal(ours.tensors[n], theirs[n]) for n in w)
    # round(0.1 k) + 1 per step: the "10 %" level of a 1,000-weight tensor takes one step
    # and prunes 101 (0.1 x 1000 = 100, plus the weight at the cutoff).
    one = {"x.weight": np.arange(1, 1001, dtype=np.float32)}
    mask, steps = remaining_schedule_mask(one, sizes_as_shapes(one), 10, 10)
    assert (steps, mask.num_pruned) == (1, 101)


def test_the_global_remaining_schedule_pools_the_tensors():
    w = tied_weights(4)
    pooled = {"all": np.concatenate([v.ravel() for n, v in sorted(w.items())])}
    theirs, _ = authors_loop(pooled, 50)
    ours, _ = remaining_schedule_mask(w, sizes_as_shapes(w), 50, 10, "global")
    joined = np.concatenate([ours.tensors[n].ravel() for n in sorted(w)])
    assert np.array_equal(joined, theirs["all"])


def sizes_as_shapes(w):
    return {n: v.shape for n, v in w.items()}


# --- the authors' high-magnitude and random masks -------------------------------------


@pytest.mark.parametrize("sparsity", [30, 50, 70])
def test_authors_high_mask_prunes_as_many_as_the_low_mask_keeps(sparsity):
    w = weights()
    low = prune_lowest_magnitude(w, Mask.ones_like(w), sparsity, "per_tensor")
    high = authors_high_mask(low, seed=1)
    for n in w:
        lk, hk = low.tensors[n], high.tensors[n]
        assert (~hk).sum() == lk.sum()
        if lk.sum() <= (~lk).sum():  # >= 50 %: every low survivor kept, and more
            assert np.all(hk[lk])
        else:  # < 50 %: every low-pruned weight pruned, plus random survivors
            assert np.all(~hk[~lk])
    if sparsity == 50:  # exactly half: the low mask itself
        assert all(np.array_equal(high.tensors[n], low.tensors[n]) for n in w)
    assert all(
        np.array_equal(high.tensors[n], authors_high_mask(low, seed=1).tensors[n]) for n in w
    )


def test_coin_flip_mask_follows_each_tensors_fraction():
    w = weights(shapes=((400, 250), (300, 70), (640,)))
    low = prune_lowest_magnitude(w, Mask.ones_like(w), 60, "per_tensor")
    flip = coin_flip_mask(low, seed=4)
    for n in w:
        assert abs((~flip.tensors[n]).mean() - 0.6) < 0.05
    assert flip.num_pruned != low.num_pruned or not all(
        np.array_equal(flip.tensors[n], low.tensors[n]) for n in w
    )
    again = coin_flip_mask(low, seed=4)
    assert all(np.array_equal(flip.tensors[n], again.tensors[n]) for n in w)


# --- prunable sets and scopes ------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    config = LxmertConfig(
        hidden_size=8, num_attention_heads=2, intermediate_size=8, l_layers=1, x_layers=1,
        r_layers=1, num_qa_labels=3, visual_feat_dim=4, vocab_size=30,
    )  # fmt: skip
    return LxmertForQuestionAnswering(config)


PATTERN = r"^lxmert\.(encoder\.(layer|r_layers|x_layers)\.|pooler\.)"


def test_the_authors_prunable_set_adds_biases_layernorms_projection_and_head(model):
    paper = set(prunable_parameter_names(model, PATTERN))
    authors = set(prunable_parameter_names(model, PATTERN, "authors"))
    assert paper < authors
    added = authors - paper
    assert "lxmert.encoder.visn_fc.visn_fc.weight" in added
    assert "answer_head.logit_fc.3.weight" in added
    assert "lxmert.pooler.dense.bias" in added
    assert any(n.endswith("LayerNorm.weight") for n in added)
    every = [n for n, _ in model.named_parameters()]
    left = sorted(set(every) - authors)
    assert left == sorted(
        [n for n in every if n.startswith("lxmert.embeddings.")]
        + [
            "lxmert.encoder.visn_fc.visn_fc.bias",
            "lxmert.encoder.visn_fc.visn_layer_norm.weight",
            "lxmert.encoder.visn_fc.visn_layer_norm.bias",
            "lxmert.encoder.visn_fc.box_fc.weight",
            "lxmert.encoder.visn_fc.box_fc.bias",
            "lxmert.encoder.visn_fc.box_layer_norm.weight",
            "lxmert.encoder.visn_fc.box_layer_norm.bias",
            "answer_head.logit_fc.3.bias",
        ]
    )


@pytest.mark.parametrize(
    "scope,prefix",
    [
        ("language", "lxmert.encoder.layer."),
        ("vision", "lxmert.encoder.r_layers."),
        ("cross_modality", "lxmert.encoder.x_layers."),
    ],
)
def test_a_scope_prunes_one_encoder_only(model, scope, prefix):
    names = prunable_parameter_names(model, PATTERN, scope=scope)
    assert names and all(n.startswith(prefix) for n in names)
    assert set(names) == {
        n for n in prunable_parameter_names(model, PATTERN) if n.startswith(prefix)
    }


def test_fresh_weights_are_the_models_own_seeded_initialisation(model):
    meta = CheckpointMeta(model.config.to_dict(), ["a", "b", "c"], 0, [], 0)
    names = prunable_parameter_names(model, PATTERN)
    one, two = fresh_weights(meta, names, 7), fresh_weights(meta, names, 7)
    other = fresh_weights(meta, names, 8)
    state = torch.get_rng_state()
    assert all(np.array_equal(one[n], two[n]) for n in names)
    assert not np.array_equal(one[names[0]], other[names[0]])
    assert torch.equal(state, torch.get_rng_state())  # the global stream untouched
    std = np.concatenate([one[n].ravel() for n in names]).std()
    assert abs(std - model.config.initializer_range) < 0.005


# --- what each kind is made from, under each protocol ----------------------------------


def pruning(**changes):
    return {"step": 10, "ranking": "global", "random": "global", **changes}


def test_controls_and_authors_options_name_their_sources():
    low50 = Network(0, "low", 50)
    assert mask_sources(Network(0, "reinit", 50), pruning()) == {"reference": (low50, "mask")}
    assert mask_sources(Network(0, "late", 50), pruning()) == {
        "reference": (low50, "mask"),
        "late": (Network(0), "late"),
    }
    # The authors' schedule prunes every level from the dense network.
    assert mask_sources(low50, pruning(schedule="remaining")) == {
        "trained": (Network(0), "trained")
    }
    # Their high-magnitude mask comes from the low mask at the same sparsity.
    assert mask_sources(Network(0, "high", 30), pruning(high="authors")) == {
        "low_mask": (Network(0, "low", 30), "mask")
    }
    assert mask_sources(Network(0, "random", 30), pruning(random="coin_flip")) == {
        "reference": (Network(0, "low", 30), "mask")
    }


def test_one_dense_seed_is_shared_by_every_seed():
    study = {"seeds": [0, 1], "sparsities": [10, 20], "kinds": ["low"], "dense_seed": 9595}
    nets = networks(study)
    assert [n for n in nets if n.is_dense] == [Network(9595)]
    assert len(nets) == 1 + 2 * 2
    assert mask_sources(Network(1, "low", 10), pruning(), study) == {
        "trained": (Network(9595), "trained")
    }


def test_schedule_checks_follow_the_protocol():
    study = {"sparsities": [25, 50], "kinds": ["low", "high"], "table_sparsity": 50}
    with pytest.raises(ConfigError, match="off the pruning schedule"):
        _check_schedule(study, pruning())
    _check_schedule(study, pruning(schedule="remaining", high="authors"))
    with pytest.raises(ConfigError, match="late_rewind_step"):
        _check_schedule({**study, "sparsities": [50], "kinds": ["late"]}, pruning())


def test_every_kind_is_one_registry_entry_and_the_schema_knows_them_all():
    from lxmert_lth.core.options import PruningOptions
    from lxmert_lth.core.schema import load_schema
    from lxmert_lth.pruning.kinds import CONTROL_KINDS, KINDS, Kind
    from lxmert_lth.reporting.report import KIND_LABELS, STYLES

    schema = load_schema()["properties"]
    assert schema["study"]["properties"]["kinds"]["items"]["enum"] == list(KINDS)
    # Each entry a declared object with named fields; the controls by their flag, not
    # by their place in the registry.
    assert all(isinstance(k, Kind) and k.name == name for name, k in KINDS.items())
    retrained = tuple(n for n, k in KINDS.items() if k.made_by == "retrain")
    assert CONTROL_KINDS == tuple(n for n in retrained if n != "low")
    assert not KINDS["low"].control and KINDS["low"].made_by == "retrain"
    assert set(KIND_LABELS) - {"dense"} == set(STYLES) == set(KINDS)
    # A figure tells its kinds apart: each colour is one kind's (a one-shot method's
    # retrained twin shares its method's, drawn dashed). Wanda's once was random's.
    owners: dict[str, set] = {}
    for kind in KINDS.values():
        owners.setdefault(kind.colour, set()).add(getattr(kind, "method", kind.name))
    assert all(len(names) == 1 for names in owners.values()), owners
    # The options' defaults are the schema's, filled in once; unknown keys are refused.
    options = PruningOptions.of({"step": 10, "ranking": "global", "random": "global"})
    defaults = schema["pruning"]["properties"]
    assert options.schedule == defaults["schedule"]["default"] == "original"
    assert options.enforce_masks is defaults["enforce_masks"]["default"] is True
    with pytest.raises(KeyError, match="pruning.rankng: not a pruning option"):
        PruningOptions.of({"step": 10, "rankng": "global", "random": "global"})
    with pytest.raises(KeyError, match="pruning.step: required"):
        PruningOptions.of({"ranking": "global", "random": "global"})
