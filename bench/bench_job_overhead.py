"""Where one training job's time goes: start-up, model compute, and the rest.

    python bench/bench_job_overhead.py WORKDIR [--network seed0/random50] [--repeats 3]

WORKDIR is a finished run of the embedded default (the work folder of
``bench/bench_embedded.py``; its ``results`` is copied, so the run is left as it was). In
the copy, the job that trains NETWORK is forced to run again ``--repeats`` times, alone
(``snakemake --cores 2 --force``; it gives the same files each time), and each attempt is
split, from the job's own log and Snakemake's benchmark file, into:

- start-up: from the process's start to the log's first line (the interpreter, Snakemake's
  script preamble, and importing torch, ``transformers`` and the package);
- model compute: forward and backward passes, optimizer steps and prediction (the job's
  "model compute" line);
- the rest of the job: from the first log line to the last, less model compute (reading
  the data and checkpoints, making the mask, encoding the questions, scoring, writing);
- exit: from the last log line to the end of the process as Snakemake times it.

Prints each part's median over the attempts and the time outside model compute.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
from pathlib import Path

from lxmert_lth.runtime import numerics
from lxmert_lth.workflow.launch import DEFAULT_CONFIG, run_snakemake

NUMBER = r"([\d.]+)"


def split(log: str, job_s: float) -> dict[str, float]:
    """A job's parts, in seconds, from its log and its benchmark's wall time."""
    start = float(re.search(rf"process start-up: {NUMBER} s", log).group(1))
    done = float(re.search(rf"job done: {NUMBER} s since the process started", log).group(1))
    compute = float(re.search(rf"model compute: {NUMBER} s", log).group(1))
    return {
        "start-up": start,
        "model compute": compute,
        "rest of the job": done - start - compute,
        "exit": job_s - done,
        "whole job": job_s,
        "outside model compute": job_s - compute,
    }


def attempt(work: Path, network: str) -> dict[str, float]:
    target = f"results/{network}/scores.json"
    # By modification time only: the copy has no Snakemake records, and nothing else is due.
    proc = run_snakemake(work, "--cores", "2", "--force", target, "--rerun-triggers", "mtime",
                         configfiles=[DEFAULT_CONFIG])  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{proc.stderr[-3000:]}")
    seed, name = network.split("/")
    rule = "finetune_dense" if name == "dense" else f"retrain_{name}"
    log = (work / "results" / "logs" / seed / f"{rule}.log").read_text()
    bench = (work / "results" / "benchmarks" / seed / f"{rule}.tsv").read_text()
    return split(log, float(bench.splitlines()[1].split("\t")[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--network", default="seed0/random50")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lxmert-job-overhead-"))
    shutil.copytree(args.workdir / "results", work / "results", symlinks=True)
    runs = [attempt(work, args.network) for _ in range(args.repeats)]
    print(f"{args.network}, {args.repeats} attempts, commit {numerics.commit()}")
    print(f"on {numerics.machine()}; median seconds:")
    for part in runs[0]:
        print(f"  {part:22s} {statistics.median(r[part] for r in runs):7.2f}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
