"""The training loop's building blocks."""

from __future__ import annotations

import copy

import torch
from transformers import LxmertForQuestionAnswering

from lxmert_lth.modeling import small_config
from lxmert_lth.training import adamw, clip_gradients, qa_loss

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


def test_foreach_optimizer_steps_are_bitwise_those_of_the_loop():
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
