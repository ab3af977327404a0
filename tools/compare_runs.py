"""Compare two runs output by output: did they give the same outputs, and if not, what
differed between them?

    python tools/compare_runs.py RESULTS_A RESULTS_B
    python tools/compare_runs.py --digests DIGESTS.json RESULTS
    python tools/compare_runs.py --write-digests DIGESTS.json RESULTS

Every output is reduced to a digest of its content (``lxmert_lth.workflow.digests``: safetensors
by their tensors and parsed metadata, everything else byte for byte; logs, benchmarks,
records and the figures aside). Prints each output that differs or exists on one side
only, then where the runs' records (``{results}/records``: commit, package versions,
processor, numerics, threads, device) differ, and exits non-zero when an output does.
A digest file holds a run's digests and record (``tests/config/test.digests.json``: the
test configuration's, which the suite checks every run against).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxmert_lth.workflow.digests import (
    compare_folders,
    compare_with_digests,
    explain,
    outputs,
    read_digest_file,
    run_record,
    write_digest_file,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, nargs="?", help="a results folder")
    parser.add_argument("b", type=Path, nargs="?", help="another results folder")
    parser.add_argument("--digests", type=Path, help="compare RESULTS with this digest file")
    parser.add_argument("--write-digests", type=Path, help="write RESULTS' digests here")
    args = parser.parse_args()
    for folder in (args.a, args.b):
        if folder is not None and not folder.is_dir():
            parser.exit(2, f"compare_runs: {folder} is not a results folder (no such folder)\n")
    if args.a is None or (args.b is None and not (args.digests or args.write_digests)):
        parser.error("give two results folders, or one with --digests or --write-digests")
    if args.write_digests:
        write_digest_file(args.a, args.write_digests)
        print(f"{len(outputs(args.a))} outputs' digests written to {args.write_digests}")
        return 0
    if args.digests:
        expected, their_record = read_digest_file(args.digests)
        problems = compare_with_digests(args.a, expected)
        lines = explain(problems, run_record(args.a), their_record)
        total = len(expected)
    else:
        problems = compare_folders(args.a, args.b)
        lines = explain(problems, run_record(args.b), run_record(args.a))
        total = len(outputs(args.a))
    for line in lines:
        print(line)
    verdict = "identical" if not problems else f"{len(problems)} differ"
    print(f"{total} outputs compared: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
