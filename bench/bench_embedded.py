"""Run the embedded default from scratch in a folder of its own, and say where the time went.

    python bench/bench_embedded.py [--workdir DIR] [--cores 2] [--configfile config.yaml [MORE]]

Prints the DAG's wall time, the sum of its jobs' times (from Snakemake's own log), and the
share of the machine's time spent in model compute: the sum over jobs of the seconds
inside forward and backward passes, optimizer steps and prediction (each training job
logs its total), divided by cores x wall time. Writes the same as ``run_summary.json`` in
the work folder, with the commit and the machine, for ``tools/update_readme.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

from lxmert_lth.runtime import numerics
from lxmert_lth.workflow.launch import run_snakemake

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")
COMPUTE = re.compile(r"model compute: ([\d.]+) s")


def job_seconds(snakemake_log: Path) -> dict[str, float]:
    """Seconds from each job's start to its end, by job id, from Snakemake's log."""
    started, finished, stamp = {}, {}, None
    for line in snakemake_log.read_text().splitlines():
        if m := STAMP.match(line.strip()):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"\s+jobid: (\d+)$", line):
            started.setdefault(m.group(1), stamp)
        elif m := re.match(r"Finished jobid: (\d+)", line):
            finished[m.group(1)] = stamp
    return {j: (finished[j] - started[j]).total_seconds() for j in finished if j in started}


def compute_seconds(logs: Path) -> float:
    total = 0.0
    for path in logs.rglob("*.log"):
        for m in COMPUTE.finditer(path.read_text(errors="replace")):
            total += float(m.group(1))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--configfile",
        type=Path,
        nargs="+",
        default=[ROOT / "config.yaml"],
        help="configuration files, each over the one before (as snakemake)",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = run_snakemake(workdir, "--cores", str(args.cores), configfiles=args.configfile)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        return proc.returncode
    snakemake_log = max((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    jobs = job_seconds(snakemake_log)
    named = [yaml.safe_load(p.read_text()).get("results") for p in args.configfile]
    results = workdir / [r for r in named if r][-1]
    compute = compute_seconds(results / "logs")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    # Uncommitted changes that can touch the run (benches and prose cannot).
    dirty = subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":!bench",
            ":!docs",
            ":!README.md",
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    summary = {
        "wall_s": round(wall, 1),
        "cores": args.cores,
        "jobs": len(jobs),
        "job_s": round(sum(jobs.values()), 1),
        "compute_s": round(compute, 1),
        "compute_share": round(compute / (args.cores * wall), 3),
        "commit": commit + ("+changes" if dirty else ""),
        "machine": numerics.machine(),
        "date": datetime.now().strftime("%Y-%m-%d"),
        "results": str(results),
    }
    (workdir / "run_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"work folder          {workdir}")
    print(f"wall time            {wall:8.1f} s  ({wall / 60:.1f} min, --cores {args.cores})")
    print(f"jobs                 {len(jobs):8d}")
    print(f"sum of job times     {summary['job_s']:8.1f} s")
    print(f"model compute        {compute:8.1f} s")
    print(f"compute share        {summary['compute_share']:8.3f}  (compute / (cores x wall))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
