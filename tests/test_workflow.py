"""The whole DAG on the test configuration: outputs, invariants, determinism, reruns."""

from __future__ import annotations

import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, check_study_digests, load_config, snakemake, write_config
from lxmert_lth.core.checkpoints import CheckpointTensors
from lxmert_lth.core.io import load_tensors, read_json
from lxmert_lth.core.masks import Mask, num_to_prune
from lxmert_lth.workflow.digests import (
    compare_with_digests,
    explain,
    read_digest_file,
    run_record,
)

pytestmark = pytest.mark.slow
CONFIG = load_config()
RESULTS = CONFIG["results"]
SEEDS = CONFIG["study"]["seeds"]
SPARSITIES = CONFIG["study"]["sparsities"]
KINDS = CONFIG["study"]["kinds"]


DIGESTS = ROOT / "tests" / "config" / "test.digests.json"


def test_the_outputs_are_the_committed_ones_on_this_machine(test_run):
    """Every output of the test configuration, digest for digest, as committed (made on
    another machine, lxmert_lth.runtime.numerics): portable CPU numerics give the same digits on
    every x86-64 processor with AVX2. A change that moves an output on purpose rewrites
    the file: python tools/compare_runs.py --write-digests tests/config/test.digests.json
    <workdir>/results-test."""
    expected, their_record = read_digest_file(DIGESTS)
    problems = compare_with_digests(test_run / RESULTS, expected)
    assert not problems, "\n".join(explain(problems, run_record(test_run / RESULTS), their_record))


