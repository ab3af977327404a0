"""Pruning granularities (lxmert_lth.pruning.granularities): N:M masks and whole heads and
neurons, each kind's definition and its exact counts, the study's grid for each, and the
smaller networks of heads_neurons tickets."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from conftest import check_study_digests
from lxmert_lth.core.checkpoints import CheckpointMeta
from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.models import families
from lxmert_lth.models.modeling import num_parameters, save_checkpoint
from lxmert_lth.pruning.chain import fine_tunes, mask_sources
from lxmert_lth.pruning.enforcement import prunable_parameter_names
from lxmert_lth.pruning.groups import n_of_m_mask, random_n_of_m_mask, shuffle_groups
from lxmert_lth.workflow.checks import _check_schedule
from lxmert_lth.workflow.stages.subnetworks import MaskSources, make_mask
from tiny_models import ARCH, small_model

SHAPES = {"a.weight": (6, 8), "b.weight": (3, 12)}


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in SHAPES.items()}


def groups(mask: Mask, m: int = 4) -> np.ndarray:
    """Each group's kept count, over every tensor."""
    return np.concatenate([keep.reshape(-1, m).sum(1) for keep in mask.tensors.values()])


def test_the_schema_offers_exactly_the_registered_granularities():
    from lxmert_lth.core.schema import load_schema
    from lxmert_lth.pruning.granularities import GRANULARITIES, get

    pruning = load_schema()["properties"]["pruning"]["properties"]
    assert pruning["granularity"]["enum"] == list(GRANULARITIES)
    assert pruning["granularity"]["default"] == "unstructured"
    with pytest.raises(KeyError, match="pruning.granularity: 'blocks' is not one of"):
        get("blocks")


def options(**kw) -> PruningOptions:
    return PruningOptions.of({"step": 10, "ranking": "global", "random": "global",
                              "granularity": "n_of_m", **kw})  # fmt: skip


def test_each_masks_rerun_triggers_are_its_granularitys_options():
    """Single weights: only the options that change the mask (the paper's values add
    nothing, so the paper's runs keep their jobs); structures and groups: the granularity's
    own keys, whatever the single-weight options say."""
    from lxmert_lth.pruning.kinds import KINDS

    def params(**pruning):
        options = PruningOptions.of({"step": 10, "ranking": "global", "random": "global",
                                     **pruning})  # fmt: skip
        return {k: KINDS[k].params(options, {}) for k in ("low", "high", "random", "shuffled")}

    assert params() == {"low": {"ranking": "global"}, "high": {}, "random": {"random": "global"},
                        "shuffled": {}}  # fmt: skip
    authors = params(ranking="per_tensor", schedule="remaining", high="authors",
                     random="per_layer")  # fmt: skip
    assert authors == {"low": {"ranking": "per_tensor", "schedule": "remaining", "step": 10},
                       "high": {"high": "authors"}, "random": {"random": "per_layer"},
                       "shuffled": {}}  # fmt: skip
    heads = params(granularity="heads_neurons")
    assert heads["low"] == heads["high"] == heads["shuffled"] == {"granularity": "heads_neurons"}
    assert heads["random"] == {"random": "global", **heads["low"]}


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
    # The authors' ways of ranking single weights mean nothing for groups or structures.
    with pytest.raises(ConfigError, match="pruning.schedule: 'remaining' ranks or draws single"):
        _check_schedule(study, options(granularity="heads_neurons", schedule="remaining"))
    with pytest.raises(ConfigError, match="pruning.random: 'per_layer'.*leave it 'global'"):
        _check_schedule(study, options(random="per_layer"))
    with pytest.raises(ConfigError, match="pruning.structure_ranking: heads and neurons are"):
        _check_schedule(study, options(structure_ranking="separate"))
    for other in ("heads_neurons", "unstructured"):
        with pytest.raises(ConfigError, match=f"pruning.n_of_m: 1 of every 4 are kept only with "
                           f"pruning.granularity n_of_m, not {other}"):  # fmt: skip
            _check_schedule(study, options(granularity=other, n_of_m={"n": 1, "m": 4}))


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
    family = families.get("lxmert")
    model = tiny("lxmert")
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
def test_the_study_runs_with_two_of_four_masks(run_copy, tmp_path):
    """On a copy of the test run: its data, pre-training and dense networks are reused,
    the masks and retrained subnetworks made anew."""
    import pandas as pd

    from conftest import load_config, snakemake, write_config
    from lxmert_lth.core.checkpoints import CheckpointTensors

    config = write_config(
        tmp_path,
        "n_of_m.yaml",
        pruning={"granularity": "n_of_m", "n_of_m": {"n": 2, "m": 4}},
        study={
            "seeds": [0],
            "sparsities": [50],
            "table_sparsity": 50,
            "kinds": ["low", "high", "random"],
        },  # fmt: skip
    )
    snakemake(run_copy, "--cores", "2", configfile=config)
    results = run_copy / load_config()["results"]
    check_study_digests("n_of_m", results)
    masks = {k: Mask.load(results / f"seed0/{k}50/mask.safetensors")[0]
             for k in ("low", "high", "random")}  # fmt: skip
    for kind, mask in masks.items():
        assert (groups(mask) == 2).all(), kind
    low, high = masks["low"], masks["high"]
    assert all(np.array_equal(high.tensors[n], ~low.tensors[n]) for n in low.tensors)
    # The ticket is the dense network's 2:4 mask, and it held through retraining.
    trained = CheckpointTensors(results / "seed0/low50/model.safetensors")
    for name, keep in low.tensors.items():
        assert not trained[name][~keep].any(), name
    scores = pd.read_csv(results / "scores.csv")
    assert sorted(scores["kind"]) == ["dense", "high", "low", "random"]
    assert (scores.loc[scores["kind"] != "dense", "sparsity"] == 50).all()
    # Only whole heads and neurons can be cut out.
    target = f"{load_config()['results']}/export/seed0/low50-smaller"
    refused = snakemake(run_copy, "--cores", "1", target, configfile=config, check=False)
    assert refused.returncode != 0 and "only a network of whole heads and neurons" in refused.stderr


