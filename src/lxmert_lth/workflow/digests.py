"""Content digests of the workflow's outputs, for comparing two runs.

A run is reproducible when every output has the same content. Files are compared byte for
byte, except safetensors files: their header lists the metadata in an order that may
differ between processes, so they are digested by their tensors and parsed metadata, the
paths to other outputs in it taken relative to the results folder (a run with an absolute
``results:`` records absolute ones).
Logs, benchmarks, records (what decided a job's digits: machine, versions) and resumable
state are not outputs; the figures are drawn from
``scores.csv`` and a PDF carries its creation date, so they are left out too.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from safetensors import safe_open

from lxmert_lth.runtime.numerics import differences


def digest_file(path: str | Path) -> str:
    path = Path(path)
    if path.suffix == ".safetensors":
        return _safetensors(path)
    if path.name == "images.json" and path.parent.name == "features":
        # An image index names where the images lie (easy-VQA's: inside the install),
        # which is no result: digested without its root.
        index = {k: v for k, v in json.loads(path.read_text()).items() if k != "root"}
        return hashlib.sha256(json.dumps(index, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


# A path to another output recorded in a file's metadata (the mask's "trained" network,
# say): the same output whatever the results folder is called or where it lies.
_OUTPUT_PATH = re.compile(r"[^\"]*?/((?:seed\d+|pretrained|data|features|tokenizer)(?:/[^\"]*)?)")


def _safetensors(path: Path) -> str:
    # Raw metadata strings: files written by save_pretrained hold non-JSON values.
    with safe_open(str(path), framework="np") as f:
        meta = json.dumps(f.metadata() or {}, sort_keys=True)
        h = hashlib.sha256(_OUTPUT_PATH.sub(r"<results>/\1", meta).encode())
        for name in sorted(f.keys()):
            tensor = f.get_tensor(name)
            h.update(name.encode() + str(tensor.dtype).encode() + tensor.tobytes())
    return h.hexdigest()


NOT_OUTPUTS = {"logs", "benchmarks", "records", ".resume", ".run.lock"}
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


def digest_folder(results: Path) -> dict[str, str]:
    """Every output's digest, by relative path."""
    return {k: digest_file(p) for k, p in outputs(results).items()}


def compare_with_digests(results: Path, expected: dict[str, str]) -> list[str]:
    """Every output that differs from a digest file's, or is missing on one side."""
    found = digest_folder(results)
    problems = [f"not in the digests: {k}" for k in sorted(set(found) - set(expected))]
    problems += [f"missing: {k}" for k in sorted(set(expected) - set(found))]
    both = sorted(set(found) & set(expected))
    problems += [f"differs: {k}" for k in both if found[k] != expected[k]]
    return problems


RECORDS = "records"


def run_record(results: Path) -> dict:
    """What decided a run's digits: the fields its jobs' records share (a field that
    differs between jobs, such as a thread count, is listed with its values)."""
    files = sorted((Path(results) / RECORDS).rglob("*.json"))
    merged: dict = {}
    for rec in (_flat(json.loads(p.read_text())) for p in files):
        for key, value in rec.items():
            merged.setdefault(key, [])
            if value not in merged[key]:
                merged[key].append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in sorted(merged.items())}


def _flat(record: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def write_digest_file(results: Path, path: Path) -> None:
    """The outputs' digests and the run's record, as JSON (``read_digest_file``)."""
    doc = {"record": run_record(results), "outputs": digest_folder(results)}
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def read_digest_file(path: Path) -> tuple[dict[str, str], dict]:
    doc = json.loads(Path(path).read_text())
    return doc["outputs"], doc["record"]


def explain(problems: list[str], ours: dict, theirs: dict) -> list[str]:
    """The problems, then where the two runs' records differ (what may explain them)."""
    if not problems:
        return []
    lines = differences(theirs, ours)
    return problems + (
        ["records differ:", *(f"  {line}" for line in lines)] if lines else ["records: the same"]
    )
