"""The plan: which fine-tunes wait for which, their levels (the jobs' priority), the
simulated schedule against its lower bound, and the printed report."""

import re
from collections import namedtuple

import pytest

from conftest import ROOT, load_config, snakemake
from lxmert_lth.core.network import Network
from lxmert_lth.models import families
from lxmert_lth.pruning.chain import fine_tunes, levels, waits_for
from lxmert_lth.workflow import plan

PAPER = plan.load_config(ROOT / "configs" / "paper.yaml", ROOT / "schemas" / "config.schema.yaml")


def study(sparsities=range(10, 100, 10), kinds=("low", "high", "random"), seeds=(0, 1, 2)):
    return {"seeds": list(seeds), "sparsities": list(sparsities), "kinds": list(kinds)}


def pruning(random="global", step=10):
    return {"step": step, "ranking": "global", "random": random}


def test_each_fine_tune_waits_for_what_its_mask_is_made_from():
    p = pruning()
    assert waits_for(Network(0), p) == []
    assert waits_for(Network(0, "low", 10), p) == [Network(0)]
    assert waits_for(Network(0, "low", 30), p) == [Network(0, "low", 20)]
    assert waits_for(Network(1, "high", 30), p) == [Network(1, "low", 70)]
    assert waits_for(Network(1, "random", 30), p) == []
    assert waits_for(Network(1, "random", 30), pruning("per_layer")) == [Network(1, "low", 30)]
    assert waits_for(Network(2, "oneshot", 30), p) == [Network(2)]
    assert waits_for(Network(2, "shuffled", 30), p) == [Network(2, "low", 30)]


def test_fine_tunes_include_the_levels_that_masks_need():
    nets = fine_tunes(study([10], ["high"], [0]), pruning())
    # high at 10 % is the complement of the IMP level at 90 %: the whole chain runs.
    assert nets == sorted([Network(0), *(Network(0, "low", s) for s in range(10, 100, 10)),
                           Network(0, "high", 10)])  # fmt: skip


def test_levels_put_the_imp_chain_first():
    level = levels(study(), pruning())
    assert level[Network(0)] == 11  # dense, low10 ... low90, high10
    chain = [level[Network(0, "low", s)] for s in range(10, 100, 10)]
    assert chain == sorted(chain, reverse=True) and chain[-1] == 2
    assert level[Network(0, "high", 50)] == level[Network(0, "random", 50)] == 1


@pytest.mark.parametrize("random", ["global", "per_layer"])
@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)])
def test_schedule_meets_its_lower_bound_for_every_slot_count(random, seeds):
    s, p = study(seeds=seeds), pruning(random)
    for slots in (1, 2, 3, 4, 5, 8, 16, 32, 64, 128):
        makespan, bound = plan.simulate(s, p, slots), plan.lower_bound(s, p, slots)
        assert bound <= makespan <= bound + 1, (slots, makespan, bound)
    # Without the priority the chain waits behind the controls on 8 devices.
    assert plan.simulate(s, p, 8, priority=False) > plan.lower_bound(s, p, 8) or len(seeds) == 1


def test_paper_plan_counts_and_disk(tmp_path, monkeypatch):
    config = {**PAPER, "results": str(tmp_path / "results")}
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(plan.shutil, "disk_usage", lambda path: usage(0, 0, 10**12))
    text = plan.report(config, [2, 32], samples_per_second=500)
    assert "Fine-tunes: 84 (3 dense, 27 high, 27 low, 27 random)" in text
    assert "Critical path: 11 fine-tunes (dense -> low10 ->" in text
    assert re.search(r"^\s+2\s+42\s+42\s+42$", text, re.M)
    assert re.search(r"^\s+32\s+11\s+11\s+11$", text, re.M)
    assert "213,930,297 parameters, 182,255,616 prunable (LXMERT-base)" in text
    assert "GPU-hours per fine-tune" in text and "WARNING" not in text
    # Tickets stored compactly, the controls' weights not kept: at most 25 GB.
    total = re.search(r"total, features aside\s+([\d.]+) GB", text)
    assert float(total[1]) <= 25
    full = plan.report({**config, "study": {**config["study"], "keep_control_weights": True}},
                       [2], None)  # fmt: skip
    assert float(re.search(r"total, features aside\s+([\d.]+) GB", full)[1]) > 40
    monkeypatch.setattr(plan.shutil, "disk_usage", lambda path: usage(0, 0, 10**9))
    assert "WARNING: the run needs about" in plan.report(config, [2], None)
    # The disk a run holds while running is its own jobs' at once (the README's command
    # runs two), not the largest slot count of the schedule's table; theta_0 is per seed.
    theta0 = float(re.search(r"theta_0 \(3 seeds\)\s+([\d.]+) GB", text)[1])
    theta0_bytes = 3 * 4 * 213_930_297
    assert theta0 == round(theta0_bytes / 1e9, 2)
    transient = float(re.search(r"while running: ([\d.]+) GB more per", text)[1]) * 1e9
    features = float(re.search(r"features\s+([\d.]+) GB", text)[1]) * 1e9
    need = float(total[1]) * 1e9 + features + transient * 2
    monkeypatch.setattr(plan.shutil, "disk_usage", lambda path: usage(0, 0, need + 1e9))
    assert "WARNING" not in plan.report(config, [1, 2, 8, 32], None)
    assert "32 training jobs at once" in plan.report(config, [2], None, running=32)


