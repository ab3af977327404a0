"""Pruning maths, mask files, rewinding and enforcement through real optimizer steps."""

import numpy as np
import pytest
import torch
from torch import nn

from lxmert_lth.core.checkpoints import CheckpointTensors, compact
from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import TensorFile, load_tensors, save_tensors
from lxmert_lth.core.masks import Mask, num_to_prune, rewind
from lxmert_lth.pruning.enforcement import MaskEnforcer, prunable_parameter_names
from lxmert_lth.pruning.single_weights import prune_lowest_magnitude, random_mask


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "a.weight": rng.standard_normal((8, 5)).astype(np.float32),
        "b.weight": rng.standard_normal((3, 7)).astype(np.float32),
    }


def equal(m1: Mask, m2: Mask) -> bool:
    return m1.tensors.keys() == m2.tensors.keys() and all(
        np.array_equal(m1.tensors[k], m2.tensors[k]) for k in m1.tensors
    )


def test_num_to_prune_rounds_exactly():
    assert num_to_prune(61, 10) == 6  # 6.1
    assert num_to_prune(65, 10) == 7  # 6.5 rounds half up
    assert num_to_prune(100, 50) == 50
    with pytest.raises(InputError, match="sparsity 120"):
        num_to_prune(10, 120)


@pytest.mark.parametrize("sparsity", [10, 30, 50, 90])
def test_global_threshold_prunes_exact_count_of_lowest(sparsity):
    w = weights()
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), sparsity)
    assert mask.num_pruned == num_to_prune(61, sparsity)
    pruned = np.concatenate([np.abs(w[k][~mask.tensors[k]]) for k in sorted(w)])
    kept = np.concatenate([np.abs(w[k][mask.tensors[k]]) for k in sorted(w)])
    assert pruned.max() <= kept.min()


def test_global_ranking_crosses_tensors():
    w = {"a.weight": np.full(4, 0.1), "b.weight": np.full(4, 5.0)}
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), 50)
    assert not mask.tensors["a.weight"].any() and mask.tensors["b.weight"].all()


def test_per_tensor_ranking_prunes_each_tensor():
    w = {"a.weight": np.full(4, 0.1), "b.weight": np.arange(4.0)}
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), 50, ranking="per_tensor")
    assert mask.per_tensor_pruned() == {"a.weight": 2, "b.weight": 2}
    assert mask.tensors["b.weight"].tolist() == [False, False, True, True]


def test_ties_give_exact_count_and_are_deterministic():
    w = {"a.weight": np.ones(10), "b.weight": np.ones(10)}
    m1 = prune_lowest_magnitude(w, Mask.ones_like(w), 30)
    m2 = prune_lowest_magnitude(w, Mask.ones_like(w), 30)
    assert m1.num_pruned == 6 and equal(m1, m2)
    # Ties break by position: the first six weights in name order go.
    assert not m1.tensors["a.weight"][:6].any() and m1.tensors["a.weight"][6:].all()


def test_negative_weights_rank_by_magnitude():
    w = {"a.weight": np.array([-5.0, 0.1, -0.2, 3.0])}
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), 50)
    assert mask.tensors["a.weight"].tolist() == [True, False, False, True]


def test_iterative_pruning_only_removes_survivors():
    w = weights()
    m10 = prune_lowest_magnitude(w, Mask.ones_like(w), 10)
    # Retrained weights: the previously pruned ones are now large, yet stay pruned.
    retrained = {k: np.where(m10.tensors[k], v, 100.0) for k, v in w.items()}
    m20 = prune_lowest_magnitude(retrained, m10, 20)
    assert m20.num_pruned == num_to_prune(61, 20)
    for k in w:
        assert not (m20.tensors[k] & ~m10.tensors[k]).any()


def test_cannot_prune_to_lower_sparsity():
    w = weights()
    m = prune_lowest_magnitude(w, Mask.ones_like(w), 50)
    with pytest.raises(InputError, match="already prunes"):
        prune_lowest_magnitude(w, m, 20)


def test_complement_is_exact_within_prunable_set():
    w = weights()
    low = prune_lowest_magnitude(w, Mask.ones_like(w), 30)
    high = low.complement()
    assert high.num_pruned == low.num_kept and high.num_kept == low.num_pruned
    for k in w:
        assert np.array_equal(high.tensors[k], ~low.tensors[k])


def test_random_mask_global_and_per_layer_sizes():
    w = weights()
    low = prune_lowest_magnitude(w, Mask.ones_like(w), 40)
    shapes = {k: v.shape for k, v in w.items()}
    g = random_mask(shapes, low.num_pruned, seed=3)
    assert g.num_pruned == low.num_pruned
    per = random_mask(shapes, low.per_tensor_pruned(), seed=3)
    assert per.per_tensor_pruned() == low.per_tensor_pruned()
    assert equal(g, random_mask(shapes, low.num_pruned, seed=3))
    assert not equal(g, random_mask(shapes, low.num_pruned, seed=4))
    with pytest.raises(InputError, match="cannot prune 62 of 61"):
        random_mask(shapes, 62, seed=0)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 4)
        self.enc = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 4))
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.enc(self.embed(x)).mean(1))


