"""The training loop's building blocks."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from transformers import LxmertForQuestionAnswering

from lxmert_lth.models.losses import qa_loss
from lxmert_lth.models.modeling import small_config
from lxmert_lth.runtime import numerics
from lxmert_lth.training.optim import adamw, clip_gradients

ARCH = {
    "hidden_size": 32,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "l_layers": 2,
    "x_layers": 1,
    "r_layers": 1,
    "max_position_embeddings": 16,
    "dropout": 0.0,
}


def _batch(gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.randint(5, 50, (8, 10), generator=gen),
        "attention_mask": torch.ones(8, 10, dtype=torch.long),
        "token_type_ids": torch.zeros(8, 10, dtype=torch.long),
        "visual_feats": torch.randn(8, 4, 12, generator=gen),
        "visual_pos": torch.rand(8, 4, 4, generator=gen),
    }


def _train(model, foreach: bool, steps: int = 5) -> None:
    """A few real optimizer steps: ours (foreach) or torch's per-tensor loop."""
    gen = torch.Generator().manual_seed(1)
    if foreach:
        opt = adamw(model, 1e-2, 0.01)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01, foreach=False)
    for _ in range(steps):
        batch = _batch(gen)
        labels = {
            "label_idx": torch.randint(0, 7, (8, 2), generator=gen),
            "label_score": torch.rand(8, 2, generator=gen),
        }
        loss = qa_loss(model(**batch).question_answering_score, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if foreach:
            clip_gradients(model, 0.1)  # small enough to clip at every step
        else:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1, foreach=False)
        opt.step()


@pytest.mark.workflow  # trains for many seconds
def test_adamw_is_torchs_adamw_operation_for_operation_but_its_square_root(monkeypatch):
    """Ours against torch's per-tensor AdamW whose square root is made the correctly
    rounded one: bitwise the same steps. (torch's own ``Tensor.sqrt`` on the CPU is MKL's,
    not correctly rounded, and differs between processors.)"""
    monkeypatch.setattr(torch.Tensor, "sqrt", numerics.sqrt)
    torch.manual_seed(0)
    ours = LxmertForQuestionAnswering(small_config(60, 12, 7, ARCH))
    start, loop = copy.deepcopy(ours.state_dict()), copy.deepcopy(ours)
    _train(ours, foreach=True)
    _train(loop, foreach=False)
    after = ours.state_dict()
    for (name, a), b in zip(after.items(), loop.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    moved = [name for name in after if not torch.equal(after[name], start[name])]
    assert len(moved) > len(list(ours.parameters())) // 2  # the steps did move the weights


def _correctly_rounded(x: np.ndarray) -> np.ndarray:
    """Python's square root (double, correctly rounded), rounded to the input's type:
    for float32 inputs that is again correctly rounded (53 >= 2 x 24 + 2 bits)."""
    return np.array([math.sqrt(v) for v in x.astype(np.float64).tolist()], dtype=x.dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_square_root_is_correctly_rounded(dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.cat(
        [
            torch.rand(20_000, generator=gen, dtype=dtype) * 1e3,
            torch.rand(2_000, generator=gen, dtype=dtype) * 1e-36,  # subnormal float32 too
            torch.arange(0, 200, dtype=dtype) ** 2,  # exact squares, zero among them
            torch.tensor([torch.finfo(dtype).max, torch.finfo(dtype).tiny], dtype=dtype),
        ]
    )
    got = numerics.sqrt(x)
    assert got.dtype == dtype and got.shape == x.shape
    assert np.array_equal(got.numpy(), _correctly_rounded(x.numpy()))
    # Not contiguous, in half precision, negative: as IEEE 754 says.
    view = x.reshape(2, -1).t()[:, 0]
    assert torch.equal(numerics.sqrt(view), numerics.sqrt(view.contiguous()))
    assert torch.equal(numerics.sqrt(x.bfloat16()), numerics.sqrt(x.bfloat16().float()).bfloat16())
    assert numerics.sqrt(torch.tensor([-1.0], dtype=dtype)).isnan().all()


def test_the_optimizer_takes_its_temporaries_a_chunk_at_a_time(monkeypatch):
    """With chunks smaller than the model (as LXMERT-base's are), the steps are those of
    one chunk: the chunking bounds memory and changes no digit."""
    from lxmert_lth.training import optim

    def steps(chunk: int, bias_correction: bool) -> list[torch.Tensor]:
        monkeypatch.setattr(optim, "CHUNK", chunk)
        gen = torch.Generator().manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(n, generator=gen)) for n in (7, 300, 5, 40)]
        opt = optim.AdamW(params, lr=1e-2, weight_decay=0.01, bias_correction=bias_correction)
        for _ in range(3):
            for p in params:
                p.grad = torch.randn(p.shape, generator=gen)
            opt.step()
        return [p.detach().clone() for p in params]

    for bias_correction in (True, False):
        whole, chunked = steps(2**24, bias_correction), steps(50, bias_correction)
        assert all(torch.equal(a, b) for a, b in zip(whole, chunked, strict=True))
    sizes = [torch.zeros(n) for n in (7, 300, 5, 40)]  # CHUNK is 50 here
    assert [len(chunk) for (chunk,) in optim._chunks(sizes)] == [1, 1, 2]
