"""One-shot pruning of one trained Linear layer: magnitude, Wanda and SparseGPT.

Each takes a layer's weight (``out x in``) and, for Wanda and SparseGPT, statistics of its
inputs over calibration tokens (:class:`InputStatistics`, padding positions left out), and
returns the keep-mask (and SparseGPT its updated weight). Sparsity is a percentage of the
layer's weights; every mask prunes exactly ``core.masks.num_to_prune`` of them (or, N:M,
exactly N of every M consecutive inputs in each row).

Written from the papers and read against their reference code (docs/method.md, "One-shot
pruning", names the commits):

- Wanda (Sun et al., arXiv 2306.11695; locuslab/wanda ``lib/prune.py``): the score of
  ``W[i, j]`` is ``|W[i, j]| * ||X_j||_2``, compared within each output row ``i``.
- SparseGPT (Frantar and Alistarh, arXiv 2301.00774; IST-DASLab/sparsegpt
  ``sparsegpt.py``): ``H = X^T X`` of the layer's inputs, dead inputs given ``H[j, j] = 1``
  and their column zeroed, ``damp`` of the mean diagonal added, ``U`` the upper Cholesky
  factor of ``H^-1``; columns in blocks, each block's mask chosen by ``w^2 / U[j, j]^2``,
  then column by column every pruned weight set to zero and its error ``w / U[j, j]``
  pushed onto the later columns through ``U``'s row (the block's error onto the columns
  after it at once). Computed in float64 (the reference: float32).
"""

from __future__ import annotations

import torch

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.masks import num_to_prune


class InputStatistics:
    """A Linear layer's inputs over calibration tokens: their count, each input
    feature's sum of squares (Wanda) and, when asked, ``X^T X`` (SparseGPT)."""

    def __init__(self, features: int, hessian: bool):
        self.tokens = 0
        self.squares = torch.zeros(features, dtype=torch.float64)
        self.xtx = torch.zeros(features, features, dtype=torch.float64) if hessian else None

    def add(self, inputs: torch.Tensor, valid: torch.Tensor | None = None) -> None:
        """``inputs`` (..., features); ``valid`` (...) True where a token is real (padding
        is left out of every statistic)."""
        x = inputs.detach().reshape(-1, inputs.shape[-1]).to("cpu", torch.float64)
        if valid is not None:
            x = x[valid.reshape(-1).to("cpu")]
        self.tokens += x.shape[0]
        self.squares += (x * x).sum(0)
        if self.xtx is not None:
            self.xtx += x.T @ x

    @property
    def norms(self) -> torch.Tensor:
        """Each input feature's L2 norm over the tokens (Wanda's ``||X_j||_2``)."""
        return self.squares.sqrt()


def magnitude_mask(weight: torch.Tensor, sparsity: float, per_row: bool) -> torch.Tensor:
    """Keep-mask pruning the weights of lowest magnitude: over the whole layer, or the same
    share of every output row (Wanda's comparison group)."""
    scores = weight.detach().abs().to(torch.float64)
    return (
        row_mask(scores, sparsity)
        if per_row
        else _lowest(scores.reshape(-1), sparsity).reshape(scores.shape)
    )


