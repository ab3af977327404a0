"""What a checkpoint of the study says about itself: its safetensors metadata.

theta_0, rewound, fine-tuned and retrained networks are single safetensors files holding
the full ``LxmertForQuestionAnswering`` state dict; their metadata carries the model's
``LxmertConfig`` (as a dict), the answer vocabulary (index ``i`` is output ``i``), the
seed, the names of the prunable weights and the total parameter count, plus what is
particular to the file (theta_0: how its answer head was made; a trained network: its kind
and sparsity; a rewound one: its mask's metadata). This module is the one writer and
reader of that metadata, and it imports no torch: the subnetwork jobs use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .io import InputError

_REQUIRED = ("config", "answers", "seed", "prunable", "num_total_parameters")


@dataclass(frozen=True)
class CheckpointMeta:
    config: dict  # LxmertConfig.to_dict()
    answers: list[str]
    seed: int
    prunable: list[str]  # names of the prunable weight tensors, sorted
    num_total_parameters: int
    extra: Mapping = field(default_factory=dict)

    def to_json(self) -> dict:
        """The metadata as written into the file (one JSON value per key)."""
        fixed = {k: getattr(self, k) for k in _REQUIRED}
        clash = sorted(set(fixed) & set(self.extra))
        if clash:
            raise ValueError(f"checkpoint metadata key {clash[0]!r} given twice")
        return {**fixed, **self.extra}

    @classmethod
    def from_json(cls, meta: Mapping, source: str) -> CheckpointMeta:
        missing = [k for k in _REQUIRED if k not in meta]
        if missing:
            raise InputError(f"{source}: no {missing[0]!r} in the checkpoint metadata")
        extra = {k: v for k, v in meta.items() if k not in _REQUIRED}
        return cls(**{k: meta[k] for k in _REQUIRED}, extra=extra)

    def with_extra(self, **extra) -> CheckpointMeta:
        """The same checkpoint facts with other particulars (replacing the old ones)."""
        return replace(self, extra=extra)
