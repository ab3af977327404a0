"""One-shot pruning of one layer (pruning.one_shot), checked by hand: Wanda's scores on a
small layer, SparseGPT against the optimal brain surgeon's exact solution for one pruned
weight and against magnitude pruning's reconstruction error, exact counts and N:M."""

from __future__ import annotations

import itertools

import pytest
import torch

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import num_to_prune
from lxmert_lth.pruning.one_shot import (
    InputStatistics,
    magnitude_mask,
    n_of_m_mask,
    reconstruction_error,
    row_mask,
    sparsegpt,
    wanda_scores,
)


def _stats(x: torch.Tensor, valid=None, hessian=True) -> InputStatistics:
    stats = InputStatistics(x.shape[-1], hessian)
    stats.add(x, valid)
    return stats


def test_wandas_scores_and_mask_by_hand_without_padding():
    """Two real tokens (1, 2, 0, 0.1) and (1, 0, 2, 0.1), and a padding token that counts
    nowhere: input norms sqrt(2), 2, 2, 0.1 sqrt(2)."""
    w = torch.tensor([[1.0, -2.0, 3.0, -4.0], [4.0, 3.0, -2.0, 1.0]])
    x = torch.tensor([[[1.0, 2.0, 0.0, 0.1], [1.0, 0.0, 2.0, 0.1], [50.0, 50.0, 50.0, 50.0]]])
    valid = torch.tensor([[True, True, False]])
    stats = _stats(x, valid)
    assert stats.tokens == 2
    r2 = 2**0.5
    assert stats.norms.tolist() == pytest.approx([r2, 2.0, 2.0, 0.1 * r2])
    scores = wanda_scores(w, stats.norms)
    expected = [r2, 4.0, 6.0, 0.4 * r2, 4 * r2, 6.0, 4.0, 0.1 * r2]
    assert scores.reshape(-1).tolist() == pytest.approx(expected)
    # Half of each row: row 0 loses inputs 3 and 0 (0.57, 1.41) where magnitude would
    # lose 0 and 1 (|w| 1, 2): the small input makes -4 matter least; row 1 loses 3, 2.
    assert row_mask(scores, 50).tolist() == [[False, True, True, False], [True, True, False, False]]
    assert magnitude_mask(w, 50, per_row=True).tolist()[0] == [False, False, True, True]
    # Over the whole layer, magnitude keeps the four largest: 3, -4, 4, 3.
    assert magnitude_mask(w, 50, per_row=False).tolist() == [
        [False, False, True, True], [True, True, False, False]
    ]  # fmt: skip


def test_masks_prune_exact_counts_and_n_of_m_keeps_the_largest_of_each_group():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(6, 16, generator=g, dtype=torch.float64)
    for sparsity in (10, 25, 50, 70, 90):
        assert (~magnitude_mask(scores, sparsity, per_row=False)).sum() == num_to_prune(
            96, sparsity
        )
        per_row = (~magnitude_mask(scores, sparsity, per_row=True)).sum(1)
        assert per_row.tolist() == [num_to_prune(16, sparsity)] * 6
    keep = n_of_m_mask(scores, 2, 4)
    groups = keep.reshape(6, 4, 4)
    assert (groups.sum(-1) == 2).all()
    top = scores.reshape(6, 4, 4).topk(2, dim=-1).indices
    assert torch.equal(groups, torch.zeros_like(groups).scatter_(-1, top, True))
    with pytest.raises(InputError, match="not groups of 4"):
        n_of_m_mask(scores[:, :6], 2, 4)


def _layer(seed: int, rows: int = 16, cols: int = 32, tokens: int = 200):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    x = torch.randn(tokens, cols, generator=g, dtype=torch.float64)
    x = x @ torch.randn(cols, cols, generator=g, dtype=torch.float64)  # correlated inputs
    return w, x