def test_prunable_names_select_linear_weights_only():
    names = prunable_parameter_names(Tiny(), r"^enc\.")
    assert names == ["enc.0.weight", "enc.2.weight"]  # no bias, no LayerNorm, no head/embed
    with pytest.raises(InputError, match="matches no parameter"):
        prunable_parameter_names(Tiny(), r"^nothing")


def test_rewinding_equals_theta0_times_mask():
    torch.manual_seed(0)
    model = Tiny()
    theta0 = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    names = prunable_parameter_names(model, r"^enc\.")
    prunable = {n: theta0[n] for n in names}
    mask = prune_lowest_magnitude(prunable, Mask.ones_like(prunable), 50)
    rewound = rewind(theta0, mask)
    for k, v in theta0.items():
        expected = v * mask.tensors[k] if k in mask.tensors else v
        assert np.array_equal(rewound[k], expected)
    assert np.array_equal(theta0["enc.0.weight"], model.state_dict()["enc.0.weight"].numpy())


def test_enforcer_keeps_pruned_weights_exactly_zero_through_adamw():
    torch.manual_seed(0)
    model = Tiny()
    names = prunable_parameter_names(model, r"^enc\.")
    params = dict(model.named_parameters())
    mask = random_mask({n: tuple(params[n].shape) for n in names}, 20, seed=0)
    pruned = {n: torch.from_numpy(~mask.tensors[n]) for n in names}
    enforcer = MaskEnforcer(model, mask)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    x = torch.randint(0, 5, (16, 3))
    for _ in range(5):
        loss = model(x).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        enforcer.mask_gradients()
        for n in names:
            assert (params[n].grad[pruned[n]] == 0).all()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        enforcer.mask_weights()
        for n in names:
            assert (params[n][pruned[n]] == 0).all()
            assert (params[n][~pruned[n]] != 0).all()


def test_enforcer_rejects_a_mask_of_another_model():
    bad = Mask({"enc.0.weight": np.ones((2, 2), dtype=bool)})
    with pytest.raises(InputError, match="enc.0.weight"):
        MaskEnforcer(Tiny(), bad)


def test_mask_file_round_trip_and_metadata(tmp_path):
    w = weights()
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), 50)
    path = tmp_path / "m.safetensors"
    mask.save(path, **mask.metadata(1000, kind="low"))
    loaded, meta = Mask.load(path)
    assert meta["num_pruned"] == mask.num_pruned == loaded.num_pruned
    assert meta["num_prunable"] == 61 and meta["num_total_parameters"] == 1000
    assert equal(loaded, mask)


def test_mask_shape_mismatch_is_named():
    bad = Mask({"a.weight": np.ones((2, 2), dtype=bool)})
    with pytest.raises(InputError, match="a.weight"):
        prune_lowest_magnitude(weights(), bad, 10)


def reference_prune(w, mask, sparsity):
    """The definition, by a full stable sort: the lowest surviving magnitudes go first,
    ties in position order (names sorted, then row-major)."""
    names = sorted(mask.tensors)
    keep = np.concatenate([mask.tensors[n].ravel() for n in names])
    magnitude = np.concatenate([np.abs(w[n]).ravel() for n in names])
    alive = np.flatnonzero(keep)
    extra = num_to_prune(keep.size, sparsity) - (keep.size - alive.size)
    keep[alive[np.argsort(magnitude[alive], kind="stable")[:extra]]] = False
    sizes = np.cumsum([w[n].size for n in names])[:-1]
    return {n: k.reshape(w[n].shape) for n, k in zip(names, np.split(keep, sizes), strict=True)}


@pytest.mark.parametrize("seed", range(5))
def test_selection_agrees_with_a_full_sort_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    # Magnitudes on a coarse grid: most values tie with others, also across tensors.
    w = {
        "x.weight": rng.integers(-6, 7, (30, 17)).astype(np.float32),
        "a.weight": rng.integers(-6, 7, (11, 13)).astype(np.float32),
        "m.weight": rng.integers(-6, 7, 50).astype(np.float32),
    }
    mask = Mask.ones_like(w)
    for sparsity in (10, 20, 50, 90):
        expected = reference_prune(w, mask, sparsity)
        mask = prune_lowest_magnitude(w, mask, sparsity)
        assert all(np.array_equal(mask.tensors[n], expected[n]) for n in w), sparsity


def test_pruning_reads_a_checkpoint_lazily_with_the_same_result(tmp_path):
    w = weights(3)
    save_tensors(tmp_path / "trained.safetensors", {**w, "head.bias": np.ones(3, np.float32)})
    lazy = TensorFile(tmp_path / "trained.safetensors")
    assert lazy.shapes["a.weight"] == (8, 5)
    mask = Mask.ones({n: lazy.shapes[n] for n in w})
    assert equal(prune_lowest_magnitude(lazy, mask, 40), prune_lowest_magnitude(w, mask, 40))


