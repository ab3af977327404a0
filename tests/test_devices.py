"""GPU claims: no two concurrent jobs hold one device; a killed job's device is free."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from lxmert_lth.runtime.devices import NoFreeDevice, claim_device


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
        "from lxmert_lth.runtime.devices import claim_device\n"
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

    from lxmert_lth.runtime.devices import autocast, configure_cuda

    cpu = torch.device("cpu")
    assert configure_cuda(cpu, "bf16", True) == "fp32"
    assert isinstance(autocast(cpu, "fp16"), contextlib.nullcontext)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
# Read by cuBLAS when CUDA starts in this process (lxmert_lth.runtime.numerics.CUBLAS_WORKSPACE).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _cuda_steps(precision: str, steps: int = 3) -> tuple[list[float], list[torch.Tensor]]:
    """A few fine-tuning steps of a small LXMERT on CUDA: losses and final weights."""
    from transformers import LxmertConfig, LxmertForQuestionAnswering

    from lxmert_lth.models.losses import qa_loss
    from lxmert_lth.runtime.devices import autocast
    from lxmert_lth.training.optim import bert_adam

    device = torch.device("cuda")
    torch.manual_seed(0)
    config = LxmertConfig(vocab_size=50, hidden_size=32, num_attention_heads=2,
                          intermediate_size=64, l_layers=1, x_layers=1, r_layers=1,
                          visual_feat_dim=8, num_qa_labels=5, task_obj_predict=False,
                          visual_obj_loss=False, visual_attr_loss=False,
                          visual_feat_loss=False)  # fmt: skip
    model = LxmertForQuestionAnswering(config).to(device)
    optimizer = bert_adam(model.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        batch = {
            "input_ids": torch.randint(5, 50, (4, 6), generator=g),
            "attention_mask": torch.ones(4, 6, dtype=torch.long),
            "token_type_ids": torch.zeros(4, 6, dtype=torch.long),
            "visual_feats": torch.rand(4, 3, 8, generator=g),
            "visual_pos": torch.rand(4, 3, 4, generator=g),
            "label_idx": torch.randint(0, 5, (4, 1), generator=g),
            "label_score": torch.ones(4, 1),
        }
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device, precision):
            logits = model(**{k: batch[k] for k in list(batch)[:5]}).question_answering_score
        loss = qa_loss(logits.float(), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu() for p in model.parameters()]


@CUDA
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_training_steps_on_cuda_are_finite(precision):
    losses, _ = _cuda_steps(precision)
    assert all(np.isfinite(losses))


@CUDA
def test_two_deterministic_cuda_runs_are_bitwise_the_same():
    from lxmert_lth.runtime.numerics import configure_torch

    configure_torch(True)
    a = _cuda_steps("fp32")[1]
    b = _cuda_steps("fp32")[1]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
