"""Where the rules' files are: the results folder, a network's files, logs,
benchmarks, records and resumable state (a mixin of ``Rules``)."""

from __future__ import annotations

import os

from lxmert_lth.core.network import (
    DENSE_FOLDER,
    LATE,
    MASK,
    SUBNETWORK_FOLDER,
    THETA0_FILE,
    TRAINED,
    Network,
)
from lxmert_lth.pruning.kinds import PRETRAINING_FOLDER


class Paths:
    # The pre-training tickets' chain, under the results folder.
    PRETRAINING = PRETRAINING_FOLDER

    def res(self, *parts: str) -> str:
        """A path under the results folder."""
        return os.path.join(self.results, *parts)

    def dense(self, name: str) -> str:
        """A file of the dense network of seed {seed}."""
        return self.res(DENSE_FOLDER, name)

    def subnetwork(self, name: str) -> str:
        """A file of the subnetwork {kind}{sparsity} of seed {seed}."""
        return self.res(SUBNETWORK_FOLDER, name)

    def network_file(self, network: Network, name: str) -> str:
        return self.res(network.folder, name)

    def theta0(self, seed="{seed}") -> str:
        """theta_0 of a seed's dense network (the one place its path is made)."""
        return self.res(THETA0_FILE.format(seed=seed))

    def logfile(self, *parts: str) -> str:
        return self.res("logs", *parts)

    def benchfile(self, *parts: str) -> str:
        return self.res("benchmarks", *parts)

    def recordfile(self, *parts: str) -> str:
        """What decided a job's digits (``runtime.numerics.record``): a log, not an output."""
        return self.res("records", *parts)

    def late_file(self) -> str:
        """The dense network after study.late_rewind_step optimizer steps (late control)."""
        return f"step{self.study['late_rewind_step']}.safetensors"

    def late_output(self) -> dict:
        """The late control's rewind point, an output of the dense job only when asked."""
        return {"late": self.dense(self.late_file())} if self.writes_late else {}

    def file_of(self, what: str) -> str:
        """A network's file by what a mask is made from (``core.network``)."""
        names = {TRAINED: "model.safetensors", MASK: "mask.safetensors"}
        return names[what] if what != LATE else self.late_file()

    def resume_folder(self, wildcards) -> str:
        """Resumable training state of a job: beside, never among, its declared outputs."""
        return self.res(".resume", Network.from_wildcards(wildcards).folder)