def test_weights_that_cannot_be_ranked_are_named():
    w = weights()
    w["b.weight"][1, 2] = np.nan
    with pytest.raises(InputError, match="b.weight"):
        prune_lowest_magnitude(w, Mask.ones_like(w), 30)


def test_mask_files_are_bit_packed_and_plain_bool_masks_still_load(tmp_path):
    shapes = {"big.weight": (64, 125), "odd.weight": (3, 7)}
    mask = random_mask(shapes, 4000, seed=1)
    path = tmp_path / "m.safetensors"
    mask.save(path)
    tensors, _ = load_tensors(path, framework="np")
    assert tensors["big.weight"].dtype == np.uint8 and tensors["big.weight"].size == 1000
    assert tensors["odd.weight"].size == 3  # 21 bits in 3 bytes
    assert equal(Mask.load(path)[0], mask)
    save_tensors(tmp_path / "bool.safetensors", mask.tensors)
    assert equal(Mask.load(tmp_path / "bool.safetensors")[0], mask)


def test_a_damaged_packed_mask_is_named(tmp_path):
    path = tmp_path / "m.safetensors"
    random_mask({"a.weight": (8, 8)}, 10, seed=0).save(path)
    tensors, meta = load_tensors(path, framework="np")
    save_tensors(path, {"a.weight": tensors["a.weight"][:5]}, meta)
    with pytest.raises(InputError, match=r"m.safetensors.*'a.weight'"):
        Mask.load(path)


def test_random_masks_keep_their_draws():
    """The int32 shuffle draws what ``rng.permutation`` drew: masks made before it are
    the same masks."""
    shapes = {"a.weight": (40, 25), "b.weight": (7,)}
    mask = random_mask(shapes, 300, seed=9)
    keep = np.ones(1007, dtype=bool)
    keep[np.random.default_rng(9).permutation(1007)[:300]] = False
    assert np.array_equal(mask.tensors["a.weight"].ravel(), keep[:1000])
    assert np.array_equal(mask.tensors["b.weight"], keep[1000:])


# --- compact storage of subnetworks -------------------------------------------------------


def subnetwork_state(seed=0):
    w = weights(seed)
    mask = prune_lowest_magnitude(w, Mask.ones_like(w), 60)
    state = {k: v * mask.tensors[k] for k, v in w.items()}
    state["head.bias"] = np.arange(3, dtype=np.float32)
    return state, mask


def test_compact_checkpoints_are_lossless_and_smaller(tmp_path):
    state, mask = subnetwork_state()
    tensors, layout = compact(state, mask.tensors, "test")
    save_tensors(tmp_path / "c.safetensors", tensors, {"seed": 3, **layout})
    save_tensors(tmp_path / "full.safetensors", state, {"seed": 3})
    for name in ("c", "full"):
        read = CheckpointTensors(tmp_path / f"{name}.safetensors")
        assert read.metadata == {"seed": 3}
        assert sorted(read) == sorted(state)
        assert read.shapes == {k: v.shape for k, v in state.items()}
        for k, v in state.items():
            assert np.array_equal(read[k], v) and read[k].dtype == v.dtype, (name, k)
    stored, _ = load_tensors(tmp_path / "c.safetensors", framework="np")
    assert stored["a.weight"].shape == (mask.tensors["a.weight"].sum(),)
    assert sum(v.nbytes for v in stored.values()) < 0.5 * sum(v.nbytes for v in state.values())


def test_compact_refuses_a_pruned_weight_that_is_not_zero():
    state, mask = subnetwork_state()
    pruned = np.argwhere(~mask.tensors["b.weight"])[0]
    state["b.weight"][tuple(pruned)] = 0.5
    with pytest.raises(ValueError, match="b.weight"):
        compact(state, mask.tensors, "test")


def test_compact_rewinding_is_theta0_times_the_mask(tmp_path):
    theta0 = weights(5)
    mask = random_mask({k: v.shape for k, v in theta0.items()}, 30, seed=0)
    tensors, layout = compact(theta0, mask.tensors, "test", rewind=True)
    save_tensors(tmp_path / "r.safetensors", tensors, layout)
    read = CheckpointTensors(tmp_path / "r.safetensors")
    expected = rewind(theta0, mask)
    assert all(np.array_equal(read[k], expected[k]) for k in theta0)


def test_a_damaged_compact_tensor_is_named(tmp_path):
    state, mask = subnetwork_state()
    tensors, layout = compact(state, mask.tensors, "test")
    tensors["a.weight"] = tensors["a.weight"][:-1]
    save_tensors(tmp_path / "c.safetensors", tensors, layout)
    with pytest.raises(InputError, match=r"c.safetensors: compact tensor 'a.weight'"):
        CheckpointTensors(tmp_path / "c.safetensors")["a.weight"]
