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
from lxmert_lth.io import load_tensors, read_json

pytestmark = pytest.mark.slow
RESULTS = load_config()["results"]
RECIPE = {"epochs": 3, "batch_size": 4, "lr": 1.0e-3, "warmup_ratio": 0.1, "weight_decay": 0.01,
          "clip_norm": 5.0, "eval_batch_size": 512, "bias_correction": True}  # fmt: skip
EVERY = 40


def job(test_run, out_dir, scratch):
    """A driver for one fine-tuning job of the finished test run's inputs (seed 0)."""
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
        "every": EVERY,
    }  # fmt: skip
    code = (
        "import json, logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from lxmert_lth.data import Loading\n"
        "from lxmert_lth.network import Network\n"
        "from lxmert_lth.stages.finetuning import (FinetuneOutputs, JobOptions,\n"
        "    StartingPoint, TrainingData, finetune)\n"
        f"a = json.loads({json.dumps(json.dumps(args))})\n"
        "finetune(TrainingData(**a['data']), StartingPoint(a['checkpoint']),\n"
        "         FinetuneOutputs(**a['outputs']), Network(0), a['recipe'], 20, 'test',\n"
        "         JobOptions('cpu', 'fp32', False, Loading(), a['resume_folder'], a['every']))\n"
    )
    return code, out


def start(code, log_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log, env=env)


def test_killed_training_resumes_bitwise_identical(test_run, tmp_path):
    # Uninterrupted reference.
    ref_code, ref_out = job(test_run, tmp_path / "ref", tmp_path / "ref-scratch")
    (tmp_path / "ref").mkdir()
    assert start(ref_code, tmp_path / "ref.log").wait(timeout=600) == 0
    assert not (tmp_path / "ref-scratch").exists()  # scratch removed once done

    # The same job, killed mid-way through its second epoch, then rerun.
    code, out = job(test_run, tmp_path / "run", tmp_path / "scratch")
    (tmp_path / "run").mkdir()
    log_path = tmp_path / "killed.log"
    proc = start(code, log_path)
    deadline = time.monotonic() + 600
    while "state saved: epoch 1, step 120" not in log_path.read_text():
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
    assert epoch == 1 and step >= 120

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

    from lxmert_lth.resume import Resume

    r = Resume(tmp_path, key="abc", every=10)
    r.save({"epoch": 1, "step": 10, "w": torch.ones(2)})
    assert r.load()["step"] == 10
    assert Resume(tmp_path, key="other").load() is None
    (tmp_path / "state.pt").write_bytes(b"garbage")
    assert r.load() is None
