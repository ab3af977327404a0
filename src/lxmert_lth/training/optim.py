"""The workflow's one optimizer: AdamW with decoupled weight decay, with or without Adam's
bias correction, whose square root is correctly rounded on every processor.

Written here for two reasons. The original LXMERT's ``BertAdam`` (AdamW without bias
correction) is offered by neither ``torch.optim`` nor ``transformers`` (whose
``AdamW(correct_bias=False)`` is gone). And torch's own AdamW takes its square root with
``torch.sqrt``, which on the CPU runs through MKL's vector math library: its float32
square roots are not correctly rounded, and which ones are off depends on the processor
(an Intel Xeon and an emulated AMD EPYC disagree even on MKL's ``COMPATIBLE`` path;
docs/method.md, "The same digits on every processor"). Every other operation of the
update is an IEEE-exact elementwise operation of ATen's pinned AVX2 kernels, so with
:func:`lxmert_lth.runtime.numerics.sqrt` the whole step is the same on every x86-64 processor.

``bias_correction=True`` is ``torch.optim.AdamW``'s update (its foreach form, operation
for operation); ``bias_correction=False`` is BertAdam's: ``p -= lr * (m / (sqrt(v) + eps) +
weight_decay * p)``, each product rounded on its own in BertAdam's order (a fused
multiply-add, torch's ``alpha=``, would round once and drift from the original by an ulp a
step). Both are checked against their references in tests/test_training.py.

Neither the optimizer nor its schedule (``Schedule``, torch's ``LambdaLR`` as the loops use
it) derives from torch's classes: ``torch.optim.Optimizer`` wraps ``zero_grad``,
``state_dict`` and ``add_param_group`` in ``torch._disable_dynamo``, whose first call
imports torch's compiler (``torch._dynamo`` and ``torch._inductor``), about 1.5 s of every
training job's start on the embedded default's machine for hooks the workflow never uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from lxmert_lth.runtime.numerics import sqrt


class AdamW:
    """One group of parameters; ``step``, ``zero_grad``, ``state_dict`` and
    ``load_state_dict`` as ``torch.optim.Optimizer``'s."""

    def __init__(
        self,
        params,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        bias_correction: bool = True,
    ):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        self.defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                         "bias_correction": bias_correction}  # fmt: skip
        self.param_groups = [{"params": params, **self.defaults}]
        self.state: dict[torch.Tensor, dict] = {p: {} for p in params}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def state_dict(self) -> dict:
        """Each parameter's state by its position, and the group's settings."""
        params = self.param_groups[0]["params"]
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return {"state": {i: dict(self.state[p]) for i, p in enumerate(params) if self.state[p]},
                "param_groups": [group]}  # fmt: skip

    def load_state_dict(self, saved: dict) -> None:
        params = self.param_groups[0]["params"]
        self.param_groups[0].update(saved["param_groups"][0])
        for i, p in enumerate(params):
            state = saved["state"].get(i, {})
            self.state[p] = {k: v.to(p.device) if torch.is_tensor(v) else v
                             for k, v in state.items()}  # fmt: skip

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            grads = [p.grad for p in params]
            m = [self.state[p]["exp_avg"] for p in params]
            v = [self.state[p]["exp_avg_sq"] for p in params]
            if group["bias_correction"]:
                steps = [self.state[p]["step"] for p in params]
                _adamw(params, grads, m, v, steps, group)
            else:
                _bert_adam(params, grads, m, v, group)


# Elements a chunk of the update's temporaries may hold (64 MiB of float32): at
# LXMERT-base's size (214M parameters) the update's new tensors take a chunk at a time,
# not three copies of the model; a small model is one chunk, one foreach call per step.
CHUNK = 2**24


def _chunks(params, *lists):
    """The parameters and their companions in ``lists``, in consecutive chunks of about
    ``CHUNK`` elements (a tensor larger than that is a chunk of its own)."""
    start, size = 0, 0
    for i, p in enumerate(params):
        if size and size + p.numel() > CHUNK:
            yield params[start:i], *(x[start:i] for x in lists)
            start, size = i, 0
        size += p.numel()
    if start < len(params):
        yield params[start:], *(x[start:] for x in lists)


