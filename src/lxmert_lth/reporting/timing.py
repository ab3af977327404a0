"""How fast each subnetwork of a run answers, on this machine's CPU, against the dense
network, beside its accuracy: the trade-off a deploying user chooses from
(rule ``ticket_speed``; its outputs are under ``benchmarks/`` since they depend on the
machine).

Speed needs a subnetwork's structure, not its trained values: each network is theta_0
under its mask (the masks of every kind are kept; the controls' trained weights are not).
An unstructured or N:M mask is applied as zeros (the CPU multiplies them all the same); a
``heads_neurons`` mask's heads and neurons are removed for real (``lxmert_lth.pruning.shrink``).
Each network predicts the first questions of the scored split in batches, one torch
thread, a warm-up then the median of ``repeats`` passes, interleaved across the networks
when they fit in memory together, each pass over them starting one network further on
(so that no network is always timed first), with Python's garbage collector off and
subnormal floats flushed (``steady_timing``): questions per second, and the ratio to the
dense network's.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import statistics
import time
from collections.abc import Iterator, Mapping

import pandas as pd
import torch

from lxmert_lth.core.checkpoints import CheckpointTensors
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.models.modeling import load_checkpoint
from lxmert_lth.pruning import granularities
from lxmert_lth.pruning.shrink import kept_indices, shrink
from lxmert_lth.training.inference import predict_indices

log = logging.getLogger("lxmert_lth")


def _seconds(model, split, batch_size: int) -> float:
    start = time.perf_counter()
    predict_indices(model, split, batch_size)
    return time.perf_counter() - start


def _network(theta0: str, mask_path: str | None, granularity: str):
    model, _ = load_checkpoint(theta0)
    model.eval()
    if mask_path is not None:
        mask = Mask.load(mask_path)[0]
        with torch.no_grad():
            for name, keep in mask.tensors.items():
                model.get_parameter(name).mul_(torch.from_numpy(keep))
        if granularities.get(granularity).removes_structures:
            shrink(model, kept_indices(model, mask))
    return model


@contextlib.contextmanager
def steady_timing() -> Iterator[None]:
    """While timing: Python's collector off (as timeit does: with many networks held, a
    full collection walks every module and tensor of all of them, and would be charged to
    whichever network happened to run), and subnormal floats flushed to zero (the CPU
    computes them in slow microcode, so a network's speed would depend on how many of its
    activations happen to be tiny: on the embedded default, 5 % apart between two copies
    of one network, within 1.2 % flushed). Times only: no prediction is kept."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    flushing = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flushing:
            torch.set_flush_denormal(False)
        if was:
            gc.enable()


# Models held at once up to this many bytes: then the passes are interleaved (network by
# network within each repeat), so that a change in the machine's load falls on all alike.
INTERLEAVE_BYTES = 2**28  # within the job's memory request (rules: speed_memory)


def measure(
    theta0: str,
    masks: Mapping[Network, str],
    granularity: str,
    split,
    batch_size: int = 32,
    repeats: int = 5,
) -> pd.DataFrame:
    """One row per network (dense first): parameters, questions/s, speed-up."""
    order = [(Network(0), None), *sorted(masks.items())]
    shapes = CheckpointTensors(theta0).shapes.values()
    held = 4 * sum(int(torch.Size(s).numel()) for s in shapes) * len(order) <= INTERLEAVE_BYTES
    times: dict[Network, list[float]] = {n: [] for n, _ in order}
    sizes: dict[Network, int] = {}
    with torch.inference_mode(), steady_timing():
        if held:
            models = {n: _network(theta0, m, granularity) for n, m in order}
            for model in models.values():
                _seconds(model, split, batch_size)  # warm-up
            names = list(models)
            for r in range(repeats):
                turn = r % len(names)
                for n in names[turn:] + names[:turn]:
                    times[n].append(_seconds(models[n], split, batch_size))
            sizes = {n: sum(p.numel() for p in m.parameters()) for n, m in models.items()}
        else:
            for n, m in order:
                model = _network(theta0, m, granularity)
                _seconds(model, split, batch_size)
                times[n] = [_seconds(model, split, batch_size) for _ in range(repeats)]
                sizes[n] = sum(p.numel() for p in model.parameters())
                del model
    rows = []
    for n, _ in order:
        rate = len(split) / statistics.median(times[n])
        rows.append({"kind": n.kind, "sparsity": n.sparsity, "parameters": sizes[n],
                     "questions_per_s": rate})  # fmt: skip
        log.info("%s: %.1f questions/s", n.name, rate)
    frame = pd.DataFrame(rows)
    frame["speedup"] = frame["questions_per_s"] / frame["questions_per_s"].iloc[0]
    return frame
