"""Run the studies beyond the paper on the embedded default: the lottery-ticket controls,
the authors' code against the paper's text, and the scope ablation; or, with
``--set granularities``, the pruning granularities; or, with ``--set ood``, the study with
easy-VQA's shifted sets (configs/ood.yaml); or, with ``--set stability``, the linear mode
connectivity of the embedded default's networks (configs/stability.yaml, in the base run's
folder: nothing of the study reruns) and of the controls' (configs/controls.yaml with it).

    python studies/run_studies.py --base RESULTS [--set studies|granularities|ood|stability]
        [--workdir DIR] [--cores 2]

RESULTS is a finished run of the embedded default (e.g. the ``results`` folder that
``bench/bench_embedded.py`` leaves in its work folder). It is copied to WORKDIR/results,
and its data, features, tokenizer and pretrained model into each new run's results folder
(they do not depend on the options studied here), so each run starts at theta_0; the ood
run takes only the features (its questions, tokenizer and pre-training hold the shift
out). Then,
in WORKDIR, ``snakemake --configfile config.yaml --configfile configs/X.yaml`` for
controls, authors_code, scope/language, scope/vision, scope/cross_modality and
scope/compare (``--set granularities``: granularity/heads_neurons,
granularity/heads_neurons_separate, granularity/n_of_m, then granularities over n_of_m's
folder). Prints each run's wall time and writes ``SET.json`` (commit, machine, times) for
``tools/update_readme.py --studies WORKDIR`` (``--granularities``, ``--ood``,
``--stability``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lxmert_lth.runtime import numerics
from lxmert_lth.workflow.launch import DEFAULT_CONFIG, run_snakemake

ROOT = Path(__file__).resolve().parent.parent
# Each run: configuration files over config.yaml (a comparison over the run whose folder
# it lands in).
SETS = {
    "studies": [
        ["controls"],
        ["authors_code"],
        ["scope/language"],
        ["scope/vision"],
        ["scope/cross_modality"],
        ["scope/compare"],
    ],
    "granularities": [
        ["granularity/heads_neurons"],
        ["granularity/heads_neurons_separate"],
        ["granularity/n_of_m"],
        ["granularity/n_of_m", "granularities"],
    ],
    "ood": [["ood"]],
    # The embedded default's study, then the controls' (their late control adds the
    # rewind to study.late_rewind_step).
    "stability": [["stability"], ["controls", "stability"]],
}
# What each set's runs take from the base run: what none of their options changes.
SHARED = {
    "studies": ["data", "features", "tokenizer", "pretrained"],
    "granularities": ["data", "features", "tokenizer", "pretrained"],
    "ood": ["features"],
    # The first run lands in the base run's own folder; the controls' starts at theta_0.
    "stability": ["data", "features", "tokenizer", "pretrained"],
}


def results_of(configs: list[str]) -> str:
    """The results folder of a run: the last one its configuration files name."""
    folder = "results"
    for name in configs:
        folder = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()).get(
            "results", folder
        )
    return folder


def seed_folder(base: Path, folder: Path, shared: list[str]) -> None:
    """What a run shares with the base run, copied into its results folder."""
    for name in shared:
        if not (folder / name).exists():
            shutil.copytree(base / name, folder / name, symlinks=True)


def run_study(work: Path, configs: list[Path], log_path: Path, cores: int) -> float:
    """``snakemake --configfile config.yaml CONFIGS...`` in ``work``; seconds taken."""
    # Not "code": the seeded data and pretraining were made by the base run, whose
    # workflow may lie in another folder (a clone), which Snakemake counts as changed code.
    triggers = ["--rerun-triggers", "mtime", "params", "input", "software-env"]
    start = time.monotonic()
    proc = run_snakemake(work, "--cores", str(cores), *triggers,
                         configfiles=[DEFAULT_CONFIG, *configs], log=log_path)  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"snakemake failed ({proc.returncode}): see {log_path}")
    return round(time.monotonic() - start, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--set", choices=sorted(SETS), default="studies")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-studies-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (args.base / "scores.csv").exists():
        sys.exit(f"{args.base}: no scores.csv: not a finished run of the embedded default")
    shutil.copytree(args.base, work / "results", symlinks=True, dirs_exist_ok=True)
    times = {}
    for configs in SETS[args.set]:
        # A run is named by its last configuration, or by all of them when that is taken.
        study = configs[-1] if configs[-1] not in times else "+".join(configs)
        folder = work / results_of(configs)
        seed_folder(args.base, folder, SHARED[args.set])
        log = work / f"{study.replace('/', '_')}.log"
        files = [ROOT / "configs" / f"{name}.yaml" for name in configs]
        times[study] = run_study(work, files, log, args.cores)
        print(f"{study:36s} {times[study]:8.1f} s  -> {folder}", flush=True)
    summary = {"commit": numerics.commit(), "machine": numerics.machine(), "cores": args.cores,
               "seconds": times}  # fmt: skip
    (work / f"{args.set}.json").write_text(json.dumps(summary, indent=2))
    print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
