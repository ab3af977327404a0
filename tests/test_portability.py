"""The same digits on other processors: a short piece of every job's real path (each
family's pre-training and fine-tuning with both optimizers, evaluation, the masks of every
granularity, a masked retrain, the smaller network, the featuriser, a report's statistics)
run natively and under qemu-user as an AMD EPYC-Rome and an Intel Skylake must give the
same digests (tools/numerics_probe.py; docs/method.md, "The same digits on every
processor"). qemu-user is installed when missing and the test runs as root, as the SLURM
test installs SLURM; elsewhere it says why it is skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from lxmert_lth.runtime import numerics

pytestmark = pytest.mark.slow
PROBE = ROOT / "tools" / "numerics_probe.py"


def _qemu() -> str:
    if not numerics.is_x86_64():
        pytest.skip("the portable pins, and this check, are for x86-64")
    if shutil.which("qemu-x86_64"):
        return "qemu-x86_64"
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("qemu-user is missing and cannot be installed here (needs root and "
                    "apt-get): apt-get install qemu-user")  # fmt: skip
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "qemu-user"]
    proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
    if shutil.which("qemu-x86_64") is None:
        pytest.skip(f"qemu-user could not be installed: {proc.stderr[-500:]}")
    return "qemu-x86_64"


def test_every_jobs_path_gives_the_same_digits_on_two_emulated_processors():
    _qemu()
    proc = subprocess.run(
        [sys.executable, str(PROBE), "--quick", "--cpus", "EPYC-Rome-v1", "Skylake-Client-v1"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "0 of 38 pieces differ" in proc.stdout, proc.stdout
