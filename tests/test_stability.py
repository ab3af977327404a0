"""Are tickets stable? The barrier's arithmetic by hand, the interpolation keeping masks,
the pairs a study asks for, and the analysis on the test configuration: copies trained
with their own data-order seeds, the lines, the report, and nothing of the study rerun."""

import json
import re

import pandas as pd
import pytest
import torch

from conftest import check_study_digests, snakemake, write_config
from lxmert_lth.core.network import Network
from lxmert_lth.pruning.chain import stability_pairs
from lxmert_lth.reporting.stability import stability_table
from lxmert_lth.training.connectivity import alphas, barrier, evaluate_line, interpolate

ON = {"enabled": True}


def test_the_barrier_by_hand():
    # The highest error on the line minus the mean of the ends' errors.
    assert barrier([10.0, 12.0, 15.0, 11.0, 10.5]) == pytest.approx(15.0 - 10.25)
    assert barrier([20.0, 18.0, 16.0]) == pytest.approx(20.0 - 18.0)  # the end is the top
    assert alphas(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ValueError):
        alphas(1)


def test_the_line_between_two_small_networks_by_hand():
    # One weight, 0 in copy A and 1 in copy B; accuracy 100 - 40 w (1 - w): the error is
    # 40 alpha (1 - alpha) along the line, 10 at its middle, 0 at its ends.
    model = torch.nn.Linear(1, 1, bias=False)
    a = {"weight": torch.zeros(1, 1)}
    b = {"weight": torch.ones(1, 1)}

    def accuracy(net):
        w = float(net.weight.detach())
        return 100.0 - 40.0 * w * (1.0 - w)

    line = evaluate_line(model, a, b, 11, accuracy)
    assert line["alpha"][5] == 0.5
    assert line["error"] == pytest.approx([40 * x * (1 - x) for x in line["alpha"]])
    assert line["barrier"] == pytest.approx(10.0)


def test_every_point_on_the_line_keeps_the_mask():
    torch.manual_seed(0)
    keep = torch.rand(6, 5) > 0.5
    a = {"weight": torch.randn(6, 5) * keep, "bias": torch.randn(6)}
    b = {"weight": torch.randn(6, 5) * keep, "bias": torch.randn(6)}
    model = torch.nn.Linear(5, 6)
    for alpha in alphas(11):
        interpolate(model, a, b, alpha, {"weight": ~keep})
        assert not model.weight.detach()[~keep].any()
        expected = (1 - alpha) * a["weight"] + alpha * b["weight"]
        assert torch.allclose(model.weight.detach(), expected)
    # A pruned weight that grew back in one copy is refused, not averaged.
    grown = {**b, "weight": b["weight"] + (~keep).float()}
    with pytest.raises(ValueError, match="a pruned weight is not zero"):
        interpolate(model, a, grown, 0.5, {"weight": ~keep})


def test_the_pairs_of_a_study():
    study = {"seeds": [0], "sparsities": [10, 50, 90], "kinds": ["low", "high", "random"],
             "table_sparsity": 50}  # fmt: skip
    pairs = stability_pairs(study, ON)
    assert pairs == [
        (Network(0), "theta0"),
        (Network(0, "low", 50), "theta0"),
        (Network(0, "high", 50), "theta0"),
        (Network(0, "random", 50), "theta0"),
        (Network(0, "low", 10), "theta0"),
        (Network(0, "low", 90), "theta0"),
    ]
    assert stability_pairs(study, {"enabled": False}) == []
    controls = {**study, "kinds": ["low", "late", "reinit"], "late_rewind_step": 5}
    pairs = stability_pairs(controls, ON)
    assert (Network(0), "step5") in pairs
    assert {(Network(0, "late", s), "step5") for s in (10, 50, 90)} <= set(pairs)
    assert (Network(0, "reinit", 50), "fresh") in pairs


def test_the_table_counts_stable_seeds():
    rows = [
        {"kind": "low", "sparsity": 50, "seed": s, "rewind": "theta0", "barrier": b,
         "accuracy": [90.0, 80.0, 91.0], "alpha": [0, 0.5, 1]}
        for s, b in ((0, 0.5), (1, 3.0))
    ]  # fmt: skip
    table = stability_table(pd.DataFrame(rows), 2.0)
    assert table.loc[0, "stable"] == "1/2"
    assert table.loc[0, "barrier"] == "1.75 ± 1.77"
    assert table.loc[0, "copy A accuracy"] == "90.00 ± 0.00"