def test_sparsegpt_prunes_one_weight_as_the_optimal_brain_surgeon():
    """With one weight pruned, in the first column, SparseGPT's update of its row is OBS's
    exact one: delta = -w_q / [H^-1]_qq * H^-1[:, q] (H dampened as SparseGPT's)."""
    w, x = _layer(1, rows=3, cols=6, tokens=40)
    w[1, 0] = 1e-3  # the lowest w^2 / [H^-1]_qq
    stats = _stats(x)
    sparsity = 100 / 18  # one of 18 weights
    new, keep = sparsegpt(w, stats, sparsity, block_size=4, dampening=0.01)
    assert (~keep).nonzero().tolist() == [[1, 0]]
    h = stats.xtx + 0.01 * torch.diag(stats.xtx).mean() * torch.eye(6, dtype=torch.float64)
    hinv = torch.linalg.inv(h)
    expected = w.clone()
    expected[1] -= w[1, 0] / hinv[0, 0] * hinv[:, 0]
    assert new[1, 0] == 0
    assert torch.allclose(new, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_sparsegpt_reconstructs_better_than_magnitude_pruning(seed):
    w, x = _layer(seed)
    stats = _stats(x)
    new, keep = sparsegpt(w, stats, 50, block_size=8)
    magnitude = w * magnitude_mask(w, 50, per_row=True)
    assert (~keep).sum() == num_to_prune(w.numel(), 50)
    assert not new[~keep].any()
    assert reconstruction_error(w, new, stats) < reconstruction_error(w, magnitude, stats)


def test_sparsegpts_counts_are_exact_over_uneven_blocks_and_n_of_m():
    w, x = _layer(7, rows=5, cols=10)
    stats = _stats(x)
    for sparsity in (10, 33, 50, 90):
        _, keep = sparsegpt(w, stats, sparsity, block_size=4)
        assert (~keep).sum() == num_to_prune(50, sparsity)
    w, x = _layer(8, rows=5, cols=16)
    new, keep = sparsegpt(w, _stats(x), n_of_m=(2, 4), block_size=8)
    assert (keep.reshape(5, 4, 4).sum(-1) == 2).all() and not new[~keep].any()
    with pytest.raises(InputError, match="block size 6 is not a multiple of M = 4"):
        sparsegpt(w, _stats(x), n_of_m=(2, 4), block_size=6)


def test_a_hessian_not_positive_definite_names_the_layer_and_the_option():
    w, x = _layer(2, rows=4, cols=8, tokens=3)  # rank 3 of 8: singular without dampening
    with pytest.raises(InputError, match=r"lxmert.encoder.layer.0.attention.self.query: the "
                       r"Hessian .* raise one_shot.dampening"):  # fmt: skip
        sparsegpt(
            w, _stats(x), 50, dampening=0.0, layer="lxmert.encoder.layer.0.attention.self.query"
        )
    new, _ = sparsegpt(w, _stats(x), 50, dampening=0.01)
    assert torch.isfinite(new).all()


def test_a_dead_input_is_pruned_nowhere_but_zeroed():
    """An input that is zero on every token has no curvature: SparseGPT gives it H = 1 and
    zeroes its column, as the reference does."""
    w, x = _layer(3, rows=4, cols=8)
    x[:, 5] = 0
    new, keep = sparsegpt(w, _stats(x), 25, block_size=4)
    assert not new[:, 5].any() and torch.isfinite(new).all()
    assert (~keep).sum() == num_to_prune(32, 25)


# --- a whole network, group by group (pruning.calibration) ------------------------------


def _network(name: str):
    from test_families import batch

    from lxmert_lth.models import families
    from lxmert_lth.pruning.enforcement import prunable_parameter_names
    from tiny_models import small_model

    family = families.get(name)
    model = small_model(name)
    inputs = family.inputs(batch(4))
    inputs["attention_mask"] = inputs["attention_mask"].clone()
    inputs["attention_mask"][:, 5:] = 0  # the last two word pieces are padding
    return model, [inputs], prunable_parameter_names(model, family.prunable_modules)


@pytest.mark.parametrize("name", ["lxmert", "visualbert", "vilt"])
@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
def test_every_layer_of_every_family_loses_its_share(name, method):
    from lxmert_lth.pruning.calibration import OneShotOptions, calibrated_mask

    model, batches, names = _network(name)
    mask = calibrated_mask(model, batches, names, OneShotOptions(method, 50), progress=False)
    params = dict(model.named_parameters())
    assert sorted(mask.tensors) == sorted(names)
    for n, keep in mask.tensors.items():
        assert (~keep).sum() == num_to_prune(keep.size, 50)
        assert not params[n].detach().numpy()[~keep].any()
        if method == "wanda":  # the same share of every row
            assert len(set((~keep).sum(1).tolist())) == 1


def test_padding_changes_nothing_and_each_group_reads_the_pruned_groups_before_it():
    """Word pieces at padded positions do not move the mask; the second group's mask is
    Wanda's on the inputs it gets once the first group is pruned."""
    import copy

    from lxmert_lth.pruning.calibration import (
        OneShotOptions,
        _collect,
        calibrated_mask,
        layer_groups,
    )

    model, batches, names = _network("lxmert")
    dense = copy.deepcopy(model)
    options = OneShotOptions("wanda", 50)
    mask = calibrated_mask(model, batches, names, options, progress=False)
    other, padded, _ = _network("lxmert")
    padded[0]["input_ids"] = padded[0]["input_ids"].clone()
    padded[0]["input_ids"][:, 5:] = 3
    again = calibrated_mask(other, padded, names, options, progress=False)
    assert all((mask.tensors[n] == again.tensors[n]).all() for n in names)

    first, second = layer_groups(dense, names)[:2]
    modules = dict(dense.named_modules())
    with torch.no_grad():
        for n in first:
            modules[n].weight.mul_(torch.from_numpy(mask.tensors[f"{n}.weight"]))
    stats = _collect(dense, batches, {n: modules[n] for n in second}, hessian=False)
    for n in second:
        expected = row_mask(wanda_scores(modules[n].weight, stats[n].norms), 50)
        assert (expected.numpy() == mask.tensors[f"{n}.weight"]).all()


# --- the workflow's one-shot kinds (rules/one_shot.smk, workflow.stages.one_shot) ------


def test_one_shot_jobs_make_both_networks_from_the_dense_one():
    from test_rules import _Wildcards, rules

    r = rules("one_shot")
    assert r.one_shot_methods() == ["magnitude", "sparsegpt", "wanda"]
    wildcards = _Wildcards(seed=1, kind="wanda", sparsity=50)
    assert r.mask_sources(wildcards) == {
        "trained": "results-one_shot/seed1/dense/model.safetensors"
    }
    assert r.mask_params(wildcards)["method"] == "wanda"
    trained = {n.name for n in r.trained_networks() if n.seed == 1}
    assert "wandaft50" in trained and "wanda50" not in trained
    jobs = dict((path, label) for label, path in r.benchmarked_jobs())
    assert jobs["results-one_shot/benchmarks/seed1/one_shot_wanda50.tsv"] == "one-shot wanda"
    # The seconds of calibration and pruning beside the benchmark: no result file holds a
    # time, so a rerun writes the same results byte for byte.
    benchmarks, pruning = r.one_shot_cost_files()
    assert benchmarks["seed1/wandaft50"] == "results-one_shot/benchmarks/seed1/one_shot_wanda50.tsv"
    assert (
        pruning["seed1/wanda50"]
        == "results-one_shot/benchmarks/seed1/one_shot_wanda50.pruning.json"
    )
    # retrain_subnetwork never makes them, even with the controls' weights kept.
    kept = rules("one_shot", study={"keep_control_weights": True}).kinds_with_weights()
    assert not set(kept.split("|")) & {"wanda", "wandaft", "magnitude", "sparsegptft"}


@pytest.mark.parametrize(
    "overlay, message",
    [
        ("pruning: {granularity: heads_neurons}\nstudy: {sparsities: [50], table_sparsity: 50}",
         "prunes single weights: pruning.granularity must be unstructured or n_of_m"),
        ("stability: {enabled: true}", "not rewound"),
    ],
)  # fmt: skip
def test_what_one_shot_kinds_cannot_do_is_refused(tmp_path, overlay, message):
    from pathlib import Path

    from lxmert_lth.core.errors import ConfigError
    from lxmert_lth.core.schema import SCHEMA
    from lxmert_lth.workflow.plan import load_config

    root = Path(__file__).resolve().parents[1]
    path = tmp_path / "overlay.yaml"
    path.write_text(overlay + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config([root / "config.yaml", root / "configs" / "one_shot.yaml", path], SCHEMA)


@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt"])
def test_the_stage_prunes_each_method_to_its_count_on_calibration_drawn_by_seed(tmp_path, method):
    from test_images import pretraining_split

    from lxmert_lth.core.network import Network
    from lxmert_lth.core.options import PruningOptions
    from lxmert_lth.core.schema import defaults
    from lxmert_lth.models import families
    from lxmert_lth.pruning.enforcement import prunable_parameter_names
    from lxmert_lth.workflow.stages.one_shot import _calibration, _prune
    from tiny_models import small_model

    _, _, split = pretraining_split(tmp_path)
    model = small_model("vilt")
    one = _calibration(model, split, 5, 4, seed=3)
    assert [b["input_ids"].shape[0] for b in one] == [4, 1]
    two = _calibration(model, split, 5, 4, seed=3)
    assert all(
        torch.equal(a["pixel_values"], b["pixel_values"]) for a, b in zip(one, two, strict=True)
    )
    names = prunable_parameter_names(model, families.get("vilt").prunable_modules)
    settings = {**defaults("one_shot"), "calibration_questions": 8}
    pruning = PruningOptions.of({}, partial=True)
    mask = _prune(model, names, split, Network(0, method, 40), settings, pruning, 4)
    # Magnitude ranks all weights together (global), SparseGPT each layer, Wanda each row.
    shapes = [t.shape for t in mask.tensors.values()]
    expected = {
        "magnitude": num_to_prune(sum(r * c for r, c in shapes), 40),
        "sparsegpt": sum(num_to_prune(r * c, 40) for r, c in shapes),
        "wanda": sum(r * num_to_prune(c, 40) for r, c in shapes),
    }
    assert mask.num_pruned == expected[method]
    params = dict(model.named_parameters())
    assert all(not params[n].detach().numpy()[~k].any() for n, k in mask.tensors.items())


def test_the_plan_counts_one_shot_jobs_apart_from_fine_tunes(tmp_path):
    """The paper configuration with the three one-shot methods: 81 jobs (3 methods, 9
    sparsities, 3 seeds), each a calibration pass per layer group (LXMERT-base: 9 + 5 +
    5 layers and the pooler), one epoch of retraining and two scorings."""
    from pathlib import Path

    from lxmert_lth.core.schema import SCHEMA
    from lxmert_lth.workflow import plan

    root = Path(__file__).resolve().parents[1]
    overlay = tmp_path / "one_shot.yaml"
    overlay.write_text("study:\n  kinds: [low, high, random, wanda, wandaft, sparsegpt, "
                       "sparsegptft, magnitude, magnitudeft]\n")  # fmt: skip
    config = plan.load_config([root / "configs" / "paper.yaml", overlay], SCHEMA)
    text = plan.report(config, [1], None)
    assert "  one_shot_prune            81" in text and "  retrain_subnetwork        81" in text
    assert "Fine-tunes: 84 (3 dense, 27 high, 27 low, 27 random)" in text
    q = plan.question_counts(config)
    samples = q.train + plan.EVAL_COST * (2 * q.val + 2 * q.test + 128 * 20)
    assert "(20 passes over 128 questions)" in text and f"= {samples:,.0f} training" in text


def test_the_cost_of_each_kind_from_the_dense_network_by_hand():
    """The ticket at 20 %: its two retrainings (10 and 20); one-shot as pruned: its own
    seconds; a seed without a record: no cost."""
    import pandas as pd

    from lxmert_lth.reporting.one_shot import build_costs, seconds_from_dense

    scores = pd.DataFrame([
        {"kind": "low", "sparsity": 20, "seed": 0, "overall": 80.0},
        {"kind": "low", "sparsity": 20, "seed": 1, "overall": 82.0},
        {"kind": "wanda", "sparsity": 20, "seed": 0, "overall": 70.0},
        {"kind": "wanda", "sparsity": 20, "seed": 1, "overall": 72.0},
    ])  # fmt: skip
    seconds = {("low", 10, 0): 5.0, ("low", 20, 0): 7.0, ("low", 10, 1): 6.0,
               ("low", 20, 1): 8.0, ("wanda", 20, 0): 0.5}  # fmt: skip
    scores["seconds"] = seconds_from_dense(scores, seconds, 10)
    assert scores.seconds.tolist()[:3] == [12.0, 14.0, 0.5] and pd.isna(scores.seconds[3])
    scores["cpu_seconds"] = seconds_from_dense(scores, {k: v / 2 for k, v in seconds.items()}, 10)
    table = build_costs(scores, 20).set_index("method")
    assert table.loc["low-magnitude", "seconds from dense at 20%"] == "13.00 ± 1.41"
    assert table.loc["low-magnitude", "CPU seconds from dense at 20%"] == "6.50 ± 0.71"
    assert table.loc["Wanda", "seconds from dense at 20%"] == "0.50"
    assert table.loc["Wanda", "accuracy at 20%"] == "71.00 ± 1.41"


ONE_SHOT_KINDS = ["magnitude", "magnitudeft", "wanda", "wandaft", "sparsegpt", "sparsegptft"]
# What a one-shot overlay runs over a finished study: the one-shot jobs and the reports.
REPORTS = {"collect_scores", "job_costs", "module_sparsity", "training_curves", "figure1",
           "table1", "ticket_speed", "one_shot_costs", "all"}  # fmt: skip


def _planned_jobs(workdir, config) -> dict[str, int]:
    from conftest import snakemake

    dry = snakemake(workdir, "-n", "--cores", "2", configfile=config).stdout
    table = dry.split("Job stats:")[1].split("total")[0].splitlines()[3:]
    return {line.split()[0]: int(line.split()[1]) for line in table if line.strip()}


def test_one_shot_kinds_run_beside_the_finished_study_as_a_scoped_rerun(run_copy):
    """configs/one_shot.yaml's kinds over the finished test run: only the one-shot jobs
    (one per seed, method and sparsity) and the reports run; every mask prunes its
    sparsity; the costs table has a row for each method as pruned and retrained; changing
    the calibration size reruns the one-shot jobs and the reports, nothing of the study.
    Its digests (tests/config/digests/one_shot.json) hold docs/results.md's one-shot block."""
    import pandas as pd

    from conftest import check_study_digests, snakemake, write_config
    from lxmert_lth.core.masks import Mask

    kinds = {"kinds": ["low", "high", "random", *ONE_SHOT_KINDS]}
    config = write_config(run_copy, "one_shot.yaml", study=kinds)
    jobs = _planned_jobs(run_copy, config)
    assert jobs.pop("one_shot_prune") == 2 * 3 * 3 and set(jobs) == REPORTS
    snakemake(run_copy, "--cores", "2", configfile=config)
    res = run_copy / "results-test"
    for seed, kind, sparsity in itertools.product((0, 1), ONE_SHOT_KINDS, (25, 50, 75)):
        mask, _ = Mask.load(res / f"seed{seed}/{kind}{sparsity}/mask.safetensors")
        assert abs(mask.sparsity - sparsity) < 1, (seed, kind, sparsity)
    methods = pd.read_csv(res / "benchmarks/one_shot.csv").method.tolist()
    assert methods[0] == "low-magnitude" and methods[-1] == "random" and len(methods) == 8
    check_study_digests("one_shot", res)
    fewer = write_config(
        run_copy, "fewer.yaml", study=kinds, one_shot={"calibration_questions": 16}
    )
    jobs = _planned_jobs(run_copy, fewer)
    assert jobs.pop("one_shot_prune") == 18 and set(jobs) <= REPORTS
