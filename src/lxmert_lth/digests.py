"""Content digests of the workflow's outputs, for comparing two runs.

A run is reproducible when every output has the same content. Files are compared byte for
byte, except safetensors files: their header lists the metadata in an order that may
differ between processes, so they are digested by their tensors and parsed metadata.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors import safe_open


def digest_file(path: str | Path) -> str:
    path = Path(path)
    if path.suffix == ".safetensors":
        return _safetensors(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safetensors(path: Path) -> str:
    # Raw metadata strings: files written by save_pretrained hold non-JSON values.
    with safe_open(str(path), framework="np") as f:
        h = hashlib.sha256(json.dumps(f.metadata() or {}, sort_keys=True).encode())
        for name in sorted(f.keys()):
            tensor = f.get_tensor(name)
            h.update(name.encode() + str(tensor.dtype).encode() + tensor.tobytes())
    return h.hexdigest()
