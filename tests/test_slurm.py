"""The test configuration through a real single-node SLURM cluster on localhost: jobs
submitted with sbatch by the slurm executor, followed with the squeue status command,
training jobs given the node's (fake) GPU by SLURM."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, snakemake, write_config

pytestmark = pytest.mark.slow
START = ROOT / "tests" / "slurm" / "start_cluster.sh"


@pytest.fixture(scope="module")
def cluster():
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a local SLURM cluster needs root (CI runs as root)")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("no slurm packages and no apt-get to install them")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        pytest.skip("snakemake-executor-plugin-slurm is not installed (pip install -e '.[dev]')")
    proc = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and shutil.which("slurmctld") is None:
        pytest.skip(f"slurm-wlm could not be installed: {proc.stderr[-500:]}")
    if proc.returncode == 3:
        pytest.skip(f"slurmd cannot start on this host (cgroup): {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_through_slurm(cluster, tmp_path):
    config = write_config(
        tmp_path,
        "slurm.yaml",
        results="results-slurm",
        pretrain={"epochs": 1},
        pruning={"step": 50},
        study={"seeds": [0], "sparsities": [50]},
        execution={"pretrain_threads": 1, "mem_mb": 1000, "checkpoint_minutes": 0},
    )
    proc = snakemake(
        tmp_path,
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--default-resources",
        "mem_mb=1000",
        "runtime=30",
        "--jobs",
        "2",
        configfile=config,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    res = tmp_path / "results-slurm"
    for name in ("table1.md", "figure1.png", "scores.csv"):
        assert (res / name).exists(), name
    job_ids = re.findall(r"SLURM jobid (\d+)", out) or re.findall(r"jobid (\d+)", out)
    # Data (3), pretraining (2), dense (1), subnetworks low/high/random 50 (3), reports (3).
    assert len(job_ids) >= 12, out[-3000:]
    for job_id in job_ids:
        info = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True
        ).stdout
        assert "JobState=COMPLETED" in info, info
    # SLURM gave the training jobs the node's GPU (CUDA_VISIBLE_DEVICES=0); each claimed it.
    log = (res / "logs" / "seed0" / "finetune_dense.log").read_text()
    assert "claimed device 0 of pool 0" in log
