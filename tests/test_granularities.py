"""Pruning granularities: N:M masks (pruning.granularity n_of_m), each kind's definition
and its exact counts, and the study's grid for it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_lth import families
from lxmert_lth.checkpoints import CheckpointMeta
from lxmert_lth.enforcement import prunable_parameter_names
from lxmert_lth.io import InputError
from lxmert_lth.kinds import PruningOptions
from lxmert_lth.masks import Mask, n_of_m_mask, random_n_of_m_mask, shuffle_groups
from lxmert_lth.modeling import num_parameters, save_checkpoint, small_config
from lxmert_lth.network import Network
from lxmert_lth.stages.subnetworks import MaskSources, make_mask
from lxmert_lth.study import ConfigError, _check_schedule, fine_tunes, mask_sources

SHAPES = {"a.weight": (6, 8), "b.weight": (3, 12)}


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in SHAPES.items()}


def groups(mask: Mask, m: int = 4) -> np.ndarray:
    """Each group's kept count, over every tensor."""
    return np.concatenate([keep.reshape(-1, m).sum(1) for keep in mask.tensors.values()])


def options(**kw) -> PruningOptions:
    return PruningOptions.of({"step": 10, "ranking": "global", "random": "global",
                              "granularity": "n_of_m", **kw})  # fmt: skip


def test_the_ticket_keeps_the_two_largest_of_every_four():
    w = weights()
    low = n_of_m_mask(w, SHAPES, 2, 4)
    assert (groups(low) == 2).all() and low.sparsity == 50.0
    for name, keep in low.tensors.items():
        magnitude = np.abs(w[name]).reshape(-1, 4)
        kept = np.where(keep.reshape(-1, 4), magnitude, np.inf).min(1)
        dropped = np.where(keep.reshape(-1, 4), -np.inf, magnitude).max(1)
        assert (kept >= dropped).all()  # every kept weight outweighs every dropped one


def test_ties_go_to_the_lower_position_and_the_count_is_exact():
    w = {"t.weight": np.array([[1.0, 1.0, 1.0, 1.0, 0.0, -2.0, 2.0, 0.0]], dtype=np.float32)}
    low = n_of_m_mask(w, {"t.weight": (1, 8)}, 2, 4).tensors["t.weight"]
    assert low.astype(int).tolist() == [[1, 1, 0, 0, 0, 1, 1, 0]]
    one = n_of_m_mask(w, {"t.weight": (1, 8)}, 1, 4).tensors["t.weight"]
    assert one.astype(int).tolist() == [[1, 0, 0, 0, 0, 1, 0, 0]]


def test_high_is_the_reverse_ranking_and_at_two_of_four_the_complement():
    w = weights(1)
    low, high = n_of_m_mask(w, SHAPES, 2, 4), n_of_m_mask(w, SHAPES, 2, 4, largest=False)
    assert all(np.array_equal(high.tensors[n], ~low.tensors[n]) for n in SHAPES)
    # At 1:4 the reverse keeps one weight a group too (the smallest), not the complement.
    high14 = n_of_m_mask(w, SHAPES, 1, 4, largest=False)
    assert (groups(high14) == 1).all()


def test_random_and_shuffled_keep_n_of_every_m():
    random = random_n_of_m_mask(SHAPES, 2, 4, seed=3)
    assert (groups(random) == 2).all()
    assert (
        random.tensors["a.weight"].tolist()
        == random_n_of_m_mask(SHAPES, 2, 4, 3).tensors["a.weight"].tolist()
    )  # seeded
    low = n_of_m_mask(weights(), SHAPES, 2, 4)
    shuffled = shuffle_groups(low, 4, seed=5)
    assert (groups(shuffled) == 2).all()
    for name in SHAPES:  # the same patterns, elsewhere
        ours = sorted(map(tuple, shuffled.tensors[name].reshape(-1, 4).astype(int)))
        theirs = sorted(map(tuple, low.tensors[name].reshape(-1, 4).astype(int)))
        assert ours == theirs
    assert any(not np.array_equal(shuffled.tensors[n], low.tensors[n]) for n in SHAPES)


def test_a_matrix_whose_input_is_no_multiple_of_m_is_refused():
    with pytest.raises(InputError, match=r"'c.weight' of shape \(2, 6\): .* multiple of M = 4"):
        n_of_m_mask({"c.weight": np.ones((2, 6))}, {"c.weight": (2, 6)}, 2, 4)