def _adamw(params, grads, m, v, steps, group) -> None:
    """torch.optim.AdamW's foreach update (torch 2.13, not capturable, not amsgrad)."""
    lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    torch._foreach_mul_(params, 1 - lr * wd)
    torch._foreach_lerp_(m, grads, 1 - beta1)
    torch._foreach_mul_(v, beta2)
    torch._foreach_addcmul_(v, grads, grads, 1 - beta2)
    for ps, ms, vs, ss in _chunks(params, m, v, steps):
        denom = [sqrt(x) for x in vs]
        torch._foreach_div_(denom, [(1 - beta2**s) ** 0.5 for s in ss])
        torch._foreach_add_(denom, eps)
        torch._foreach_addcdiv_(ps, ms, denom, [(lr / (1 - beta1**s)) * -1 for s in ss])


def _bert_adam(params, grads, m, v, group) -> None:
    """BertAdam's update, each product rounded on its own, in its order."""
    lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    torch._foreach_mul_(m, beta1)
    torch._foreach_add_(m, grads, alpha=1 - beta1)
    torch._foreach_mul_(v, beta2)
    torch._foreach_addcmul_(v, grads, grads, 1 - beta2)
    for ps, ms, vs in _chunks(params, m, v):
        update = [sqrt(x) for x in vs]
        torch._foreach_add_(update, eps)
        update = torch._foreach_div(ms, update)
        if wd > 0:
            torch._foreach_add_(update, torch._foreach_mul(ps, wd))
        torch._foreach_mul_(update, lr)
        torch._foreach_sub_(ps, update)


def bert_adam(params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> AdamW:
    """The original LXMERT's BertAdam: AdamW without bias correction, epsilon 1e-6."""
    return AdamW(params, lr=lr, eps=1e-6, weight_decay=weight_decay, bias_correction=False)


def adamw(model, lr: float, weight_decay: float) -> AdamW:
    """torch's AdamW (with bias correction), its square root correctly rounded."""
    return AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def clip_gradients(model, max_norm: float) -> None:
    """Gradient-norm clipping in its foreach form (as ``adamw``: the same result)."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm, foreach=True)


class Schedule:
    """torch's ``LambdaLR`` as the training loops use it: at step ``i`` (``step`` called
    ``i`` times) the rate is the optimizer's first rate times ``factor(i)``, the same
    product; ``get_last_lr``, ``state_dict`` and ``load_state_dict`` as LambdaLR's."""

    def __init__(self, optimizer: AdamW, factor: Callable[[int], float]):
        self.optimizer, self.factor = optimizer, factor
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def _apply(self) -> None:
        self._last_lr = [base * self.factor(self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr, strict=True):
            group["lr"] = lr

    def step(self) -> None:
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, saved: dict) -> None:
        self.last_epoch, self.base_lrs = saved["last_epoch"], list(saved["base_lrs"])
        self._apply()


def linear_warmup(optimizer: AdamW, warmup_steps: int, total: int) -> Schedule:
    """``transformers.get_linear_schedule_with_warmup`` (as of 5.23): a factor rising
    from 0 over ``warmup_steps`` whole steps, then falling linearly to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return float(step) / float(max(1, warmup_steps))
        return max(0.0, float(total - step) / float(max(1, total - warmup_steps)))

    return Schedule(optimizer, factor)


def warmup_then_linear_decay(optimizer: AdamW, warmup_fraction: float, total: int) -> Schedule:
    """BertAdam's ``warmup_linear`` schedule: at step ``i`` (from 0) of ``total``, with
    ``x = i / total``, the factor is ``x / w`` while ``x < w``, then
    ``max((x - 1) / (w - 1), 0)``: the warm-up covers the fraction ``w`` of the steps
    exactly, not a whole number of them (``transformers``' scheduler takes an int)."""

    def factor(step: int) -> float:
        x = step / total
        if x < warmup_fraction:
            return x / warmup_fraction
        return max((x - 1.0) / (warmup_fraction - 1.0), 0.0)

    return Schedule(optimizer, factor)