def wanda_scores(weight: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    """``|W[i, j]| * ||X_j||_2``."""
    return weight.detach().abs().to(torch.float64) * norms.to(torch.float64)[None, :]


def row_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask pruning the lowest ``sparsity`` percent of each row's scores (ties: the
    earlier column first)."""
    return torch.stack([_lowest(row, sparsity) for row in scores])


def n_of_m_mask(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep-mask pruning the ``n`` lowest scores of every ``m`` consecutive inputs of each
    row (ties: the earlier column first)."""
    rows, cols = scores.shape
    if cols % m:
        raise InputError(f"{cols} inputs are not groups of {m} (N:M pruning)")
    groups = scores.reshape(rows, cols // m, m)
    order = torch.sort(groups, dim=-1, stable=True).indices[..., :n]
    keep = torch.ones_like(groups, dtype=torch.bool).scatter_(-1, order, False)
    return keep.reshape(rows, cols)


def _lowest(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask of a 1-D score vector pruning exactly ``num_to_prune`` lowest."""
    return _lowest_count(scores, num_to_prune(scores.numel(), sparsity))


def sparsegpt(
    weight: torch.Tensor,
    stats: InputStatistics,
    sparsity: float | None = None,
    n_of_m: tuple[int, int] | None = None,
    block_size: int = 128,
    dampening: float = 0.01,
    layer: str = "a layer",
) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT on one layer: its weight with ``sparsity`` percent pruned (exactly
    ``num_to_prune`` of the layer, shared out over the blocks in proportion) or ``n_of_m``
    kept pruned, the rest updated to make up for them; returns (weight, keep-mask)."""
    w = weight.detach().to("cpu", torch.float64).clone()
    rows, cols = w.shape
    if n_of_m is not None and block_size % n_of_m[1]:
        raise InputError(f"block size {block_size} is not a multiple of M = {n_of_m[1]}")
    h = stats.xtx.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h += dampening * torch.diag(h).mean() * torch.eye(cols, dtype=torch.float64)
    u = _upper_inverse_factor(h, dampening, layer)
    keep = torch.ones(rows, cols, dtype=torch.bool)
    for start in range(0, cols, block_size):
        end = min(start + block_size, cols)
        if n_of_m is None:
            count = num_to_prune(rows * end, sparsity) - num_to_prune(rows * start, sparsity)
            scores = (w[:, start:end] / torch.diag(u)[start:end]) ** 2
            keep[:, start:end] = _lowest_count(scores.reshape(-1), count).reshape(rows, -1)
        errors = _prune_block(w, u, keep, start, end, n_of_m)
        w[:, end:] -= errors @ u[start:end, end:]
    return w.to(weight.dtype), keep


def _prune_block(w, u, keep, start: int, end: int, n_of_m) -> torch.Tensor:
    """Columns ``start:end`` one by one: each pruned weight set to zero and its error
    pushed onto the block's later columns; returns the block's errors (rows x columns)."""
    block, factor = w[:, start:end], u[start:end, start:end]
    diag = torch.diag(factor)
    errors = torch.zeros_like(block)
    for i in range(end - start):
        if n_of_m is not None and i % n_of_m[1] == 0:
            n, m = n_of_m
            group = (block[:, i : i + m] / diag[i : i + m]) ** 2
            keep[:, start + i : start + i + m] = n_of_m_mask(group, n, m)
        column = block[:, i]
        kept = torch.where(keep[:, start + i], column, torch.zeros_like(column))
        errors[:, i] = (column - kept) / diag[i]
        block[:, i:] -= errors[:, i : i + 1] * factor[i : i + 1, i:]
        block[:, i] = kept  # exactly zero where pruned
    w[:, start:end] = block
    return errors


def _upper_inverse_factor(h: torch.Tensor, dampening: float, layer: str) -> torch.Tensor:
    """The upper Cholesky factor of ``h``'s inverse, or one line naming the layer and the
    option to raise when ``h`` is not positive definite."""
    lower, info = torch.linalg.cholesky_ex(h)
    if info.item() == 0:
        lower, info = torch.linalg.cholesky_ex(torch.cholesky_inverse(lower), upper=True)
    if info.item() != 0:
        raise InputError(
            f"{layer}: the Hessian of its calibration inputs is not positive definite after "
            f"dampening by {dampening} of its mean diagonal: raise one_shot.dampening (or "
            "calibrate on more questions: one_shot.calibration_questions)"
        )
    return lower


def _lowest_count(scores: torch.Tensor, count: int) -> torch.Tensor:
    order = torch.sort(scores, stable=True).indices[:count]
    return torch.ones_like(scores, dtype=torch.bool).scatter_(0, order, False)


def reconstruction_error(
    weight: torch.Tensor, pruned: torch.Tensor, stats: InputStatistics
) -> float:
    """``||X W^T - X P^T||^2`` over the calibration tokens, from ``X^T X``."""
    delta = weight.detach().to(torch.float64) - pruned.detach().to(torch.float64)
    return float(torch.einsum("ij,jk,ik->", delta, stats.xtx, delta))
