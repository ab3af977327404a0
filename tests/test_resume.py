"""A real training job killed with SIGKILL resumes from its scratch state and ends
bitwise identical to an uninterrupted run (on the CPU)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import load_config
from lxmert_lth.core.io import load_tensors, read_json

pytestmark = pytest.mark.slow
RESULTS = load_config()["results"]
RECIPE = {"epochs": 3, "batch_size": 4, "lr": 1.0e-3, "warmup_ratio": 0.1, "weight_decay": 0.01,
          "clip_norm": 5.0, "eval_batch_size": 512, "bias_correction": True}  # fmt: skip
MINUTES = 1e-4  # as often as the 5 % rule allows


def job(test_run, out_dir, scratch, dense=False):
    """A driver for one fine-tuning job of the finished test run's inputs (seed 0): a
    retraining from theta_0, or (``dense``) the dense job as Snakemake runs it, which
    writes its theta_0 first on every attempt."""
    res = test_run / RESULTS
    inp = {
        "train": res / "data/train.json",
        "val": res / "data/val.json",
        "test": res / "data/test.json",
        "answers": res / "data/answers.json",
        "features": res / "features/regions.h5",
        "tokenizer": res / "tokenizer",
        "checkpoint": res / "seed0/theta0.safetensors",
    }
    out = {k: str(out_dir / f"{k}.{ext}") for k, ext in
           (("model", "safetensors"), ("predictions", "json"), ("scores", "json"),
            ("history", "json"))}  # fmt: skip
    args = {
        "data": {k: str(inp[k]) for k in ("train", "val", "test", "answers", "features",
                                          "tokenizer")},
        "checkpoint": str(inp["checkpoint"]),
        "outputs": out,
        "recipe": RECIPE,
        "resume_folder": str(scratch),
        "minutes": MINUTES,
        "pretrained": str(res / "pretrained"),
        "theta0": str(out_dir / "theta0.safetensors"),
        "prunable": load_config()["pruning"]["prunable_modules"],
    }  # fmt: skip
    code = (
        "import json, logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from lxmert_lth.data.loaders import Loading\n"
        "from lxmert_lth.core.network import Network\n"
        "from lxmert_lth.workflow.stages.finetuning import (FinetuneOutputs, JobOptions, Scoring,\n"
        "    StartingPoint, Theta0, TrainingData, finetune, finetune_dense)\n"
        f"a = json.loads({json.dumps(json.dumps(args))})\n"
        "opts = JobOptions('cpu', 'fp32', False, Loading(), a['resume_folder'], a['minutes'])\n"
        "data, outs = TrainingData(**a['data']), FinetuneOutputs(**a['outputs'])\n"
    )
    if dense:
        code += (
            "theta0 = Theta0(a['pretrained'], a['theta0'], a['prunable'], 'copy_pretrained',\n"
            "                'linear_weights', 'all', None)\n"
            "finetune_dense(data, theta0, outs, 0, a['recipe'], 20, Scoring('test'), opts)\n"
        )
    else:
        code += (
            "finetune(data, StartingPoint(a['checkpoint']), outs, Network(0), a['recipe'],"
            " 20, Scoring('test'), opts)\n"
        )
    return code, out


def start(code, log_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log, env=env)


@pytest.mark.parametrize("dense", [False, True], ids=["retrain", "dense job"])
def test_killed_training_resumes_bitwise_identical(test_run, tmp_path, dense):
    """Also the dense job, which writes theta_0 again on the rerun: its state was keyed
    by theta_0's file, so a killed dense fine-tune started again from step 0."""
    # Uninterrupted reference.
    ref_code, ref_out = job(test_run, tmp_path / "ref", tmp_path / "ref-scratch", dense)
    (tmp_path / "ref").mkdir()
    assert start(ref_code, tmp_path / "ref.log").wait(timeout=600) == 0
    assert not (tmp_path / "ref-scratch").exists()  # scratch removed once done

    # The same job, killed mid-way through its second epoch, then rerun.
    code, out = job(test_run, tmp_path / "run", tmp_path / "scratch", dense)
    (tmp_path / "run").mkdir()
    log_path = tmp_path / "killed.log"
    proc = start(code, log_path)
    deadline = time.monotonic() + 600
    mid_epoch_two = re.compile(r"state saved: epoch 1, step [1-9]")
    while not mid_epoch_two.search(log_path.read_text()):
        assert proc.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not os.path.exists(out["model"])  # nothing that looks complete
    saved = re.findall(r"state saved: epoch (\d+), step (\d+)", log_path.read_text())

    assert start(code, tmp_path / "resumed.log").wait(timeout=600) == 0
    resumed = (tmp_path / "resumed.log").read_text()
    epoch, step = map(
        int, re.search(r"resuming from .*: epoch (\d+), step (\d+)", resumed).groups()
    )
    # Time lost to the kill: at most one checkpoint interval.
    assert (epoch, step) == tuple(map(int, saved[-1]))
    assert epoch == 1 and step >= 1

    a, _ = load_tensors(ref_out["model"], framework="np")
    b, _ = load_tensors(out["model"], framework="np")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    assert read_json(ref_out["history"]) == read_json(out["history"])
    assert read_json(ref_out["predictions"]) == read_json(out["predictions"])
    assert not (tmp_path / "scratch").exists()


def test_state_for_other_inputs_is_ignored(tmp_path):
    import torch

    from lxmert_lth.training.resume import Resume

    r = Resume(tmp_path, key="abc", minutes=1)
    r.save({"epoch": 1, "step": 10, "w": torch.ones(2)})
    assert r.load()["step"] == 10
    assert Resume(tmp_path, key="other").load() is None
    (tmp_path / "state.pt").write_bytes(b"garbage")
    assert r.load() is None


def test_saving_takes_at_most_five_percent_of_the_time(tmp_path):
    """The interval is wall-clock time, stretched so that from the second save on each
    waits 19x as long as the last save took: saving costs at most 5 %."""
    import torch

    from lxmert_lth.training.resume import Resume

    now = [0.0]
    r = Resume(tmp_path, key="k", minutes=1, clock=lambda: now[0])
    steps, saves = 0, []
    while now[0] < 3600:
        now[0] += 0.05  # a training step
        steps += 1
        if r.due(steps, steps_per_epoch=10**9):
            r.save({"epoch": 0, "step": steps, "w": torch.ones(1)})
            now[0] += 16.0  # a save takes 16 s: the 5 % rule stretches 60 s to 304 s
            r.last_save_end, r.last_save_cost = now[0], 16.0
            saves.append(now[0])
    assert saves[0] == pytest.approx(76.0, abs=0.1)  # the interval, then the first save
    later = len(saves) - 1
    assert later * 16 / (now[0] - saves[0]) <= 0.05
    assert all(b - a >= 320 - 1e-6 for a, b in zip(saves, saves[1:], strict=False))
    assert not Resume(tmp_path, key="k", minutes=0).due(5, 10)  # epoch ends only
    assert not r.due(10, steps_per_epoch=10)  # the epoch end saves anyway