def test_rules_take_the_levels_as_their_priority(tmp_path):
    """What Snakemake schedules by: every training job's priority is its level."""
    out = snakemake(tmp_path, "--cores", "2", "--dry-run").stdout
    config = load_config()
    level = levels(config["study"], config["pruning"])
    jobs = [b for b in out.split("\nrule ")[1:] if b.startswith(("finetune_", "retrain_"))]
    assert len(jobs) == len(level)
    for body in jobs:
        wildcards = dict(re.findall(r"(\w+)=(\w+)", re.search(r"wildcards: (.*)", body)[1]))
        network = Network.from_wildcards(wildcards)
        assert int(re.search(r"priority: (\d+)", body)[1]) == level[network], network


def test_stacked_configuration_files_plan_as_the_workflow_runs_them():
    """configs/authors_code.yaml on top of config.yaml, as `snakemake --configfile
    config.yaml configs/authors_code.yaml` stacks them: one dense network (seed 9595),
    every level pruned from it."""
    config = plan.load_config(
        [ROOT / "config.yaml", ROOT / "configs" / "authors_code.yaml"],
        ROOT / "schemas" / "config.schema.yaml",
        base=ROOT / "config.yaml",
    )
    assert config["model"] == {"family": "lxmert", **load_config(ROOT / "config.yaml")["model"]}
    text = plan.report(config, [2], None)
    assert re.search(r"finetune_dense\s+1\n", text) and "init_theta0" not in text
    assert "Critical path: 3 fine-tunes (dense -> low10 -> high10)" in text


@pytest.mark.workflow  # splits easy-VQA as preparation will (seconds)
def test_the_plan_counts_the_shifted_sets_and_what_they_take_from_test(tmp_path):
    """configs/ood.yaml over config.yaml: the held-out pairs and templates leave the test
    split for their own sets, which every training job scores too (easy-VQA's own counts,
    split as the preparation splits them)."""
    files = [ROOT / "config.yaml", ROOT / "configs" / "ood.yaml"]
    config = plan.load_config(files, ROOT / "schemas" / "config.schema.yaml", base=files[0])
    config["results"] = str(tmp_path / "results")
    text = plan.report(config, [2], None)
    assert "Questions: train 3,000, val 1,000, test 6,580" in text
    assert "Shifted sets: pairs 807, templates 1,248 questions, each scored" in text
    default = plan.report({**config, "dataset": {**config["dataset"], "shift": None}}, [2], None)
    assert "test 9,673" in default and "Shifted sets" not in default
    assert plan.finetune_samples(config) < plan.finetune_samples(
        {**config, "dataset": {**config["dataset"], "shift": None}})  # fmt: skip


def run_plan(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "lxmert_lth.workflow.plan", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("study: [unclosed", "not valid YAML"),
        ("", "the configuration is empty"),
        ("- a\n- b\n", "the configuration is a list, not a mapping"),
        ("study: {seeds: []}\n", "invalid configuration: "),
        (
            "study:\n  seeds: [0, 1]\n  sparsities: [50]\n  seeds: [5]\n",
            "key 'seeds' is given twice (lines 2 and 4)",
        ),
        ("study:\n\tseeds: [0]\n", "line 2"),
    ],
)
def test_a_bad_configuration_file_is_one_line_naming_it(tmp_path, content, message):
    """Run from outside the repository too: the plan finds the workflow's own schema."""
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    out = run_plan("--configfile", str(path), cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    if content is None:
        assert str(path) in out.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--slots", "0"), ("--slots", "-1"), ("--samples-per-second", "0"),
     ("--samples-per-second", "-5"), ("--samples-per-second", "nan"),
     ("--samples-per-second", "inf")],
)  # fmt: skip
def test_slots_and_throughput_must_be_positive(flag, value):
    out = run_plan("--configfile", str(ROOT / "configs" / "paper.yaml"), flag, value, cwd=ROOT)
    assert out.returncode == 2 and value in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(ValueError, match="at least one device"):
        plan.simulate(PAPER["study"], PAPER["pruning"], 0)


def test_the_plan_knows_each_familys_real_size():
    paper = ROOT / "configs" / "paper.yaml"  # each family's configuration: an overlay of it
    visualbert = plan.load_config(
        [paper, ROOT / "configs" / "paper_visualbert.yaml"], ROOT / "schemas" / "config.schema.yaml"
    )
    visualbert["results"] = "not-yet-written"
    size = plan.model_size(visualbert)
    assert (size.parameters, size.source) == (113_856_825, "VisualBERT-base")
    assert size.parameters == families.get("visualbert").base_parameters
    lxmert = plan.model_size({**PAPER, "results": "not-yet-written"})
    assert lxmert.parameters == families.get("lxmert").base_parameters == 213_930_297
    assert size.prunable < lxmert.prunable
    vilt = plan.load_config(
        [paper, ROOT / "configs" / "paper_vilt.yaml"], ROOT / "schemas" / "config.schema.yaml"
    )
    vilt["results"] = "not-yet-written"
    vilt_size = plan.model_size(vilt)
    assert (vilt_size.parameters, vilt_size.prunable) == (117_588_537, 85_524_480)
    assert vilt_size.parameters == families.get("vilt").base_parameters
    # Word pieces, then [CLS] and a 4:3 COCO image's 12 x 16 patches of 32 pixels.
    assert plan.positions(vilt) == 20 + 1 + 12 * 16
    assert plan.positions(visualbert) == 20 + 36
    assert plan.feature_bytes(vilt) == (0, "none: the images are read where they are")
