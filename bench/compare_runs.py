"""Compare two results folders output by output: did two runs give the same outputs?

    python bench/compare_runs.py RESULTS_A RESULTS_B

Every output is reduced to a digest of its content (``lxmert_lth.digests``: safetensors
by their tensors and parsed metadata, everything else byte for byte; logs, benchmarks
and the figures aside). Prints each output that differs or exists on one side only,
and exits non-zero when any does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxmert_lth.digests import compare_folders, outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    problems = compare_folders(args.a, args.b)
    for line in problems:
        print(line)
    verdict = "identical" if not problems else f"{len(problems)} differ"
    print(f"{len(outputs(args.a))} outputs compared: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
