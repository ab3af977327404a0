"""Is the embedded default's grounding robust, or luck? Rerun its study with other
pretraining seeds and report the spread.

    python studies/pretraining_seeds.py [--seeds 1 2 3] [--workdir DIR]
        [--configfile configs/visualbert.yaml] [--pretrain-only]

For each pretraining seed (``pretrain.seed``), runs the embedded default's DAG from
scratch in a folder of its own, with Table 1's sparsity only (the IMP chain up to it is
run all the same) and the configuration's three fine-tuning seeds, and prints: the
pretraining's final validation QA accuracy, the dense test accuracy of every fine-tuning
seed, and the low-magnitude, high-magnitude and random subnetworks at Table 1's sparsity
(mean ± std over the fine-tuning seeds). The embedded default is meant to give, for every
pretraining seed, dense >= 95 % on every fine-tuning seed and the low-magnitude ticket
above both controls. ``--configfile`` takes another embedded configuration (read alone,
e.g. ``configs/visualbert.yaml``); ``--pretrain-only`` runs the pre-training alone and
prints its validation QA accuracy per epoch: does every seed ground the colour questions?
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from lxmert_lth.workflow.launch import run_snakemake

ROOT = Path(__file__).resolve().parent.parent


def run(
    seed: int, workdir: Path, cores: int, base: Path, pretrain_only: bool = False
) -> pd.DataFrame | list:
    config = yaml.safe_load(base.read_text())
    config["pretrain"]["seed"] = seed
    config["study"]["sparsities"] = [config["study"]["table_sparsity"]]
    folder = workdir / f"pretrain-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    configfile = folder / "config.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"{config['results']}/pretrained"] if pretrain_only else []
    proc = run_snakemake(folder, "--cores", str(cores), *targets, configfiles=[configfile])
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    results = folder / config["results"]
    history = json.loads((results / "pretrained" / "pretraining_history.json").read_text())
    if pretrain_only:
        return history
    scores = pd.read_csv(results / "scores.csv")
    scores["pretrain_seed"] = seed
    scores["pretrain_val_qa"] = history[-1]["val_qa_accuracy"]
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--pretrain-only", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-seeds-"))
    rows = []
    if args.pretrain_only:
        for seed in args.seeds:
            history = run(seed, workdir, args.cores, args.configfile, pretrain_only=True)
            accuracy = ", ".join(f"{r['val_qa_accuracy']:.1f}" for r in history)
            rows.append({"pretrain seed": seed, "validation QA accuracy per epoch": accuracy})
            print(f"seed {seed}: {accuracy}", flush=True)
        table = pd.DataFrame(rows).to_markdown(index=False)
        print(table)
        (workdir / "pretraining_seeds.md").write_text(table + "\n")
        return 0
    for seed in args.seeds:
        scores = run(seed, workdir, args.cores, args.configfile)
        dense = scores[scores.kind == "dense"].sort_values("seed")
        row = {
            "pretrain seed": seed,
            "pretrain val QA": f"{scores.pretrain_val_qa.iloc[0]:.1f}",
            "dense (per seed)": " / ".join(f"{v:.2f}" for v in dense.overall),
        }
        for kind in ("low", "high", "random"):
            sel = scores[scores.kind == kind].overall
            row[kind] = f"{sel.mean():.2f} ± {sel.std(ddof=1):.2f}"
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1), flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False))
    (workdir / "pretraining_seeds.md").write_text(table.to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