# --- heads and neurons (lxmert_lth.pruning.structures) --------------------------------------------

# LXMERT with one language layer: five attention blocks in all.
ARCHS = {**ARCH, "lxmert": {**ARCH["lxmert"], "l_layers": 1}}
# (heads, neurons): LXMERT's language and vision layers one self-attention and one
# feed-forward block each, its cross-modality layer the cross-attention, two
# self-attentions and two feed-forward blocks; the single streams one of each per layer.
EXPECTED = {"lxmert": (5 * 2, 4 * 32), "visualbert": (2 * 2, 2 * 32), "vilt": (2 * 2, 2 * 32)}


def tiny(name: str):
    """A family's tiny network (seeded) with the architecture of ARCHS."""
    return small_model(name, **ARCHS[name])


def small(name: str):
    family = families.get(name)
    model = tiny(name)
    names = prunable_parameter_names(model, family.prunable_modules)
    state = {n: model.get_parameter(n).detach().numpy().copy() for n in names}
    return family, {n: v.shape for n, v in state.items()}, state


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_each_family_declares_its_heads_and_neurons(name):
    from lxmert_lth.pruning.structures import HEAD, NEURON, find_structures

    family, shapes, _ = small(name)
    structures, sizes = find_structures(family, shapes, num_heads=2)
    heads = [s for s in structures if s.kind == HEAD]
    neurons = [s for s in structures if s.kind == NEURON]
    assert (len(heads), len(neurons)) == EXPECTED[name]
    assert {sizes[s] for s in heads} == {4 * 8 * 16} and {sizes[s] for s in neurons} == {2 * 16}
    if name == "lxmert":  # the cross-attention is covered
        assert any("visual_attention" in s.block for s in heads)


def test_a_pruned_head_is_its_rows_and_columns_and_a_neuron_its_row_and_column():
    from lxmert_lth.pruning.structures import find_structures, structured_mask

    family, shapes, _ = small("visualbert")
    structures, _ = find_structures(family, shapes, num_heads=2)
    head = structures[1]  # layer 0, head 1
    neuron = next(s for s in structures if s.kind == "neuron" and s.index == 5)
    mask = structured_mask(shapes, structures, [s in (head, neuron) for s in structures])
    layer = "visual_bert.encoder.layer.0."
    q = mask.tensors[layer + "attention.self.query.weight"]
    assert not q[8:].any() and q[:8].all()  # head 1's 8 rows of 16
    out = mask.tensors[layer + "attention.output.dense.weight"]
    assert not out[:, 8:].any() and out[:, :8].all()
    inner = mask.tensors[layer + "intermediate.dense.weight"]
    assert not inner[5].any() and inner[[4, 6]].all()
    assert not mask.tensors[layer + "output.dense.weight"][:, 5].any()
    assert mask.num_pruned == 4 * 8 * 16 + 2 * 16
    assert mask.tensors["visual_bert.pooler.dense.weight"].all()  # never pruned


