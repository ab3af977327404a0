"""Run the studies beyond the paper on the embedded default: the lottery-ticket controls,
the authors' code against the paper's text, and the scope ablation; or, with
``--set granularities``, the pruning granularities; or, with ``--set ood``, the study with
easy-VQA's shifted sets (configs/ood.yaml); or, with ``--set stability``, the linear mode
connectivity of the embedded default's networks (configs/stability.yaml, in the base run's
folder: nothing of the study reruns) and of the controls' (configs/controls.yaml with it);
or, with ``--set one_shot``, one-shot pruning (configs/one_shot.yaml) beside each family's
tickets: a copy of the base run, and of the ``results-visualbert`` and ``results-vilt``
beside it (``--set families``), each with its one-shot jobs added; or, with ``--set
tasks``, tickets across tasks: statement verification from scratch with the answering
tickets transferred and its pre-training tickets (configs/verification.yaml,
configs/transfer.yaml), then a copy of the base run with the verification tickets
transferred back and the transfer matrix (configs/transfer_back.yaml,
configs/compare_tasks.yaml).

    python studies/run_studies.py --base RESULTS
        [--set studies|granularities|ood|stability|one_shot|tasks] [--workdir DIR] [--cores 2]
        (or --set families: configs/visualbert.yaml, configs/vilt.yaml, then
        configs/families.yaml beside the base's LXMERT)

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

    python studies/run_studies.py --all --workdir DIR [--cores 2]

regenerates everything that docs/results.md publishes, in one work folder, in order: the
embedded default from scratch (``bench/bench_embedded.py``), the studies, each of the
authors' options alone (``studies/run_authors_options.py``), the model families
(configs/visualbert.yaml, configs/vilt.yaml, configs/families.yaml), the granularities, the
shifted sets, the stability analysis, one-shot pruning and tickets across tasks; then
``tools/update_readme.py --all DIR`` writes every block. It resumes: a run recorded as
finished in ``DIR/progress.json`` is named and skipped, an interrupted one reruns in its
folder (Snakemake keeps what finished and makes its half-written files again; a folder
an interrupted run left locked is refused with the command that unlocks it). A work
folder belongs to one commit: it refuses to resume one begun at another. A run's time is
its last piece's: where it was interrupted, say so in ``DIR/SET.json``'s ``note``.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lxmert_lth.runtime import numerics
from lxmert_lth.workflow.launch import DEFAULT_CONFIG, run_snakemake, snakemake_command

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
    # One-shot pruning beside each family's tickets: over the family's run (read alone for
    # VisualBERT and ViLT, as --set families reads them), in a folder of its own.
    "one_shot": [
        ["one_shot"],
        ["visualbert", "one_shot", "one_shot_visualbert"],
        ["vilt", "one_shot", "one_shot_vilt"],
    ],
    # Tickets across tasks: statement verification with the answering tickets transferred
    # and its pre-training tickets, then question answering with the verification tickets
    # transferred back, and the transfer matrix.
    "tasks": [["verification", "transfer"], ["transfer_back", "compare_tasks"]],
}
# The model families' runs, each configuration read alone (not over config.yaml), then
# their comparison in results-vilt.
FAMILIES = [["visualbert"], ["vilt"], ["vilt", "families"]]
# What each set's runs take from the base run: what none of their options changes.
SHARED = {
    "studies": ["data", "features", "tokenizer", "pretrained"],
    "granularities": ["data", "features", "tokenizer", "pretrained"],
    "ood": ["features"],
    # The first run lands in the base run's own folder; the controls' starts at theta_0.
    "stability": ["data", "features", "tokenizer", "pretrained"],
    # The one-shot kinds prune the base run's dense networks and sit beside its tickets:
    # the whole run is copied (only the one-shot jobs and the reports run).
    "one_shot": None,
    # Verification prepares, pre-trains and fine-tunes its own; answering is the base run
    # (its networks are the embedded default's) with the transferred kinds added.
    "tasks": {"transfer": [], "compare_tasks": None},
}
# A run whose first configuration is a family's reads it alone, not over config.yaml.
ALONE = {"visualbert", "vilt"}


def results_of(configs: list[str]) -> str:
    """The results folder of a run: the last one its configuration files name."""
    folder = "results"
    for name in configs:
        folder = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text()).get(
            "results", folder
        )
    return folder


# The job that makes each shared folder: its benchmark file is one of the job's outputs,
# so Snakemake reruns the job (and all after it) when the copy lacks it.
MADE_BY = {"features": "extract_features", "tokenizer": "build_tokenizer",
           "pretrained": "pretrain", "data": "prepare_questions"}  # fmt: skip


def seed_folder(base: Path, folder: Path, shared: list[str] | None) -> None:
    """What a run shares with the base run, copied into its results folder, with the
    benchmark files of the jobs that made it (``None``: the whole run)."""
    if shared is None:
        if not folder.exists():
            shutil.copytree(base, folder, symlinks=True)
        return
    for name in shared:
        if not (folder / name).exists():
            shutil.copytree(base / name, folder / name, symlinks=True)
        bench = Path("benchmarks") / f"{MADE_BY[name]}.tsv"
        if (base / bench).exists() and not (folder / bench).exists():
            (folder / "benchmarks").mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / bench, folder / bench)


def run_study(
    work: Path, configs: list[Path], log_path: Path, cores: int, over_default: bool = True
) -> float:
    """``snakemake --configfile config.yaml CONFIGS...`` in ``work`` (``CONFIGS...`` alone
    when not ``over_default``); seconds taken."""
    # Not "code": the seeded data and pretraining were made by the base run, whose
    # workflow may lie in another folder (a clone), which Snakemake counts as changed code.
    triggers = ["--rerun-triggers", "mtime", "params", "input", "software-env"]
    files = [DEFAULT_CONFIG, *configs] if over_default else list(configs)
    start = time.monotonic()
    # An interrupted run's half-written files are made again.
    args = ["--cores", str(cores), *triggers, "--rerun-incomplete"]
    proc = run_snakemake(work, *args, configfiles=files, log=log_path)
    if proc.returncode != 0:
        unlock = shlex.join(snakemake_command(work, "--unlock", configfiles=files))
        sys.exit(f"snakemake failed ({proc.returncode}): see {log_path}; if it says the "
                 f"folder is locked (an interrupted run), unlock it and run this again: "
                 f"{unlock}")  # fmt: skip
    return round(time.monotonic() - start, 1)


def jobs_done(log_path: Path) -> int:
    """How many jobs a run's Snakemake log counts (0 when it had nothing to do)."""
    steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", log_path.read_text())
    return int(steps[-1][1]) if steps else 0