def test_outputs_of_the_whole_dag(test_run):
    res = test_run / RESULTS
    assert res.joinpath("figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert res.joinpath("figure1.pdf").read_bytes()[:5] == b"%PDF-"
    scores = pd.read_csv(res / "scores.csv")
    assert len(scores) == len(SEEDS) * (1 + len(KINDS) * len(SPARSITIES))
    assert scores.overall.between(0, 100).all()
    table = pd.read_csv(res / "table1.csv")
    assert table.method.tolist() == ["LXMERT (dense)", "low-magnitude", "high-magnitude", "random"]
    # easy-VQA has no "number" questions: a dash, never a number.
    assert (table.Number == "–").all()
    assert "±" in table.Overall[0]
    md = res.joinpath("table1.md").read_text()
    assert "easy_vqa" in md and "| method" in md
    for seed in SEEDS:
        assert res.joinpath(f"seed{seed}/theta0.safetensors").exists()
        for kind in KINDS:
            for s in SPARSITIES:
                # The rewound subnetwork is temporary: gone once retrained.
                assert not res.joinpath(f"seed{seed}/{kind}{s}/rewound.safetensors").exists()
                preds = read_json(res / f"seed{seed}/{kind}{s}/predictions.json")
                assert len(preds) == CONFIG["dataset"]["max_questions"]["test"]


def test_masks_have_exact_counts_and_are_enforced(test_run):
    res = test_run / RESULTS
    for seed in SEEDS:
        theta0, meta0 = load_tensors(res / f"seed{seed}/theta0.safetensors", framework="np")
        n = sum(theta0[p].size for p in meta0["prunable"])
        previous = None
        for s in sorted(SPARSITIES):
            low, meta = Mask.load(res / f"seed{seed}/low{s}/mask.safetensors")
            assert low.num_pruned == num_to_prune(n, s) == meta["num_pruned"]
            assert meta["num_prunable"] == n
            assert meta["num_total_parameters"] == sum(v.size for v in theta0.values())
            assert sorted(low.tensors) == sorted(meta0["prunable"])
            if previous is not None:  # IMP only removes survivors
                assert all(not (low.tensors[k] & ~previous.tensors[k]).any() for k in low.tensors)
            previous = low
            high, _ = Mask.load(res / f"seed{seed}/high{s}/mask.safetensors")
            low_c, _ = Mask.load(res / f"seed{seed}/low{100 - s}/mask.safetensors")
            assert all(np.array_equal(high.tensors[k], ~low_c.tensors[k]) for k in high.tensors)
            rnd, _ = Mask.load(res / f"seed{seed}/random{s}/mask.safetensors")
            assert rnd.num_pruned == low.num_pruned
            # The retrained ticket is stored compactly and keeps pruned weights at
            # exactly zero; the controls' trained weights are not kept (by default).
            model = res / f"seed{seed}/low{s}/model.safetensors"
            stored, trained = load_tensors(model, "np")[0], CheckpointTensors(model)
            for name, keep in low.tensors.items():
                assert stored[name].size == keep.sum() == (trained[name] != 0).sum()
                assert (trained[name][~keep] == 0).all(), (s, name)
            for kind in ("high", "random"):
                assert not (res / f"seed{seed}/{kind}{s}/model.safetensors").exists()


def test_nothing_to_do_after_a_run(test_run):
    out = snakemake(test_run, "--dry-run", "--cores", "2")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_a_job_run_again_writes_the_same_bytes(test_run, run_copy):
    """A training job and the reports run a second time write byte for byte what the
    first run wrote, figures and masks included (as sha256sum would compare them).
    The whole DAG from scratch is held to the committed digests, made on another
    machine (test_the_outputs_are_the_committed_ones_on_this_machine)."""
    first, again = test_run / RESULTS, run_copy / RESULTS
    shutil.rmtree(again / "seed1" / "random75")
    before = time.time()
    snakemake(run_copy, "--cores", "2", "--forcerun", "table1", "figure1", "training_curves")
    rerun = sorted(
        p.relative_to(again)
        for p in again.rglob("*")
        if p.is_file()
        and p.stat().st_mtime >= before
        and p.name != ".run.lock"
        and p.relative_to(again).parts[0] not in ("logs", "records", "benchmarks")
    )
    names = set(map(str, rerun))
    assert {
        "seed1/random75/mask.safetensors",
        "seed1/random75/predictions.json",
        "table1.md",
        "figure1.png",
        "figure1.pdf",
    } <= names
    for rel in rerun:
        assert (again / rel).read_bytes() == (first / rel).read_bytes(), rel


# The jobs over every network: they rerun whenever one network does.
REPORTS = {
    "collect_scores",
    "table1",
    "figure1",
    "module_sparsity",
    "training_curves",
    "job_costs",
    "ticket_speed",
}


def planned_jobs(workdir, configfile) -> set[tuple[str, str]]:
    """(rule, output) of every output the workflow would (re)create, from --summary."""
    out = snakemake(workdir, "--summary", configfile=configfile).stdout
    rows = [line.split("\t") for line in out.splitlines()[1:] if "\t" in line]
    return {(r[2], r[0].removeprefix(f"{RESULTS}/")) for r in rows if r[5] != "no update"}


def rules_of(planned):
    return {rule for rule, _ in planned}


def test_rerun_after_changing_one_seed(run_copy, tmp_path):
    new_seed = max(SEEDS) + 1
    seeds = [*SEEDS[:-1], new_seed]
    cfg = write_config(tmp_path, "seed.yaml", study={"seeds": seeds})
    planned = planned_jobs(run_copy, cfg)
    touched = {out.split("/")[0] for _, out in planned if out.startswith("seed")}
    assert touched == {f"seed{new_seed}"}
    assert rules_of({p for p in planned if not p[1].startswith("seed")}) == REPORTS
    assert ("finetune_dense", f"seed{new_seed}/theta0.safetensors") in planned


SUBNETWORK_OUTPUTS = (
    "mask.safetensors",
    "rewound.safetensors",
    "model.safetensors",
    "predictions.json",
    "scores.json",
    "history.json",
)


def test_rerun_after_adding_one_sparsity(run_copy, tmp_path):
    # Bring the run to the state a run of sparsities [25, 50] leaves: the high-magnitude
    # 25 % mask is the complement of IMP level 75, so low75 is there; nothing else at 75 %.
    res = run_copy / RESULTS
    for seed in SEEDS:
        for kind in KINDS:
            if kind != "low":
                shutil.rmtree(res / f"seed{seed}/{kind}75")
    smaller = write_config(tmp_path, "small.yaml", study={"sparsities": [25, 50]})
    assert rules_of(planned_jobs(run_copy, smaller)) == REPORTS
    snakemake(run_copy, "--cores", "2", configfile=smaller)

    planned = planned_jobs(run_copy, write_config(tmp_path, "full.yaml"))
    per_seed = {(rule, out.split("/", 1)[1]) for rule, out in planned if out.startswith("seed")}
    expected = {
        ("retrain_control", f"{kind}75/{name}")
        for kind in KINDS
        if kind != "low"
        for name in SUBNETWORK_OUTPUTS
        if name != "model.safetensors"
    }
    assert per_seed == expected
    seeds = {out.split("/")[0] for _, out in planned if out.startswith("seed")}
    assert seeds == {f"seed{s}" for s in SEEDS}
    assert rules_of({p for p in planned if not p[1].startswith("seed")}) == REPORTS


def test_rerun_after_changing_one_training_hyperparameter(run_copy, tmp_path):
    lr = CONFIG["finetune"]["lr"] * 2
    planned = planned_jobs(run_copy, write_config(tmp_path, "lr.yaml", finetune={"lr": lr}))
    # Everything upstream of fine-tuning stays as it is; every network is trained again.
    assert (
        rules_of(planned) == {"finetune_dense", "retrain_subnetwork", "retrain_control"} | REPORTS
    )
    trained = {out for rule, out in planned if out.endswith("/scores.json")}
    assert len(trained) == len(SEEDS) * (1 + len(KINDS) * len(SPARSITIES))


def test_rerun_after_changing_the_random_mode_touches_random_only(run_copy, tmp_path):
    cfg = write_config(tmp_path, "mode.yaml", pruning={"random": "per_layer"})
    planned = planned_jobs(run_copy, cfg)
    trained = {out.split("/")[1] for _, out in planned if out.endswith("/scores.json")}
    assert trained == {f"random{s}" for s in SPARSITIES}


def test_keeping_the_controls_weights_reruns_the_controls_only(run_copy, tmp_path):
    cfg = write_config(tmp_path, "keep.yaml", study={"keep_control_weights": True})
    planned = planned_jobs(run_copy, cfg)
    trained = {out for rule, out in planned if out.endswith("/model.safetensors")}
    assert rules_of({p for p in planned if p[1].startswith("seed")}) == {"retrain_subnetwork"}
    assert trained == {
        f"seed{seed}/{kind}{s}/model.safetensors"
        for seed in SEEDS
        for kind in ("high", "random")
        for s in SPARSITIES
    }


def test_export_gives_a_standard_directory_of_the_ticket(run_copy):
    import torch
    from transformers import AutoTokenizer, LxmertForQuestionAnswering

    res = run_copy / RESULTS
    snakemake(run_copy, "--cores", "1", f"{RESULTS}/export/seed0/low50")
    folder = res / "export/seed0/low50"
    model = LxmertForQuestionAnswering.from_pretrained(folder)
    stored = CheckpointTensors(res / "seed0/low50/model.safetensors")
    state = model.state_dict()
    assert state.keys() == set(stored)
    for name in stored:
        torch.testing.assert_close(state[name], torch.from_numpy(stored[name]), rtol=0, atol=0)
    answers = read_json(res / "data/answers.json")["answers"]
    assert [model.config.id2label[i] for i in range(len(answers))] == answers
    assert AutoTokenizer.from_pretrained(folder).get_vocab()
    assert read_json(folder / "network.json")["sparsity"] == 50
    # A control's weights are not kept by default: the error says how to keep them.
    out = snakemake(run_copy, "--cores", "1", f"{RESULTS}/export/seed0/high50", check=False)
    assert out.returncode != 0 and "study.keep_control_weights: true" in out.stderr
    # Networks outside the study are refused, not trained first (a dry run says so).
    for folder in ("seed0/low55", "seed9/low50"):
        out = snakemake(run_copy, "-n", f"{RESULTS}/export/{folder}", check=False)
        assert out.returncode != 0 and f"export/{folder}: not a network of this study" in (
            out.stderr + out.stdout
        )


def test_reordering_config_keys_reruns_nothing(test_run, tmp_path):
    reordered = tmp_path / "sorted.yaml"
    reordered.write_text(yaml.safe_dump(load_config(), sort_keys=True))
    assert planned_jobs(test_run, reordered) == set()


def test_concurrent_training_jobs_held_distinct_devices(test_run):
    """Every training job claimed a device of the pretend pool; jobs that overlapped in
    time held different ones."""
    from datetime import datetime

    def stamp(line):
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")

    held = []
    logs = sorted((test_run / RESULTS / "logs").glob("seed*/*.log"))
    for path in logs:
        if not path.name.startswith(("finetune_dense", "retrain_")):
            continue
        lines = path.read_text().splitlines()
        claims = [ln for ln in lines if "claimed device" in ln]
        assert len(claims) == 1, path
        device = claims[0].split("claimed device ")[1].split()[0]
        held.append((device, stamp(claims[0]), stamp(lines[-1]), path.name))
    assert len(held) == len(SEEDS) * (1 + len(KINDS) * len(SPARSITIES))
    assert {d for d, *_ in held} <= {"0", "1"}
    for i, (d1, s1, e1, n1) in enumerate(held):
        for d2, s2, e2, n2 in held[i + 1 :]:
            if d1 == d2:
                assert e1 <= s2 or e2 <= s1, f"{n1} and {n2} held device {d1} at once"


def test_training_jobs_ask_for_memory_from_what_they_load_and_stay_under_it(run_copy):
    """The request is derived from the job's files; the measured peak (Snakemake's
    benchmark) of every training job of the run is under it."""
    from lxmert_lth.workflow import resources as memory
    from lxmert_lth.workflow.launch import TEST_CONFIG
    from lxmert_lth.workflow.plan import SCHEMA
    from lxmert_lth.workflow.plan import load_config as with_defaults
    from lxmert_lth.workflow.sizes import activation_bytes

    res = run_copy / RESULTS
    splits = sum((res / f"data/{s}.json").stat().st_size for s in ("train", "val", "test"))
    features = (res / "features/regions.h5").stat().st_size
    # device auto: the activations may be in host memory, so they are counted.
    activations = activation_bytes(with_defaults(TEST_CONFIG, SCHEMA), "finetune")
    request = {
        seed: memory.training_mem_mb(
            (res / f"seed{seed}/theta0.safetensors").stat().st_size,
            splits,
            features,
            True,
            0,
            activations=activations,
        )
        for seed in SEEDS
    }
    dry = snakemake(run_copy, "-n", "--cores", "2", "--forcerun", "finetune_dense").stdout
    for block in dry.split("rule finetune_dense:")[1:]:
        seed = int(re.search(r"wildcards: seed=(\d+)", block)[1])
        assert int(re.search(r"mem_mb=(\d+)", block)[1]) == request[seed]
    peaks = {
        path: float(path.read_text().splitlines()[1].split("\t")[2])
        for path in (res / "benchmarks").rglob("seed*/*.tsv")
        if path.name.startswith(("finetune_", "retrain_"))
    }
    assert len(peaks) == len(SEEDS) * (1 + len(KINDS) * len(SPARSITIES))
    for path, peak in peaks.items():
        seed = int(path.parent.name.removeprefix("seed"))
        assert 0 < peak < request[seed], (path, peak)


def test_module_sparsity_accounts_for_every_mask(test_run):
    res = test_run / RESULTS
    table = pd.read_csv(res / "module_sparsity.csv")
    for (seed, kind, s), rows in table.groupby(["seed", "kind", "sparsity"]):
        mask, _ = Mask.load(res / f"seed{seed}/{kind}{s}/mask.safetensors")
        assert rows.num_pruned.sum() == mask.num_pruned
        assert rows.num_prunable.sum() == mask.num_prunable
        overlap = rows.overlap_with_random_percent
        assert overlap.notna().all() if kind == "low" else overlap.isna().all()
    assert len(table.groupby(["seed", "kind", "sparsity"])) == len(SEEDS) * len(KINDS) * len(
        SPARSITIES
    )
    assert "low pruned also by random" in res.joinpath("module_sparsity.md").read_text()


def test_controls_oneshot_and_shuffled_run_beside_the_ticket(run_copy, tmp_path):
    """The one-shot mask (the dense network pruned to s in one step) and the shuffled
    ticket (the low mask at s permuted within each tensor): only they run, from the files
    their kinds name, and the reports take them."""
    kinds = ["low", "oneshot", "shuffled"]
    cfg = write_config(tmp_path, "controls.yaml", study={"kinds": kinds})
    planned = planned_jobs(run_copy, cfg)
    trained = {out.split("/")[1] for rule, out in planned if out.endswith("/scores.json")}
    assert trained == {f"{k}{s}" for k in ("oneshot", "shuffled") for s in SPARSITIES}
    snakemake(run_copy, "--cores", "2", configfile=cfg)
    res = run_copy / RESULTS
    for seed in SEEDS:
        theta0 = load_tensors(res / f"seed{seed}/theta0.safetensors", framework="np")[1]
        dense = CheckpointTensors(res / f"seed{seed}/dense/model.safetensors")
        for s in SPARSITIES:
            low, _ = Mask.load(res / f"seed{seed}/low{s}/mask.safetensors")
            oneshot, meta = Mask.load(res / f"seed{seed}/oneshot{s}/mask.safetensors")
            assert meta["one_shot"] and oneshot.num_pruned == low.num_pruned
            # One step from the dense network: every weight it prunes is no larger than
            # every weight it keeps, across all prunable tensors (global ranking).
            names = theta0["prunable"]
            w = {n: np.abs(dense[n]) for n in names}
            pruned = max(w[n][~oneshot.tensors[n]].max(initial=0) for n in names)
            kept = min(w[n][oneshot.tensors[n]].min(initial=np.inf) for n in names)
            assert pruned <= kept
            shuffled, _ = Mask.load(res / f"seed{seed}/shuffled{s}/mask.safetensors")
            assert shuffled.per_tensor_pruned() == low.per_tensor_pruned()
            assert any((shuffled.tensors[k] != low.tensors[k]).any() for k in low.tensors)
            assert not (res / f"seed{seed}/oneshot{s}/model.safetensors").exists()
    table = pd.read_csv(res / "table1.csv")
    assert table.method.tolist() == [
        "LXMERT (dense)", "low-magnitude", "one-shot magnitude", "shuffled ticket"]  # fmt: skip
    check_study_digests("controls", res)


def test_controls_reinit_and_late_with_pruning_restricted_to_one_encoder(
    test_run, run_copy, tmp_path
):
    """reinit: the ticket's mask over fresh weights from the model's own seeded
    initialisation; late: the ticket's mask over the dense network after k steps, which
    the dense job writes when asked (its training unchanged). With pruning.scope, every
    mask covers the language encoder only."""
    from lxmert_lth.core.checkpoints import CheckpointMeta
    from lxmert_lth.core.network import Network
    from lxmert_lth.models.modeling import fresh_weights
    from lxmert_lth.pruning.kinds import reinit_seed

    study = {"kinds": ["low", "reinit", "late"], "late_rewind_step": 3}
    cfg = write_config(tmp_path, "late.yaml", study=study, pruning={"scope": "language"})
    snakemake(run_copy, "--cores", "2", "--notemp", configfile=cfg)
    res = run_copy / RESULTS
    for seed in SEEDS:
        theta0 = CheckpointTensors(res / f"seed{seed}/theta0.safetensors")
        meta = CheckpointMeta.from_json(theta0.metadata, "theta0")
        assert meta.prunable and all(n.startswith("lxmert.encoder.layer.") for n in meta.prunable)
        late = CheckpointTensors(res / f"seed{seed}/dense/step3.safetensors")
        assert late.metadata["late_step"] == 3
        # Writing the late-rewinding point leaves the dense training as it was.
        dense = load_tensors(res / f"seed{seed}/dense/model.safetensors", framework="np")[0]
        old = test_run / RESULTS / f"seed{seed}/dense/model.safetensors"
        old = load_tensors(old, framework="np")[0]
        assert all(np.array_equal(v, old[k]) for k, v in dense.items())
        for s in SPARSITIES:
            low, _ = Mask.load(res / f"seed{seed}/low{s}/mask.safetensors")
            assert low.num_pruned == num_to_prune(low.num_prunable, s)
            fresh = fresh_weights(meta, meta.prunable, reinit_seed(Network(seed, "reinit", s)))
            for kind, start in (("reinit", {**theta0, **fresh}), ("late", late)):
                folder = res / f"seed{seed}/{kind}{s}"
                mask, _ = Mask.load(folder / "mask.safetensors")
                assert all(np.array_equal(mask.tensors[n], low.tensors[n]) for n in low.tensors)
                rewound = CheckpointTensors(folder / "rewound.safetensors")
                for name in rewound:
                    keep = low.tensors.get(name, True)
                    assert np.array_equal(rewound[name], start[name] * keep), (kind, name)
            kept = low.tensors[meta.prunable[0]]
            assert not np.array_equal(fresh[meta.prunable[0]][kept], theta0[meta.prunable[0]][kept])
    table = pd.read_csv(res / "table1.csv")
    assert table.method.tolist()[-2:] == ["reinitialised ticket", "late-rewound ticket"]
    check_study_digests("controls_late", res)


def test_the_authors_code_end_to_end_beside_the_papers_text(run_copy, tmp_path):
    """configs/authors_code.yaml's choices on the test configuration: one dense seed, the
    remaining-weights schedule per tensor from the dense network, the larger prunable
    set, masks not enforced, the authors' high-magnitude and coin-flip random masks; and
    the comparison with the paper-text run."""
    from lxmert_lth.core.checkpoints import CheckpointMeta
    from lxmert_lth.pruning.single_weights import remaining_schedule_mask

    shutil.copytree(run_copy / RESULTS, run_copy / "results-base", symlinks=True)
    authors = {"ranking": "per_tensor", "schedule": "remaining", "prunable_set": "authors",
               "enforce_masks": False, "high": "authors", "random": "coin_flip"}  # fmt: skip
    cfg = write_config(
        tmp_path, "authors.yaml", pruning=authors, study={"dense_seed": 9595},
        theta0={"answer_head": "copy_pretrained"},
        compare_runs={"paper text": "results-base", "authors' code": RESULTS},
    )  # fmt: skip
    snakemake(run_copy, "--cores", "2", configfile=cfg)
    res, step = run_copy / RESULTS, CONFIG["pruning"]["step"]
    scores = pd.read_csv(res / "scores.csv")
    assert scores[scores.kind == "dense"].seed.tolist() == [9595]
    assert (scores[scores.kind != "dense"].mask_enforced == False).all()  # noqa: E712
    theta0 = CheckpointTensors(res / "seed9595/theta0.safetensors")
    meta = CheckpointMeta.from_json(theta0.metadata, "theta0")
    assert meta.extra["answer_head"] == "copy_pretrained"
    assert {"answer_head.logit_fc.3.weight", "lxmert.pooler.dense.bias"} <= set(meta.prunable)
    shapes = {n: theta0.shapes[n] for n in meta.prunable}
    dense = CheckpointTensors(res / "seed9595/dense/model.safetensors")
    for seed in SEEDS:
        for s in SPARSITIES:
            low, how = Mask.load(res / f"seed{seed}/low{s}/mask.safetensors")
            assert "seed9595/dense" in how["trained"] and how["schedule"] == "remaining"
            expected, _ = remaining_schedule_mask(dense, shapes, s, step, "per_tensor")
            assert all(np.array_equal(low.tensors[n], expected.tensors[n]) for n in shapes)
            high, _ = Mask.load(res / f"seed{seed}/high{s}/mask.safetensors")
            assert all((~high.tensors[n]).sum() == low.tensors[n].sum() for n in low.tensors)
            assert (
                Mask.load(res / f"seed{seed}/random{s}/mask.safetensors")[1]["mode"] == "coin_flip"
            )
            # Not enforced: stored in full, and pruned weights grew back.
            trained = CheckpointTensors(res / f"seed{seed}/low{s}/model.safetensors")
            assert not trained.compact
            assert any(np.any(trained[n][~low.tensors[n]]) for n in low.tensors)
    runs = (res / "runs.md").read_text()
    assert "paper text" in runs and "authors' code" in runs and "pruned at 50%" in runs
    check_study_digests("authors_code", res)
    assert (res / "runs.png").read_bytes()[:4] == b"\x89PNG"
    snakemake(run_copy, "--report", "report.html", configfile=cfg)
    assert "Runs compared." in (run_copy / "report.html").read_text()