def test_heads_neurons_imp_prunes_the_lowest_scored_structures_to_the_sparsity():
    from lxmert_lth.pruning.structures import (
        find_structures,
        heads_neurons_mask,
        pruned_structures,
        scores,
    )

    family, shapes, state = small("lxmert")
    structures, sizes = find_structures(family, shapes, num_heads=2)
    total = sum(int(np.prod(s)) for s in shapes.values())
    low30 = heads_neurons_mask(state, shapes, family, 2, 30)
    gone = pruned_structures(low30, structures)
    score = scores(state, structures)
    assert score[gone].max() <= score[~gone].min()  # the lowest-scored went
    largest = max(sizes.values())
    assert 0.30 * total <= low30.num_pruned < 0.30 * total + largest
    # The next level prunes among what the last kept: the masks nest.
    low50 = heads_neurons_mask(state, shapes, family, 2, 50, previous=low30)
    assert all((low50.tensors[n] <= low30.tensors[n]).all() for n in shapes)
    assert low50.num_pruned >= 0.5 * total
    high = heads_neurons_mask(state, shapes, family, 2, 30, largest=True)
    top = pruned_structures(high, structures)
    assert score[top].min() >= score[~top].max()  # the highest-scored went
    assert 0.30 * total <= high.num_pruned < 0.30 * total + largest
    random = heads_neurons_mask(None, shapes, family, 2, 30, seed=7)
    again = heads_neurons_mask(None, shapes, family, 2, 30, seed=7)
    assert all(np.array_equal(random.tensors[n], again.tensors[n]) for n in shapes)
    assert random.num_pruned >= 0.3 * total


def test_each_kind_makes_its_heads_neurons_mask_from_a_checkpoint(tmp_path):
    """make_mask under heads_neurons: the ticket by IMP over structures, high the
    complement within structures, random and shuffled whole structures."""
    from lxmert_lth.pruning.structures import find_structures, pruned_structures, structured_mask

    family, shapes, state = small("lxmert")
    model = tiny("lxmert")
    names = sorted(shapes)
    meta = CheckpointMeta(config=model.config.to_dict(), answers=list("abcde"), seed=0,
                          prunable=names, num_total_parameters=num_parameters(model))  # fmt: skip
    trained = tmp_path / "model.safetensors"
    save_checkpoint(trained, model, meta)
    structures, _ = find_structures(family, shapes, 2)
    hn = options(granularity="heads_neurons")
    made = {}
    for kind, sparsity, sources in [
        ("low", 30, MaskSources(trained=str(trained))),
        ("oneshot", 30, MaskSources(trained=str(trained))),
        ("random", 30, MaskSources()),
    ]:
        made[kind], how = make_mask(Network(0, kind, sparsity), shapes, meta, sources, hn)
        assert how["granularity"] == "heads_neurons"
    low30 = str(tmp_path / "low30.safetensors")
    made["low"].save(low30)
    high = make_mask(Network(0, "high", 70), shapes, meta, MaskSources(low_mask=low30), hn)
    shuffled = make_mask(Network(0, "shuffled", 30), shapes, meta, MaskSources(reference=low30), hn)
    made["high"], made["shuffled"] = high[0], shuffled[0]
    for kind, mask in made.items():
        gone = pruned_structures(mask, structures)
        # Whole structures only: every weight of a structure pruned or none.
        rebuilt = structured_mask(shapes, structures, gone)
        assert all(np.array_equal(rebuilt.tensors[n], mask.tensors[n]) for n in names), kind
    low_gone = pruned_structures(made["low"], structures)
    assert np.array_equal(pruned_structures(made["high"], structures), ~low_gone)
    assert np.array_equal(pruned_structures(made["oneshot"], structures), low_gone)
    assert pruned_structures(made["shuffled"], structures).sum() == low_gone.sum()
    assert made["random"].num_pruned >= 0.3 * made["random"].num_prunable


