"""A network of the study, by its identity: seed, kind and sparsity.

Every network the study trains is the dense fine-tuned one (``dense``, no mask) or a
subnetwork of a kind (``low``, ``high``, ``random``, and the controls of
``lxmert_lth.study.mask_sources``) at a sparsity, each per seed. This is
the one place that maps an identity to its folder under the results (``seed0/dense``,
``seed0/low50``) and back: the workflow's paths, the fine-tuning job, the score rows and
the EvalAI result files all go through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .io import InputError
from .kinds import KINDS

DENSE = "dense"
# The kinds of subnetwork, in the registry's order (lxmert_lth.kinds).
SUBNETWORK_KINDS = tuple(KINDS)
# The controls: every kind but the IMP ticket (low).
CONTROL_KINDS = SUBNETWORK_KINDS[1:]
# Folder patterns with Snakemake wildcards, relative to the results folder.
DENSE_FOLDER = "seed{seed}/dense"
SUBNETWORK_FOLDER = "seed{seed}/{kind}{sparsity}"
_FOLDER = re.compile(rf"^seed(\d+)/(?:{DENSE}|({'|'.join(SUBNETWORK_KINDS)})(\d+))$")


@dataclass(frozen=True, order=True)
class Network:
    seed: int
    kind: str = DENSE
    sparsity: int = 0  # percent of the prunable weights pruned; 0 for dense

    def __post_init__(self) -> None:
        if self.kind == DENSE and self.sparsity != 0:
            raise ValueError(f"a dense network has no sparsity (got {self.sparsity})")
        if self.kind != DENSE and (self.kind not in SUBNETWORK_KINDS or self.sparsity <= 0):
            raise ValueError(f"no subnetwork {self.kind!r} at sparsity {self.sparsity}")

    @property
    def is_dense(self) -> bool:
        return self.kind == DENSE

    @property
    def name(self) -> str:
        """``dense`` or kind + sparsity, e.g. ``low50``."""
        return DENSE if self.is_dense else f"{self.kind}{self.sparsity}"

    @property
    def folder(self) -> str:
        """The network's folder relative to the results folder, e.g. ``seed0/low50``."""
        return f"seed{self.seed}/{self.name}"

    def row(self) -> dict:
        """The identity as the columns of a score row."""
        return {"kind": self.kind, "sparsity": self.sparsity, "seed": self.seed}

    @classmethod
    def from_folder(cls, folder: str) -> Network:
        match = _FOLDER.match(folder)
        if match is None:
            raise InputError(
                f"{folder!r} names no network (expected seedS/dense or seedS/KINDP, KIND one "
                f"of {', '.join(SUBNETWORK_KINDS)})"
            )
        seed, kind, sparsity = match.groups()
        return cls(int(seed)) if kind is None else cls(int(seed), kind, int(sparsity))

    @classmethod
    def from_wildcards(cls, wildcards: Mapping) -> Network:
        """A job's network from its wildcards (``seed``, and ``kind``, ``sparsity`` when a
        subnetwork)."""
        if "kind" not in wildcards.keys():
            return cls(int(wildcards["seed"]))
        return cls(int(wildcards["seed"]), wildcards["kind"], int(wildcards["sparsity"]))
