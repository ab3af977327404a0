"""Write the README's results section from a run of ``bench/bench_embedded.py``.

    python bench/update_readme.py WORKDIR

Takes Table 1 (``table1.md``), the per-module sparsity (``module_sparsity.md``) and
Figure 1 (``figure1.png``, copied to
``docs/figure1.png``) from the run's results folder, and the wall time, job count,
commit and machine from its ``run_summary.json``, and replaces the part of README.md
between the two results markers. The README's numbers are then those of that run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- results: written by bench/update_readme.py; do not edit by hand -->"
END = "<!-- end of results -->"


def section(summary: dict, table_md: str, modules_md: str) -> str:
    caption, _, table = table_md.strip().partition("\n\n")
    modules_caption, _, modules = modules_md.strip().partition("\n\n")
    minutes, seconds = divmod(round(summary["wall_s"]), 60)
    return "\n".join(
        [
            BEGIN,
            f"From one run of `snakemake --cores {summary['cores']}` on `config.yaml` from scratch "
            f"(`bench/bench_embedded.py`), at commit `{summary['commit']}` on "
            f"{summary['date']}: {minutes} min {seconds:02d} s for the whole DAG of "
            f"{summary['jobs']} jobs on {summary['machine']}; model compute took "
            f"{100 * summary['compute_share']:.0f} % of the machine's time.",
            "",
            caption,
            "",
            table,
            "",
            "![Figure 1: accuracy against sparsity, easy-VQA](docs/figure1.png)",
            "",
            f"Where the tickets prune (`module_sparsity.md`): {modules_caption[0].lower()}"
            f"{modules_caption[1:]}; the last column is the share of the low-magnitude "
            "mask's pruned weights that the random mask of the same seed prunes too.",
            "",
            modules,
            END,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    summary = json.loads((args.workdir / "run_summary.json").read_text())
    results = Path(summary["results"])
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"{readme}: no results markers ({BEGIN!r} ... {END!r})", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = section(
        summary,
        (results / "table1.md").read_text(),
        (results / "module_sparsity.md").read_text(),
    )
    readme.write_text(head + new + tail)
    shutil.copyfile(results / "figure1.png", ROOT / "docs" / "figure1.png")
    print(f"README.md and docs/figure1.png updated from {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