def test_the_analysis_trains_copies_and_reruns_nothing_of_the_study(run_copy):
    # Order 0 for seed 0's dense network is its own data order: that copy is the
    # study's dense network itself, trained again.
    stability = {"enabled": True, "orders": [0, 1001], "points": 3}
    config = write_config(run_copy, "stability.yaml", stability=stability)
    dry = snakemake(run_copy, "-n", "--cores", "2", configfile=config).stdout
    table = dry.split("Job stats:")[1].split("total")[0].splitlines()[3:]
    jobs = {line.split()[0] for line in table if line.strip()}
    assert jobs == {"stability_copy", "stability_copy_dense", "stability_line",
                    "stability_report", "all"}  # fmt: skip
    targets = [f"results-test/seed0/{n}/stability/theta0/line.json" for n in ("dense", "low50")]
    snakemake(run_copy, "--cores", "2", *targets, configfile=config)
    dense = json.loads((run_copy / targets[0]).read_text())
    history = json.loads((run_copy / "results-test/seed0/dense/history.json").read_text())
    # The training loop's validation accuracy is a float32 mean.
    assert dense["accuracy"][0] == pytest.approx(history["best_val_accuracy"], abs=1e-4)
    copy = run_copy / "results-test/seed0/dense/stability/theta0/order0"
    again = json.loads((copy / "scores.json").read_text())
    study = json.loads((run_copy / "results-test/seed0/dense/scores.json").read_text())
    assert {k: again[k] for k in ("overall", "val_accuracy")} == {
        k: study[k] for k in ("overall", "val_accuracy")
    }
    assert dense["alpha"] == [0.0, 0.5, 1.0] and dense["orders"] == [0, 1001]
    assert dense["barrier"] == pytest.approx(
        max(dense["error"]) - (dense["error"][0] + dense["error"][2]) / 2
    )
    low = json.loads((run_copy / targets[1]).read_text())
    assert low["kind"] == "low" and low["sparsity"] == 50 and len(low["error"]) == 3
    # The copies' weights are temporary: the line was their only reader.
    assert not (copy / "model.safetensors").exists()
    check_study_digests("stability", run_copy / "results-test")


def test_the_report_writes_the_table_and_both_figures(tmp_path):
    from lxmert_lth.workflow.stages.stability import report

    lines = []
    # Ends 5.0 and 5.5, the middle 5.0 + bump: the barrier is max(bump, 0.5) - 0.25.
    pairs = (("dense", 0, 0.0), ("low", 50, 1.0), ("random", 50, 6.0), ("low", 80, 3.0))
    for seed in (0, 1):
        for kind, sparsity, bump in pairs:
            rewind = "theta0"
            path = tmp_path / f"{seed}{kind}{sparsity}.json"
            errors = [5.0, 5.0 + bump, 5.5]
            path.write_text(json.dumps({"kind": kind, "sparsity": sparsity, "seed": seed,
                                        "rewind": rewind, "alpha": [0.0, 0.5, 1.0],
                                        "accuracy": [100 - e for e in errors], "error": errors,
                                        "barrier": barrier(errors)}))  # fmt: skip
            lines.append(str(path))
    names = ("csv", "md", "html", "lines_png", "lines_pdf", "barrier_png", "barrier_pdf")
    outputs = {k: str(tmp_path / f"out.{k}") for k in names}
    report(lines, outputs, 2.0, 50, "easy_vqa")
    table = pd.read_csv(outputs["csv"])
    assert table.method.iloc[0] == "dense"
    assert dict(zip(table.sparsity, table.stable, strict=False))[80] == "0/2"
    assert table.stable.tolist().count("2/2") == 2  # dense and low50 (barriers 0.25, 0.75)
    for key in names:
        assert (tmp_path / f"out.{key}").stat().st_size > 0


@pytest.mark.parametrize(
    "target, message",
    [
        ("seed0/low60/stability/theta0/line.json",
         "seed0/low60/stability/theta0: not a stability pair of this study"),
        ("seed0/dense/stability/step5/line.json",
         "seed0/dense/stability/step5: not a stability pair of this study"),
        ("seed0/low50/stability/theta0/order7/scores.json",
         r"seed0/low50/stability/theta0/order7: not a copy of this study \(stability.orders"),
        ("seed9/low50/scores.json", r"seed9/low50: not a network of this study \(seeds \[0, 1\]"),
        ("seed7/dense/scores.json", "seed7/dense: not a network of this study"),
    ],
)  # fmt: skip
def test_a_target_outside_the_study_is_refused_by_name(tmp_path, target, message):
    config = write_config(tmp_path, "stability.yaml", stability={"enabled": True})
    proc = snakemake(tmp_path, "-n", f"results-test/{target}", configfile=config, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and re.search(message, out), out[-2000:]
    assert "ValueError" not in out and "MissingInputException" not in out


def test_a_copy_with_a_pruned_weight_set_is_refused_naming_the_file():
    from lxmert_lth.core.errors import InputError
    from lxmert_lth.workflow.stages.stability import refuse_pruned_weights

    pruned = {"w": torch.tensor([True, False, False])}
    refuse_pruned_weights("a.safetensors", {"w": torch.tensor([0.0, 1.0, 2.0])}, pruned, "m")
    with pytest.raises(InputError, match="b.safetensors: w holds weights that the mask m prunes"):
        refuse_pruned_weights("b.safetensors", {"w": torch.tensor([3.0, 1.0, 2.0])}, pruned, "m")
