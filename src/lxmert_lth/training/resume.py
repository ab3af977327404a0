"""Resumable training state, kept in a scratch folder outside the job's declared outputs.

Snakemake deletes a job's outputs before it reruns the job, so the state that lets a
killed training job resume lives beside them, not among them: weights, optimizer,
scheduler, loss scaler, every random generator, the data position (epoch, step), the
running loss, the history and the best weights so far. It is written atomically at each
epoch end and, within an epoch, once ``minutes`` of wall-clock time have passed since the
last save, and removed once the job's outputs are written.

The interval is in time, not steps, because a save's cost does not depend on the step
rate: at LXMERT-base one save writes 3.2 GiB (weights, AdamW's moments, the best weights)
in about 16 s, which a fast GPU running a save every 500 steps would pay every minute or
so. Whatever ``minutes`` says, the next save also waits 19 times as long as the last one
took, so from the second save on saving costs at most 5 % of the training time.

A state is used only if its fingerprint (the recipe, the seed and the inputs' sizes and
modification times) matches the job's: a changed input starts afresh. The file is this
workflow's own, loaded with ``weights_only=True`` all the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch

from lxmert_lth.core.io import atomic_path

log = logging.getLogger("lxmert_lth")
STATE = "state.pt"


def fingerprint(recipe: Mapping, seed: int, inputs: Iterable[str]) -> str:
    """What a saved state must agree with to be resumed."""
    files = []
    for path in sorted(str(p) for p in inputs if p):
        st = os.stat(path)
        files.append([path, st.st_size, st.st_mtime_ns])
    blob = json.dumps({"recipe": dict(recipe), "seed": seed, "inputs": files}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


MAX_SAVING_SHARE = 0.05  # of the training time


class Resume:
    """Save and load one training job's resumable state."""

    def __init__(
        self,
        folder: str | os.PathLike,
        key: str,
        minutes: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.folder = Path(folder)
        self.key = key
        self.interval = 60.0 * float(minutes)
        self.path = self.folder / STATE
        self.clock = clock
        self.last_save_end = clock()
        self.last_save_cost = 0.0

    def due(self, step: int, steps_per_epoch: int) -> bool:
        """A mid-epoch save after ``step`` finished steps (epoch ends save anyway): once
        the interval has passed, and long enough after the last save that saving stays
        within 5 % of the time."""
        if self.interval <= 0 or step >= steps_per_epoch:
            return False
        wait = max(self.interval, self.last_save_cost * (1 / MAX_SAVING_SHARE - 1))
        return self.clock() - self.last_save_end >= wait

    def save(self, state: dict) -> None:
        start = self.clock()
        with atomic_path(self.path) as tmp:
            torch.save({**state, "fingerprint": self.key}, tmp)
        self.last_save_end = self.clock()
        self.last_save_cost = self.last_save_end - start
        log.info(
            "resumable state saved: epoch %d, step %d (%.2f s)",
            state["epoch"],
            state["step"],
            self.last_save_cost,
        )

    def load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # a damaged scratch file: start afresh, never fail
            log.warning("ignoring unreadable resumable state %s (%s)", self.path, err)
            return None
        if state.get("fingerprint") != self.key:
            log.warning("ignoring resumable state %s: made for other inputs", self.path)
            return None
        log.info("resuming from %s: epoch %d, step %d", self.path, state["epoch"], state["step"])
        return state

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def rng_states(generator: torch.Generator) -> dict:
    states = {"torch": torch.get_rng_state(), "shuffle": generator.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng(states: Mapping, generator: torch.Generator) -> None:
    torch.set_rng_state(states["torch"])
    generator.set_state(states["shuffle"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
