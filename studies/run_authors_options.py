"""Which of the authors' departures from the paper matter: each option of
``configs/authors_code.yaml`` alone on top of the paper's text, at Table 1's sparsity.

    python studies/run_authors_options.py WORKDIR [--cores 2]

WORKDIR is a work folder of ``studies/run_studies.py`` (its ``results`` is the embedded
default, its ``results-authors`` every option at once). Each option runs in
WORKDIR/results-option-NAME from the default's data and pretraining, at 50 % only
(``study.sparsities: [50]``); ``authors_options.md`` then sets low, high and random at
50 % side by side for: the paper's text, each option alone, all of them. For
``tools/update_readme.py --studies WORKDIR``. The embedded default copies its
pretrained answer head (``config.yaml``), so the head's row draws it at random instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import yaml
from run_studies import ROOT, SHARED, run_study, seed_folder

from lxmert_lth.reporting.report import build_runs_table
from lxmert_lth.runtime import numerics

ALL = yaml.safe_load((ROOT / "configs" / "authors_code.yaml").read_text())
# Each option alone, as the section and value configs/authors_code.yaml sets.
OPTIONS = {
    # The embedded default already copies its pretrained answer head (config.yaml): the
    # paper's text, a random head, is the departure here.
    "answer head random (the text)": {"theta0": {"answer_head": "random"}},
    "per-tensor ranking": {"pruning": {"ranking": "per_tensor"}},
    "remaining-weights schedule": {"pruning": {"schedule": "remaining"}},
    "authors' prunable set": {"pruning": {"prunable_set": "authors"}},
    "masks not enforced": {"pruning": {"enforce_masks": False}},
    "authors' high mask": {"pruning": {"high": "authors"}},
    "coin-flip random": {"pruning": {"random": "coin_flip"}},
    "one dense seed": {"study": {"dense_seed": ALL["study"]["dense_seed"]}},
}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    work = args.workdir
    (work / "options").mkdir(exist_ok=True)
    runs, times = {"paper's text": work / "results"}, {}
    for name, changes in OPTIONS.items():
        folder = f"results-option-{slug(name)}"
        overlay = {"results": folder, **changes}
        overlay.setdefault("study", {})["sparsities"] = [50]
        config = work / "options" / f"{slug(name)}.yaml"
        config.write_text(yaml.safe_dump(overlay, sort_keys=False))
        seed_folder(work / "results", work / folder, SHARED["studies"])
        times[name] = run_study(work, [config], work / f"option_{slug(name)}.log", args.cores)
        print(f"{name:28s} {times[name]:8.1f} s", flush=True)
        runs[name] = work / folder
    runs["all of them"] = work / "results-authors"
    scores = {k: pd.read_csv(v / "scores.csv") for k, v in runs.items()}
    table = build_runs_table(scores, 50)
    wide = table.pivot(index="run", columns="method", values="50%").loc[list(runs)]
    pruned = table[table.method == "low-magnitude"].set_index("run")["pruned at 50% (%)"]
    dense = table.drop_duplicates("run").set_index("run")["dense"]
    out = pd.DataFrame(
        {"dense": dense, **{m: wide[m] for m in wide.columns}, "low pruned (%)": pruned}
    )
    out = out.loc[list(runs)].reset_index()
    caption = (
        "Each of the authors' options alone on top of the embedded default (the paper's "
        "text, its answer head copied from pretraining), test split, overall accuracy %, "
        "mean ± sample std over seeds 0, 1, 2, masks labelled 50 %"
    )
    (work / "authors_options.md").write_text(caption + "\n\n" + out.to_markdown(index=False) + "\n")
    (work / "authors_options.json").write_text(
        json.dumps({"commit": numerics.commit(), "seconds": times})
    )
    print((work / "authors_options.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
