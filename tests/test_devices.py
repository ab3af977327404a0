"""GPU claims: no two concurrent jobs hold one device; a killed job's device is free."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import pytest

from lxmert_lth.devices import NoFreeDevice, claim_device


@pytest.fixture
def pool(tmp_path, monkeypatch):
    monkeypatch.setenv("LXMERT_LTH_DEVICE_POOL", "0,1")
    monkeypatch.setenv("LXMERT_LTH_LOCK_DIR", str(tmp_path / "locks"))
    return tmp_path


def _job(queue, hold_s):
    claim = claim_device(wait_s=60, poll_s=0.01)
    start = time.monotonic()
    time.sleep(hold_s)
    end = time.monotonic()
    claim.release()
    queue.put((claim.device, start, end))


def test_concurrent_jobs_never_share_a_device(pool):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    jobs = [ctx.Process(target=_job, args=(queue, 0.3)) for _ in range(6)]
    for j in jobs:
        j.start()
    held = [queue.get(timeout=60) for _ in jobs]
    for j in jobs:
        j.join()
    assert {d for d, _, _ in held} == {"0", "1"}  # both devices were used
    for i, (d1, s1, e1) in enumerate(held):
        for d2, s2, e2 in held[i + 1 :]:
            if d1 == d2:
                assert e1 <= s2 or e2 <= s1, "two jobs held one device at once"


def test_a_killed_jobs_device_is_free_again(pool):
    code = (
        "from lxmert_lth.devices import claim_device\n"
        "c = claim_device()\n"
        "print(c.device, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    holders = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    taken = sorted(p.stdout.readline().strip() for p in holders)
    assert taken == ["0", "1"]
    with pytest.raises(NoFreeDevice, match="no free device among"):
        claim_device(wait_s=0.2, poll_s=0.05)
    victim = holders[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    claim = claim_device(wait_s=5, poll_s=0.05)
    assert claim.device in taken
    claim.release()
    holders[1].kill()
    holders[1].wait()


def test_visible_devices_are_the_pool_and_get_narrowed(tmp_path, monkeypatch):
    monkeypatch.delenv("LXMERT_LTH_DEVICE_POOL", raising=False)
    monkeypatch.setenv("LXMERT_LTH_LOCK_DIR", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaa,GPU-bbb")
    first = claim_device(wait_s=1)
    assert first.device == "GPU-aaa" and os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-aaa"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaa,GPU-bbb")
    second = claim_device(wait_s=1)
    assert second.device == "GPU-bbb"
    first.release()
    second.release()


def test_no_devices_means_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("LXMERT_LTH_DEVICE_POOL", "")
    assert claim_device(wait_s=0).device == "cpu"


def test_mixed_precision_and_tf32_are_off_on_the_cpu():
    import contextlib

    import torch

    from lxmert_lth.devices import autocast, configure_cuda

    cpu = torch.device("cpu")
    assert configure_cuda(cpu, "bf16", True) == "fp32"
    assert isinstance(autocast(cpu, "fp16"), contextlib.nullcontext)
