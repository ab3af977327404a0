"""Compare two results folders output by output: are two runs the same?

    python bench/compare_runs.py RESULTS_A RESULTS_B

Every file under both folders (logs, benchmarks and resumable state aside) is reduced to
a digest of its content (``lxmert_lth.digests``: safetensors by their tensors and parsed
metadata, since the header's key order may differ between processes; everything else
byte for byte), except the figures: they are drawn from scores.csv, and a PDF carries its
creation date. Prints each file that differs or exists on one side only, and exits
non-zero when any does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxmert_lth.digests import digest_file

SKIP_DIRS = {"logs", "benchmarks", ".resume"}
SKIP_SUFFIXES = {".png", ".pdf"}


def outputs(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or rel.parts[0] in SKIP_DIRS or path.suffix in SKIP_SUFFIXES:
            continue
        found[str(rel)] = path
    return found


def compare(a: Path, b: Path) -> list[str]:
    left, right = outputs(a), outputs(b)
    problems = [f"only in {a}: {k}" for k in sorted(set(left) - set(right))]
    problems += [f"only in {b}: {k}" for k in sorted(set(right) - set(left))]
    for key in sorted(set(left) & set(right)):
        if digest_file(left[key]) != digest_file(right[key]):
            problems.append(f"differs: {key}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    problems = compare(args.a, args.b)
    n = len(outputs(args.a))
    for line in problems:
        print(line)
    print(f"{n} outputs compared: {'identical' if not problems else f'{len(problems)} differ'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