class Progress:
    """``WORK/progress.json``: the commit a work folder belongs to and the seconds of each
    run finished in it, written after each run, so that ``--all`` resumes."""

    def __init__(self, work: Path):
        self.path = work / "progress.json"
        here = numerics.commit()
        self.state = {"commit": here, "runs": {}}
        if self.path.exists():
            self.state = json.loads(self.path.read_text())
            if self.state["commit"] != here:
                sys.exit(f"{work} was begun at commit {self.state['commit']}, this is {here}: "
                         "give --all a new --workdir")  # fmt: skip

    def done(self, label: str) -> float | None:
        seconds = self.state["runs"].get(label)
        if seconds is not None:
            print(f"{label:36s} done earlier ({seconds:.1f} s), skipped", flush=True)
        return seconds

    def record(self, label: str, seconds: float) -> None:
        self.state["runs"][label] = seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.path)
        print(f"{label:36s} {seconds:8.1f} s", flush=True)


def run_set(work: Path, name: str, base: Path, cores: int, progress: Progress) -> None:
    """Every run of set ``name`` in ``work`` from the base run, then ``NAME.json``."""
    times = {}
    for configs in SETS[name]:
        # A run is named by its last configuration, or by all of them when that is taken.
        study = configs[-1] if configs[-1] not in times else "+".join(configs)
        label = f"{name}:{study}"
        seconds = progress.done(label)
        if seconds is None:
            folder = work / results_of(configs)
            # A family's run is the base of its own runs: beside the default's, in WORK.
            source = work / results_of(configs[:1]) if configs[0] in ALONE else base
            if folder.resolve() != source.resolve():
                shared = SHARED[name]
                seed_folder(source, folder, shared[study] if isinstance(shared, dict) else shared)
            log = work / f"{study.replace('/', '_')}.log"
            files = [ROOT / "configs" / f"{c}.yaml" for c in configs]
            seconds = run_study(work, files, log, cores, over_default=configs[0] not in ALONE)
            progress.record(label, seconds)
        times[study] = seconds
    summary = {"commit": numerics.commit(), "machine": numerics.machine(), "cores": cores,
               "seconds": times}  # fmt: skip
    (work / f"{name}.json").write_text(json.dumps(summary, indent=2))


