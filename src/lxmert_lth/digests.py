"""Content digests of the workflow's outputs, for comparing two runs.

A run is reproducible when every output has the same content. Files are compared byte for
byte, except safetensors files: their header lists the metadata in an order that may
differ between processes, so they are digested by their tensors and parsed metadata.
Logs, benchmarks and resumable state are not outputs; the figures are drawn from
``scores.csv`` and a PDF carries its creation date, so they are left out too.
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


NOT_OUTPUTS = {"logs", "benchmarks", ".resume"}
DRAWN = {".png", ".pdf"}


def outputs(results: Path) -> dict[str, Path]:
    """The outputs under a results folder, by relative path."""
    found = {}
    for path in sorted(Path(results).rglob("*")):
        rel = path.relative_to(results)
        if path.is_dir() or rel.parts[0] in NOT_OUTPUTS or path.suffix in DRAWN:
            continue
        found[str(rel)] = path
    return found


def compare_folders(a: Path, b: Path) -> list[str]:
    """Every output that differs between two results folders or exists in one only."""
    left, right = outputs(a), outputs(b)
    problems = [f"only in {a}: {k}" for k in sorted(set(left) - set(right))]
    problems += [f"only in {b}: {k}" for k in sorted(set(right) - set(left))]
    for key in sorted(set(left) & set(right)):
        if digest_file(left[key]) != digest_file(right[key]):
            problems.append(f"differs: {key}")
    return problems
