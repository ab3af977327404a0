"""What a checkpoint of the study says about itself: its safetensors metadata.

theta_0, rewound, fine-tuned and retrained networks are single safetensors files holding
the question-answering model's state dict; their metadata carries the model's
configuration (as a dict; its ``model_type`` names the family), the answer vocabulary
(index ``i`` is output ``i``), the
seed, the names of the prunable weights and the total parameter count, plus what is
particular to the file (theta_0: how its answer head was made; a trained network: its kind
and sparsity; a rewound one: its mask's metadata). This module is the one writer and
reader of that metadata, and it imports no torch: the subnetwork jobs use it too.

A network with a mask (rewound or retrained subnetwork) is stored *compactly*, losslessly:
each prunable weight as the 1-D array of its kept values (row-major order) beside its
bit-packed keep-mask (``NAME.kept_bits``), the full shapes under ``compact_shapes`` in the
metadata. At LXMERT-base a 50 % subnetwork takes 513 MB instead of 856 MB.
:class:`CheckpointTensors` reads either layout as full arrays, a tensor at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import TensorFile

_REQUIRED = ("config", "answers", "seed", "prunable", "num_total_parameters")


@dataclass(frozen=True)
class CheckpointMeta:
    config: dict  # the model's config.to_dict() (model_type: its family)
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


# --- compact storage of networks with a mask ----------------------------------------------

COMPACT_SHAPES = "compact_shapes"
KEPT_BITS = ".kept_bits"


def compact(
    state: Mapping[str, np.ndarray],
    keep: Mapping[str, np.ndarray],
    source: str,
    rewind: bool = False,
):
    """The tensors and metadata of the compact layout of ``state`` under the keep-masks
    ``keep`` (name -> bool array). A pruned weight that is not zero is refused (the
    layout must lose nothing), unless ``rewind``: then ``state`` is theta_0 and the
    result is theta_0 rewound under the mask (its pruned weights zero)."""
    tensors, shapes = {k: state[k] for k in state}, {}
    for name in sorted(keep):
        weight, kept = np.asarray(state[name]), keep[name]
        if not rewind and np.any(weight[~kept]):
            raise ValueError(f"{source}: pruned weights of {name!r} are not zero")
        tensors[name] = weight[kept]
        tensors[name + KEPT_BITS] = np.packbits(kept.ravel())
        shapes[name] = list(kept.shape)
    return tensors, {COMPACT_SHAPES: shapes}


class CheckpointTensors(Mapping):
    """A checkpoint file as full NumPy arrays, each read (and expanded, when stored
    compactly) when asked for. ``shapes`` are the full shapes; ``metadata`` is the
    checkpoint's own (the layout's key aside)."""

    def __init__(self, path):
        self.file = TensorFile(path)
        self.metadata = dict(self.file.metadata)
        self.compact = {k: tuple(v) for k, v in self.metadata.pop(COMPACT_SHAPES, {}).items()}
        self.shapes = {
            k: self.compact.get(k, shape)
            for k, shape in self.file.shapes.items()
            if not k.endswith(KEPT_BITS)
        }

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.compact:
            if name not in self.shapes:
                raise KeyError(name)
            return self.file[name]
        shape, values = self.compact[name], self.file[name]
        size = int(np.prod(shape))
        bits = self.file[name + KEPT_BITS] if name + KEPT_BITS in self.file else None
        kept = None if bits is None else np.unpackbits(bits, count=size).view(bool)
        if kept is None or bits.size != (size + 7) // 8 or values.shape != (int(kept.sum()),):
            raise InputError(
                f"{self.file.path}: compact tensor {name!r} does not match its kept bits"
            )
        full = np.zeros(size, dtype=values.dtype)
        full[kept] = values
        return full.reshape(shape)

    def __iter__(self):
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)