def run_default(work: Path, cores: int, progress: Progress) -> None:
    """The embedded default from scratch, timed (``bench/bench_embedded.py``)."""
    if progress.done("default") is not None:
        return
    start = time.monotonic()
    bench = [sys.executable, str(ROOT / "bench" / "bench_embedded.py"), "--workdir", str(work),
             "--cores", str(cores)]  # fmt: skip
    if subprocess.run(bench).returncode != 0:
        sys.exit("the embedded default failed: see the output above")
    progress.record("default", round(time.monotonic() - start, 1))


def run_authors_options(work: Path, cores: int, progress: Progress) -> None:
    """Each of the authors' options alone (``studies/run_authors_options.py``)."""
    if progress.done("authors_options") is not None:
        return
    start = time.monotonic()
    script = [sys.executable, str(ROOT / "studies" / "run_authors_options.py"), str(work),
              "--cores", str(cores)]  # fmt: skip
    if subprocess.run(script, stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit("studies/run_authors_options.py failed: see the output above")
    progress.record("authors_options", round(time.monotonic() - start, 1))


def run_families(work: Path, cores: int, progress: Progress) -> None:
    """VisualBERT's and ViLT's studies (each configuration read alone), then the three
    families side by side; ``NAME_time.txt`` for each family's DAG."""
    for configs in FAMILIES:
        label = "families:" + "+".join(configs)
        if progress.done(label) is not None:
            continue
        log = work / f"{'+'.join(configs)}.log"
        files = [ROOT / "configs" / f"{c}.yaml" for c in configs]
        seconds = run_study(work, files, log, cores, over_default=False)
        if len(configs) == 1:
            took = f"{minutes(seconds)} for its {jobs_done(log)} jobs"
            (work / f"{configs[0]}_time.txt").write_text(took + "\n")
        progress.record(label, seconds)


def copy_family_runs(source: Path, work: Path, name: str) -> None:
    """The families' runs a set builds on (``--set families``), from beside the base run."""
    for configs in SETS[name]:
        if configs[0] not in ALONE or (work / results_of(configs[:1])).exists():
            continue
        folder = source / results_of(configs[:1])
        if not (folder / "scores.csv").exists():
            sys.exit(f"{folder}: no finished run of {configs[0]} beside the base run "
                     "(studies/run_studies.py --set families)")  # fmt: skip
        shutil.copytree(folder, work / folder.name, symlinks=True)


def minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def run_all(work: Path, cores: int) -> None:
    """Everything docs/results.md publishes, in one work folder, resumably."""
    progress = Progress(work)
    run_default(work, cores, progress)
    base = work / "results"
    run_set(work, "studies", base, cores, progress)
    run_authors_options(work, cores, progress)
    run_families(work, cores, progress)
    for name in ("granularities", "ood", "stability", "one_shot", "tasks"):
        run_set(work, name, base, cores, progress)
    print(f"work folder: {work}\nnext: python tools/update_readme.py --all {work}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--set", choices=sorted([*SETS, "families"]), default="studies")
    parser.add_argument("--all", action="store_true", help="every study, from scratch")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-studies-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.all:
        run_all(work, args.cores)
        return 0
    if args.base is None or not (args.base / "scores.csv").exists():
        sys.exit(f"{args.base}: no scores.csv: not a finished run of the embedded default")
    shutil.copytree(args.base, work / "results", symlinks=True, dirs_exist_ok=True)
    summary = args.base.parent / "run_summary.json"  # bench_embedded's, for update_readme
    if summary.exists() and not (work / summary.name).exists():
        shutil.copy2(summary, work / summary.name)
    if args.set == "one_shot":
        copy_family_runs(args.base.parent, work, args.set)
    progress = Progress(work)
    if args.set == "families":  # each family's study read alone, beside the base's LXMERT
        run_families(work, args.cores, progress)
    else:
        run_set(work, args.set, args.base, args.cores, progress)
    print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
