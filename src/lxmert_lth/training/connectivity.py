"""Linear mode connectivity (Frankle et al., ICML 2020, "Linear Mode Connectivity and the
Lottery Ticket Hypothesis", arXiv 1912.05671, section 2): two copies of a network trained
from one starting point with different data orders are *stable* when the error along
the straight line between them rises no more than a threshold above their ends.

For ``points`` evenly spaced alpha in [0, 1], the network with weights
``(1 - alpha) * A + alpha * B`` is evaluated; the error is 100 minus its accuracy (%),
and the barrier (their "instability") is the highest error on the line minus the mean of
the two ends' errors. Two masked copies share one mask, and a pruned weight is 0 in both,
so every point on the line keeps the mask (:func:`interpolate` checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch


def alphas(points: int) -> list[float]:
    """``points`` evenly spaced interpolation weights from 0 (copy A) to 1 (copy B)."""
    if points < 2:
        raise ValueError(f"a line needs at least 2 points, not {points}")
    return [float(a) for a in np.linspace(0.0, 1.0, points)]


def barrier(errors: Sequence[float]) -> float:
    """The highest error on the line minus the mean of its two ends' errors (>= 0 when
    the ends are on the line, as they are)."""
    return max(errors) - (errors[0] + errors[-1]) / 2.0


def interpolate(
    model: torch.nn.Module,
    a: Mapping[str, torch.Tensor],
    b: Mapping[str, torch.Tensor],
    alpha: float,
    pruned: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Load ``(1 - alpha) * a + alpha * b`` into ``model`` (floating tensors; others,
    such as position ids, must agree). ``pruned``: name -> bool tensor of the pruned
    entries, which must stay exactly 0 (they are 0 in both copies)."""
    state = {}
    for name, x in a.items():
        y = b[name]
        if x.shape != y.shape:
            raise ValueError(
                f"{name}: shape {tuple(x.shape)} in one copy, {tuple(y.shape)} in the other"
            )
        if x.is_floating_point():
            state[name] = torch.lerp(x, y, alpha) if 0.0 < alpha < 1.0 else (x if alpha == 0 else y)
        elif torch.equal(x, y):
            state[name] = x
        else:
            raise ValueError(f"{name}: the two copies differ in a tensor that is not a weight")
    for name, where in (pruned or {}).items():
        if state[name][where].any():
            raise ValueError(f"{name}: a pruned weight is not zero at alpha {alpha}")
    model.load_state_dict(state)


def evaluate_line(
    model: torch.nn.Module,
    a: Mapping[str, torch.Tensor],
    b: Mapping[str, torch.Tensor],
    points: int,
    accuracy: Callable[[torch.nn.Module], float],
    pruned: Mapping[str, torch.Tensor] | None = None,
) -> dict:
    """Accuracy (%) and error at every point of the line from ``a`` to ``b``, and the
    barrier. Holds the two copies and the one model the points are loaded into."""
    line = {"alpha": alphas(points), "accuracy": [], "error": []}
    for alpha in line["alpha"]:
        interpolate(model, a, b, alpha, pruned)
        acc = accuracy(model)
        line["accuracy"].append(acc)
        line["error"].append(100.0 - acc)
    line["barrier"] = barrier(line["error"])
    return line