@pytest.mark.slow
def test_the_study_runs_with_heads_and_neurons(run_copy, tmp_path):
    """IMP over whole heads and neurons, end to end: every mask prunes whole structures,
    the levels nest, and the high mask is the ticket's complement within structures."""
    import pandas as pd

    from conftest import load_config, snakemake, write_config
    from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors
    from lxmert_lth.pruning.structures import find_structures, pruned_structures, structured_mask

    config = write_config(
        tmp_path,
        "heads_neurons.yaml",
        pruning={"granularity": "heads_neurons"},
        study={
            "seeds": [0],
            "sparsities": [50],
            "table_sparsity": 50,
            "kinds": ["low", "high"],
        },  # fmt: skip
    )
    snakemake(run_copy, "--cores", "2", configfile=config)
    results = run_copy / load_config()["results"]
    check_study_digests("heads_neurons", results)
    theta0 = CheckpointTensors(results / "seed0/theta0.safetensors")
    meta = CheckpointMeta.from_json(theta0.metadata, "theta0")
    shapes = {n: theta0.shapes[n] for n in meta.prunable}
    heads = meta.config["num_attention_heads"]
    structures, _ = find_structures(families.get("lxmert"), shapes, heads)
    masks = {k: Mask.load(results / "seed0" / k / "mask.safetensors")[0]
             for k in ("low25", "low50", "high50")}  # fmt: skip
    for name, mask in masks.items():
        gone = pruned_structures(mask, structures)
        rebuilt = structured_mask(shapes, structures, gone)
        assert all(np.array_equal(rebuilt.tensors[n], mask.tensors[n]) for n in shapes), name
    low25, low50 = (pruned_structures(masks[k], structures) for k in ("low25", "low50"))
    assert (low50 >= low25).all()  # the levels nest
    assert np.array_equal(pruned_structures(masks["high50"], structures), ~low50)
    assert masks["low50"].sparsity >= 50.0
    # The ticket made smaller answers as the masked network does.
    from lxmert_lth.models.modeling import load_checkpoint
    from lxmert_lth.pruning.shrink import load_smaller
    from lxmert_lth.training.inference import answer_logits

    snakemake(run_copy, "--cores", "1", f"{load_config()['results']}/export/seed0/low50-smaller",
              configfile=config)  # fmt: skip
    smaller = load_smaller(results / "export/seed0/low50-smaller")
    masked, _ = load_checkpoint(results / "seed0/low50/model.safetensors")
    dim = masked.config.visual_feat_dim
    inputs = {**batch(), "visual_feats": torch.rand(3, 4, dim, generator=torch.Generator())}
    torch.testing.assert_close(answer_logits(smaller, inputs), answer_logits(masked.eval(), inputs),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    assert sum(p.numel() for p in smaller.parameters()) < sum(
        p.numel() for p in masked.parameters()
    )
    # ticket_speed: the ticket without its pruned heads and neurons has fewer parameters.
    speed = pd.read_csv(results / "benchmarks/speed.csv").set_index(["kind", "sparsity"])
    assert speed.loc[("low", 50), "parameters"] < speed.loc[("dense", 0), "parameters"]
    assert (results / "benchmarks/speed.png").exists()


# --- smaller networks (lxmert_lth.pruning.shrink) --------------------------------------


def batch(n: int = 3) -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "input_ids": torch.randint(5, 40, (n, 7), generator=g),
        "attention_mask": torch.ones(n, 7, dtype=torch.long),
        "token_type_ids": torch.zeros(n, 7, dtype=torch.long),
        "visual_feats": torch.rand(n, 4, 6, generator=g),
        "visual_pos": torch.rand(n, 4, 4, generator=g),
        "pixel_values": torch.rand(n, 3, 16, 16, generator=g) * 2 - 1,
        "pixel_mask": torch.ones(n, 16, 16, dtype=torch.long),
    }