def test_the_study_grid_is_the_one_sparsity_n_of_m_has():
    study = {"sparsities": [50], "kinds": ["low", "high", "random"], "table_sparsity": 50}
    _check_schedule(study, options())
    _check_schedule({**study, "sparsities": [75], "table_sparsity": 75},
                    options(n_of_m={"n": 1, "m": 4}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"every group of 4 weights keeps 2, so every mask "
                       r"prunes exactly 50 %: set study.sparsities to \[50\]"):  # fmt: skip
        _check_schedule({**study, "sparsities": [10, 50]}, options())
    with pytest.raises(ConfigError, match=r"1:3 prunes 66.67 % of every group"):
        _check_schedule(study, options(n_of_m={"n": 1, "m": 3}))
    with pytest.raises(ConfigError, match="n = 4 keeps every weight"):
        _check_schedule(study, options(n_of_m={"n": 4, "m": 4}))


def test_every_n_of_m_mask_comes_from_the_dense_network_in_one_level():
    study = {"seeds": [0], "sparsities": [50], "kinds": ["low", "high", "random", "shuffled"],
             "table_sparsity": 50}  # fmt: skip
    dense, low = Network(0), Network(0, "low", 50)
    assert mask_sources(low, options()) == {"trained": (dense, "trained")}
    assert mask_sources(Network(0, "high", 50), options()) == {"trained": (dense, "trained")}
    assert mask_sources(Network(0, "random", 50), options(random="per_layer")) == {}
    # No IMP chain below it, and no level at 100 - s for the high mask.
    assert fine_tunes(study, options()) == sorted([dense, *(Network(0, k, 50) for k in
                                                           study["kinds"])])  # fmt: skip


def test_each_kind_makes_its_n_of_m_mask_from_a_checkpoint(tmp_path):
    """make_mask, as the subnetwork job calls it, on a small LXMERT's trained weights."""
    arch = {"family": "lxmert", "hidden_size": 16, "num_attention_heads": 2,
            "intermediate_size": 32, "l_layers": 1, "x_layers": 1, "r_layers": 1,
            "max_position_embeddings": 24, "dropout": 0.0}  # fmt: skip
    torch.manual_seed(0)
    family = families.get("lxmert")
    model = family.qa_class()(small_config(40, 6, 5, arch))
    names = prunable_parameter_names(model, family.prunable_modules)
    meta = CheckpointMeta(config=model.config.to_dict(), answers=list("abcde"), seed=0,
                          prunable=names, num_total_parameters=num_parameters(model))  # fmt: skip
    trained = tmp_path / "model.safetensors"
    save_checkpoint(trained, model, meta)
    shapes = {n: tuple(model.get_parameter(n).shape) for n in names}
    state = {n: model.get_parameter(n).detach().numpy() for n in names}
    made = {}
    for kind in ("low", "high", "random", "oneshot"):
        sources = MaskSources(trained=str(trained))
        mask, how = make_mask(Network(0, kind, 50), shapes, meta, sources, options())
        assert (groups(mask) == 2).all(), kind
        assert mask.num_pruned == mask.num_prunable // 2
        made[kind] = mask
    expected = n_of_m_mask(state, shapes, 2, 4)
    assert all(np.array_equal(made["low"].tensors[n], expected.tensors[n]) for n in names)
    assert all(np.array_equal(made["oneshot"].tensors[n], expected.tensors[n]) for n in names)
    assert all(np.array_equal(made["high"].tensors[n], ~expected.tensors[n]) for n in names)
    low_file = tmp_path / "mask.safetensors"
    made["low"].save(low_file)
    shuffled, how = make_mask(Network(0, "shuffled", 50), shapes, meta,
                              MaskSources(reference=str(low_file)), options())  # fmt: skip
    assert (groups(shuffled) == 2).all() and "shuffled_groups" in how


# --- the study with 2:4 masks, end to end (the test configuration, one seed) --------------


@pytest.mark.slow
def test_the_study_runs_with_two_of_four_masks(tmp_path):
    import pandas as pd

    from conftest import snakemake, write_config
    from lxmert_lth.checkpoints import CheckpointTensors

    config = write_config(
        tmp_path,
        "n_of_m.yaml",
        results="results-n_of_m",
        pruning={"granularity": "n_of_m", "n_of_m": {"n": 2, "m": 4}},
        study={
            "seeds": [0],
            "sparsities": [50],
            "table_sparsity": 50,
            "kinds": ["low", "high", "random", "shuffled"],
        },  # fmt: skip
    )
    snakemake(tmp_path, "--cores", "2", configfile=config)
    results = tmp_path / "results-n_of_m"
    masks = {k: Mask.load(results / f"seed0/{k}50/mask.safetensors")[0]
             for k in ("low", "high", "random", "shuffled")}  # fmt: skip
    for kind, mask in masks.items():
        assert (groups(mask) == 2).all(), kind
    low, high = masks["low"], masks["high"]
    assert all(np.array_equal(high.tensors[n], ~low.tensors[n]) for n in low.tensors)
    # The ticket is the dense network's 2:4 mask, and it held through retraining.
    trained = CheckpointTensors(results / "seed0/low50/model.safetensors")
    for name, keep in low.tensors.items():
        assert not trained[name][~keep].any(), name
    scores = pd.read_csv(results / "scores.csv")
    assert sorted(scores["kind"]) == ["dense", "high", "low", "random", "shuffled"]
    assert (scores.loc[scores["kind"] != "dense", "sparsity"] == 50).all()
