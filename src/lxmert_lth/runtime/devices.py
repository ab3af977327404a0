"""Everything about devices: which one a job uses, claiming it, and its numerics.

One GPU per job: a job claims a free device from the visible pool with an OS-level lock.

Snakemake's ``--resources gpu=N`` bounds how many GPU jobs run at once, but assigns no
device to a local job. Each job therefore claims one: it walks the pool and takes the
first device whose lock file it can ``flock`` without waiting. The kernel drops a
``flock`` when its process ends, however it ends (SIGKILL included), so a killed job
never leaves its device taken; there is no stale-lock cleanup to get wrong.

The pool is ``CUDA_VISIBLE_DEVICES`` when set (by SLURM or the user: never overridden
blindly, only narrowed to the claimed entry), else every device torch sees.
``LXMERT_LTH_DEVICE_POOL`` (e.g. ``0,1``) names a pretend pool, for tests on the CPU.
Locks live in ``LXMERT_LTH_LOCK_DIR`` (default: a folder in the system temp dir).

Then the job chooses its torch device (:func:`choose_device`) and its numerics (mixed
precision and TF32 on CUDA, :func:`configure_cuda`, :func:`autocast`). torch is imported
inside those three functions only: every job claims through this module, and the
subnetwork jobs, which never touch torch, must not pay for importing it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lxmert_lth")

POOL_ENV = "LXMERT_LTH_DEVICE_POOL"
LOCK_DIR_ENV = "LXMERT_LTH_LOCK_DIR"


class NoFreeDevice(RuntimeError):
    """Every device of the pool stayed taken for the whole wait."""


@dataclass
class Claim:
    device: str  # the pool entry (a CUDA index or UUID), or "cpu"
    pool: list[str]
    fd: int | None = None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None


def device_pool() -> list[str]:
    """The devices a job may claim: pretend pool, CUDA_VISIBLE_DEVICES, or all of torch's."""
    for var in (POOL_ENV, "CUDA_VISIBLE_DEVICES"):
        value = os.environ.get(var)
        if value is not None:
            return [d.strip() for d in value.split(",") if d.strip() and d.strip() != "-1"]
    # Asked of nvidia-smi, not torch: once CUDA has started in this process, narrowing
    # CUDA_VISIBLE_DEVICES has no effect any more.
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip().isdigit()]


def lock_dir() -> Path:
    path = Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "lxmert-lth-gpus")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def claim_device(wait_s: float = 600.0, poll_s: float = 0.5) -> Claim:
    """Claim a free device of the pool, waiting up to ``wait_s``; the CPU when the pool
    is empty. Narrows ``CUDA_VISIBLE_DEVICES`` to the claimed device (before CUDA starts
    in this process), so the job then simply uses ``cuda:0``."""
    pool = device_pool()
    if not pool:
        return Claim("cpu", pool)
    folder = lock_dir()
    deadline = time.monotonic() + wait_s
    while True:
        for device in pool:
            name = device.replace("/", "_")
            fd = _try_lock(folder / f"device-{name}.lock")
            if fd is not None:
                if POOL_ENV not in os.environ:
                    os.environ["CUDA_VISIBLE_DEVICES"] = device
                log.info("claimed device %s of pool %s", device, ",".join(pool))
                return Claim(device, pool, fd)
        if time.monotonic() > deadline:
            raise NoFreeDevice(
                f"no free device among {pool} after {wait_s:.0f} s (locks in {folder}); "
                "is --resources gpu=N larger than the number of devices?"
            )
        time.sleep(poll_s)


# --- the torch device and its numerics ------------------------------------------------


def choose_device(preference: str = "auto"):
    """``auto`` picks CUDA when present, else the CPU."""
    import torch

    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def configure_cuda(device, precision: str, tf32: bool) -> str:
    """TF32 matmuls when asked, on CUDA; returns the precision actually used (fp32
    anywhere but CUDA)."""
    import torch

    if device.type != "cuda":
        if precision != "fp32" or tf32:
            log.info("mixed precision and TF32 are for CUDA: fp32 on %s", device)
        return "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    log.info("precision %s, TF32 %s", precision, "on" if tf32 else "off")
    return precision


def autocast(device, precision: str):
    """Mixed precision on CUDA (bf16, or fp16 with loss scaling); a no-op elsewhere."""
    import torch

    if device.type != "cuda" or precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype)