@pytest.mark.parametrize("name", sorted(ARCHS))
@pytest.mark.parametrize("sparsity", [30, 70, 95])
def test_a_smaller_network_answers_as_the_masked_one(name, sparsity, tmp_path):
    """Heads and neurons removed for real give the masked network's logits, with fewer
    parameters; at 95 % some blocks lose every head or neuron and keep one of zeros."""
    from lxmert_lth.pruning.shrink import load_smaller, save_smaller
    from lxmert_lth.pruning.structures import heads_neurons_mask
    from lxmert_lth.training.inference import answer_logits

    family, shapes, state = small(name)
    model = tiny(name).eval()
    mask = heads_neurons_mask(state, shapes, family, 2, sparsity)
    with torch.no_grad():
        for n, keep in mask.tensors.items():
            model.get_parameter(n).mul_(torch.from_numpy(keep))
    torch.manual_seed(1)
    expected = answer_logits(model, batch())
    counts = save_smaller(model, mask, str(tmp_path / "smaller"))
    assert counts["kept_parameters"] < counts["parameters"]
    smaller = load_smaller(tmp_path / "smaller")
    assert sum(p.numel() for p in smaller.parameters()) == counts["kept_parameters"]
    torch.manual_seed(1)
    torch.testing.assert_close(answer_logits(smaller, batch()), expected, rtol=1e-5, atol=1e-5)


def test_separate_rankings_prune_heads_and_neurons_each_to_the_sparsity():
    """The alternative to one shared ranking: heads to s of the heads' weights, neurons
    to s of the neurons', each by its own ranking."""
    from lxmert_lth.pruning.structures import (
        HEAD,
        find_structures,
        heads_neurons_mask,
        pruned_structures,
    )

    family, shapes, state = small("lxmert")
    structures, sizes = find_structures(family, shapes, num_heads=2)
    mask = heads_neurons_mask(state, shapes, family, 2, 50, ranking="separate")
    gone = pruned_structures(mask, structures)
    for kind in ("head", "neuron"):
        members = np.asarray([s.kind == kind for s in structures])
        weights = np.asarray([sizes[s] for s in structures])
        share = weights[members & gone].sum() / weights[members].sum()
        assert 0.5 <= share < 0.5 + weights[members].max() / weights[members].sum(), kind
    shared = heads_neurons_mask(state, shapes, family, 2, 50)
    assert not all(np.array_equal(shared.tensors[n], mask.tensors[n]) for n in shapes)
    assert any(s.kind == HEAD for s in structures)
    with pytest.raises(InputError, match="unknown structure ranking 'both'"):
        heads_neurons_mask(state, shapes, family, 2, 50, ranking="both")


def test_speed_times_every_network_in_turn_and_divides_by_dense(tmp_path, monkeypatch):
    """lxmert_lth.reporting.timing.measure: a warm-up of each, then each pass over the
    networks starts
    one further on; questions per second is the split's size over the median pass, the
    speed-up its ratio to dense."""
    from safetensors.torch import save_file

    from lxmert_lth.reporting import timing

    theta0 = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(4, 4)}, str(theta0))
    networks = [Network(0), Network(0, "low", 50), Network(0, "random", 50)]
    seconds = {None: 2.0, "low.safetensors": 1.0, "random.safetensors": 4.0}
    calls = []

    class Timed(torch.nn.Linear):  # a network known by its mask's path
        def __init__(self, mask):
            super().__init__(2, 1 if mask is None else 2)
            self.mask = mask

    def timed(model, split, batch_size):
        assert not gc.isenabled()  # no collection charged to a network
        assert torch.tensor(1e-40).item() == 0  # subnormals flushed
        calls.append(model.mask)
        return seconds[model.mask]

    monkeypatch.setattr(timing, "_network", lambda theta0, mask, granularity: Timed(mask))
    monkeypatch.setattr(timing, "_seconds", timed)
    masks = {networks[2]: "random.safetensors", networks[1]: "low.safetensors"}
    frame = timing.measure(str(theta0), masks, "unstructured", split=[0] * 8, repeats=3)
    dense, low, random = None, "low.safetensors", "random.safetensors"
    assert calls == [dense, low, random,  # the warm-up
                     dense, low, random, low, random, dense, random, dense, low]  # fmt: skip
    assert list(frame["kind"]) == ["dense", "low", "random"]
    assert list(frame["parameters"]) == [3, 6, 6]
    assert list(frame["questions_per_s"]) == [4.0, 8.0, 2.0]
    assert list(frame["speedup"]) == [1.0, 2.0, 0.5]
    assert gc.isenabled() and torch.tensor(1e-40).item() != 0
