"""A network of the study, by its identity: seed, kind and sparsity.

Every network the study trains is the dense fine-tuned one (``dense``, no mask) or a
subnetwork of a kind (a name of ``lxmert_lth.pruning.kinds.KINDS``: ``low``, ``high``,
``random`` and the controls) at a sparsity, each per seed. This is the one place that
maps an identity to its folder under the results (``seed0/dense``, ``seed0/low50``) and
back: the workflow's paths, the fine-tuning job, the score rows and the EvalAI result
files all go through it. It knows a kind by its form (a lower-case word); which kinds
exist is the registry's to say (``kinds.get``), a layer above.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxmert_lth.core.errors import InputError

DENSE = "dense"
# Folder patterns with Snakemake wildcards, relative to the results folder.
DENSE_FOLDER = "seed{seed}/dense"
SUBNETWORK_FOLDER = "seed{seed}/{kind}{sparsity}"
# theta_0 of a seed's dense network, beside its folder.
THETA0_FILE = "seed{seed}/theta0.safetensors"
_KIND = re.compile(r"^[a-z]+$")
_FOLDER = re.compile(rf"^seed(\d+)/(?:{DENSE}|([a-z]+)(\d+))$")


@dataclass(frozen=True, order=True)
class Network:
    seed: int
    kind: str = DENSE
    sparsity: int = 0  # percent of the prunable weights pruned; 0 for dense

    def __post_init__(self) -> None:
        if self.kind == DENSE and self.sparsity != 0:
            raise ValueError(f"a dense network has no sparsity (got {self.sparsity})")
        if self.kind != DENSE and (not _KIND.match(self.kind) or not 0 < self.sparsity < 100):
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

    @property
    def key(self) -> tuple[str, int, int]:
        """(kind, sparsity, seed), as a score row is keyed."""
        return self.kind, self.sparsity, self.seed

    def row(self) -> dict:
        """The identity as the columns of a score row."""
        return {"kind": self.kind, "sparsity": self.sparsity, "seed": self.seed}

    @classmethod
    def from_folder(cls, folder: str) -> Network:
        match = _FOLDER.match(folder)
        if match is None:
            raise InputError(
                f"{folder!r} names no network (expected seedS/dense or seedS/KINDP, e.g. "
                "seed0/low50)"
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


# What a mask is made from: a network and which of its files.
TRAINED = "trained"  # a network's trained weights (model.safetensors)
MASK = "mask"  # a network's mask (mask.safetensors)
LATE = "late"  # the dense network's weights after study.late_rewind_step steps
