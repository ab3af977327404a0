"""Write the results in README.md and docs/results.md from a run of
``bench/bench_embedded.py``.

    python tools/update_readme.py [WORKDIR] [--studies STUDIES_WORKDIR]
        [--granularities GRANULARITIES_WORKDIR] [--ood OOD_WORKDIR]
        [--stability STABILITY_WORKDIR] [--one-shot ONE_SHOT_WORKDIR]
        [--tasks TASKS_WORKDIR] [--families-only]

Takes Table 1 (``table1.md``), the per-module sparsity (``module_sparsity.md``) and
Figure 1 (``figure1.png``, copied to ``docs/figure1.png``) from the run's results folder,
and the wall time, job count, commit and machine from its ``run_summary.json``; replaces
the README's headline (Table 1 and Figure 1) and the results block of docs/results.md
(the same, with the per-module sparsity and the share of model compute), each between its
markers. The numbers shown are then those of that run.

The model families' comparison, when the work folder holds one, goes between the families
markers of docs/results.md. With ``--studies``, a work folder of ``studies/run_studies.py``:
the controls' Table 1 and Figure 1, the authors' code against the paper's text and the scope
ablation (tables and figures, copied to ``docs/``) go between the studies markers of
docs/results.md. With ``--granularities``, a work folder of ``studies/run_studies.py --set
granularities``: the granularities' accuracy against sparsity and their tickets' accuracy
against the measured CPU speed-up (figures copied to ``docs/``) go between the granularities
markers of docs/results.md. With ``--ood``, a work folder of ``studies/run_studies.py --set
ood``: the shifted sets' study (its Table 1, ``ood.md`` and the figure, copied to
``docs/ood.png``) goes between the ood markers; with ``--stability``, one of ``--set
stability``: the stability table and its two figures, between the stability markers;
with ``--one-shot``, one of ``--set one_shot``: each family's one-shot table and figure
(copied to ``docs/one_shot*.png``), between the one_shot markers; with ``--tasks``, one
of ``--set tasks``: the transfer matrix and its figure (``docs/tasks.png``) and the
verification study's Table 1, between the tasks markers.
Without WORKDIR, only the blocks named by the options are written. The README links to
them (one line per finding). ``--all WORKDIR`` writes every block from a work folder of
``studies/run_studies.py --all``.

Each block records the numerics it was made with (``<!-- numerics: ... -->``, the
fingerprints of the test configuration's digests of the studies it rests on,
lxmert_lth.workflow.published), which the suite holds against today's. So a block is
written only from a run of today's code: one whose commit differs from this checkout's in
nothing that can move a digit (``CODE``) is refused.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from lxmert_lth.workflow.published import numerics_line

ROOT = Path(__file__).resolve().parent.parent
# What can move a published digit: a run made at a commit that differs from this
# checkout's here is not today's code's.
# (The module that checks published blocks makes no digit.)
CODE = ["src", "rules", "Snakefile", "workflow_scripts", "schemas", "envs", "config.yaml",
        "configs", ":!src/lxmert_lth/workflow/published.py"]  # fmt: skip
# And of pyproject.toml, what is installed to run the workflow (its test tools are not).
RUNTIME = (("build-system",), ("project", "dependencies"), ("project", "requires-python"))
BEGIN = "<!-- results: written by tools/update_readme.py; do not edit by hand -->"
END = "<!-- end of results -->"
STUDIES_BEGIN = "<!-- studies: written by tools/update_readme.py --studies; do not edit by hand -->"
STUDIES_END = "<!-- end of studies -->"
HEADLINE_BEGIN = "<!-- headline: written by tools/update_readme.py; do not edit by hand -->"
HEADLINE_END = "<!-- end of headline -->"
FAMILIES_BEGIN = "<!-- families: written by tools/update_readme.py; do not edit by hand -->"
FAMILIES_END = "<!-- end of families -->"
GRANULARITIES_BEGIN = (
    "<!-- granularities: written by tools/update_readme.py --granularities; do not edit by hand -->"
)
GRANULARITIES_END = "<!-- end of granularities -->"
OOD_BEGIN = "<!-- ood: written by tools/update_readme.py --ood; do not edit by hand -->"
OOD_END = "<!-- end of ood -->"
STABILITY_BEGIN = (
    "<!-- stability: written by tools/update_readme.py --stability; do not edit by hand -->"
)
STABILITY_END = "<!-- end of stability -->"
ONE_SHOT_BEGIN = (
    "<!-- one_shot: written by tools/update_readme.py --one-shot; do not edit by hand -->"
)
ONE_SHOT_END = "<!-- end of one_shot -->"
TASKS_BEGIN = "<!-- tasks: written by tools/update_readme.py --tasks; do not edit by hand -->"
TASKS_END = "<!-- end of tasks -->"
# Each family's one-shot run (studies/run_studies.py --set one_shot), its figure in docs/.
ONE_SHOT_RUNS = {
    "LXMERT": ("one_shot", "results-one_shot", "one_shot.png"),
    "VisualBERT": ("one_shot_visualbert", "results-one_shot-visualbert", "one_shot_visualbert.png"),
    "ViLT": ("one_shot_vilt", "results-one_shot-vilt", "one_shot_vilt.png"),
}
# The run whose folder holds configs/granularities.yaml's comparison.
GRANULARITY_COMPARISON = "results-n_of_m"


# The model families beside the embedded default: each family's configuration, and the
# run whose folder holds configs/families.yaml's comparison (the last one run).
FAMILY_RUNS = {"VisualBERT": "visualbert", "ViLT": "vilt"}
COMPARISON = "results-vilt"


def run_commits(work: Path, summary: dict) -> str:
    """At which commit each family's run was made (its pre-training job's record), as
    "at commit `abc1234`" when one, else grouped: "at commits `abc1234` (LXMERT, ...) and
    ..."."""
    runs = {"LXMERT": "results", **{label: f"results-{n}" for label, n in FAMILY_RUNS.items()}}
    by_commit: dict[str, list[str]] = {}
    for label, folder in runs.items():
        record = work / folder / "records" / "pretrain.json"
        commit = json.loads(record.read_text())["commit"] if record.exists() else None
        if commit:
            todays_code(commit, str(record))
            commit = commit[:7]
        by_commit.setdefault(commit or summary["commit"], []).append(label)
    if len(by_commit) == 1:
        return f"at commit `{next(iter(by_commit))}`"
    parts = [f"`{commit}` ({', '.join(labels)})" for commit, labels in by_commit.items()]
    return f"at commits {', '.join(parts[:-1])} and {parts[-1]}"


def families_section(work: Path, summary: dict, figure: str) -> str | None:
    """The model families side by side (configs/families.yaml's runs.md, in the same
    work folder as the embedded default's run), or None when that run is not there."""
    runs = work / COMPARISON / "runs.md"
    if not runs.exists():
        return None
    caption, _, body = runs.read_text().strip().partition("\n\n")
    timings = [
        f"{label}'s DAG: {(work / f'{name}_time.txt').read_text().strip()}"
        for label, name in FAMILY_RUNS.items()
        if (work / f"{name}_time.txt").exists()
    ]
    took = f" ({'; '.join(timings)})" if timings else ""
    configs = ", ".join(f"`configs/{name}.yaml`" for name in FAMILY_RUNS.values())
    return "\n".join(
        [
            FAMILIES_BEGIN,
            f"From {configs} and `configs/families.yaml`, run beside the embedded default "
            f"above, {run_commits(work, summary)} on {summary['machine']}{took}. "
            f"{caption}",
            "",
            body,
            "",
            f"![Model families: accuracy against sparsity]({figure})",
            *module_sparsity_tables(work),
            FAMILIES_END,
        ]
    )


def module_sparsity_tables(work: Path) -> list[str]:
    """Where each other family's tickets prune (its run's ``module_sparsity.md``)."""
    lines = []
    for label, name in FAMILY_RUNS.items():
        path = work / f"results-{name}" / "module_sparsity.md"
        if path.exists():
            caption, _, table = path.read_text().strip().partition("\n\n")
            lines += ["", f"Where {label}'s tickets prune (`module_sparsity.md`): "
                      f"{caption[0].lower()}{caption[1:]}", "", table]  # fmt: skip
    return lines


def minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def set_summary(work: Path, name: str) -> dict:
    """``NAME.json`` of a work folder of studies/run_studies.py, with the command that made
    it, once its commit is known to be today's code."""
    summary = json.loads((work / f"{name}.json").read_text())
    todays_code(summary["commit"], str(work / f"{name}.json"))
    progress = work / "progress.json"  # --all's records its own embedded default first
    every = progress.exists() and "default" in json.loads(progress.read_text())["runs"]
    how = "--all" if every else ("" if name == "studies" else f"--set {name}")
    return {**summary, "commit": summary["commit"][:7], "all": every,
            "command": f"`studies/run_studies.py{' ' if how else ''}{how}`"}  # fmt: skip


def granularities_section(work: Path) -> tuple[str, dict[str, Path]]:
    """The granularities side by side: accuracy against sparsity, and the tickets'
    accuracy against their measured CPU speed-up; and the figures to copy into docs/."""
    summary = set_summary(work, "granularities")
    runs = work / GRANULARITY_COMPARISON
    caption, _, body = (runs / "runs.md").read_text().strip().partition("\n\n")
    speed_md = (runs / "benchmarks" / "runs_speed.md").read_text().strip()
    speed_caption, _, speed = speed_md.partition("\n\n")
    took = "; ".join(
        f"`configs/{name}.yaml`: {minutes(seconds)}"
        for name, seconds in summary["seconds"].items()
        if name != "granularities"
    )
    # The speed tables retimed later (snakemake --forcerun ticket_speed in each run, then
    # the comparison) at the commit recorded as speed_commit.
    retimed = (
        f" The speeds were measured again at commit `{summary['speed_commit']}` (rule "
        "ticket_speed rerun in each run; nothing else changed)."
        if summary.get("speed_commit")
        else ""
    )
    text = "\n".join(
        [
            GRANULARITIES_BEGIN,
            f"{made_by(summary)}, each run starting from the embedded default's data and "
            f"pretraining ({took}).{retimed} {caption}",
            "",
            body,
            "",
            "![Granularities: accuracy against sparsity](granularities.png)",
            "",
            speed_caption,
            "",
            speed,
            "",
            "![Granularities: accuracy against CPU speed-up](granularities_speed.png)",
            GRANULARITIES_END,
        ]
    )
    figures = {
        "granularities.png": runs / "runs.png",
        "granularities_speed.png": runs / "benchmarks" / "runs_speed.png",
    }
    return text, figures


def provenance(summary: dict) -> str:
    """Where the embedded default's numbers come from; ``note`` in the run's summary says
    what else ran beside it (its time is then no measure of the DAG's)."""
    note = f" ({summary['note']})" if summary.get("note") else ""
    return (
        f"From one run of `snakemake --cores {summary['cores']}` on `config.yaml` from scratch "
        f"(`bench/bench_embedded.py`), at commit `{summary['commit']}` on "
        f"{summary['date']}: {minutes(summary['wall_s'])} for the whole DAG of "
        f"{summary['jobs']} jobs on {summary['machine']}{note}"
    )


def headline(summary: dict, table_md: str) -> str:
    """The README's: Table 1 and Figure 1."""
    return "\n".join(
        [
            HEADLINE_BEGIN,
            provenance(summary) + ".",
            "",
            table_md.strip(),
            "",
            "![Figure 1: accuracy against sparsity, easy-VQA](docs/figure1.png)",
            HEADLINE_END,
        ]
    )


def section(summary: dict, table_md: str, modules_md: str) -> str:
    """docs/results.md's: Table 1, Figure 1 and where the tickets prune."""
    modules_caption, _, modules = modules_md.strip().partition("\n\n")
    return "\n".join(
        [
            BEGIN,
            f"{provenance(summary)}; model compute took "
            f"{100 * summary['compute_share']:.0f} % of the machine's time.",
            "",
            table_md.strip(),
            "",
            "![Figure 1: accuracy against sparsity, easy-VQA](figure1.png)",
            "",
            f"Where the tickets prune (`module_sparsity.md`): {modules_caption[0].lower()}"
            f"{modules_caption[1:]}; the last column is the share of the low-magnitude "
            "mask's pruned weights that the random mask of the same seed prunes too.",
            "",
            modules,
            END,
        ]
    )


def studies_section(work: Path) -> tuple[str, dict[str, Path]]:
    """The studies' Markdown and the figures to copy into docs/ (name -> source)."""
    summary = set_summary(work, "studies")
    parts = {
        "controls": (work / "results-controls", "table1.md", "figure1.png", "controls.png"),
        "authors_code": (work / "results-authors", "runs.md", "runs.png", "authors_code.png"),
        "scope": (work / "results", "runs.md", "runs.png", "scope.png"),
    }
    titles = {
        "controls": "**The lottery-ticket controls** (`configs/controls.yaml`)",
        "authors_code": "**The authors' code against the paper's text** "
        "(`configs/authors_code.yaml`)",
        "scope": "**Scope ablation** (`configs/scope/*.yaml`): pruning one encoder only",
    }
    lines = [
        STUDIES_BEGIN,
        f"{made_by(summary)}, each run starting from the embedded default's data and "
        "pretraining above.",
    ]
    figures = {}
    for key, (folder, table, figure, doc_name) in parts.items():
        caption, _, body = (folder / table).read_text().strip().partition("\n\n")
        lines += ["", f"{titles[key]}. {caption}", "", body, ""]
        lines.append(f"![{key}]({doc_name})")
        figures[doc_name] = folder / figure
    options = work / "authors_options.md"
    if options.exists():  # studies/run_authors_options.py
        caption, _, body = options.read_text().strip().partition("\n\n")
        lines += ["", f"**Which of the authors' options matter** "
                  f"(`studies/run_authors_options.py`). {caption}:", "", body]  # fmt: skip
    lines.append(STUDIES_END)
    return "\n".join(lines), figures


def ood_section(work: Path) -> tuple[str, dict[str, Path]]:
    """The study with easy-VQA's shifted sets: its Table 1 (with a column per set), the
    figure in and out of distribution and the ticket's advantage per split and sparsity."""
    summary = set_summary(work, "ood")
    folder = work / "results-ood"
    caption, _, table = (folder / "table1.md").read_text().strip().partition("\n\n")
    ood_caption, _, ood = (folder / "ood.md").read_text().strip().partition("\n\n")
    text = "\n".join(
        [
            OOD_BEGIN,
            f"{made_by(summary)}, from the embedded default's features "
            f"({minutes(summary['seconds']['ood'])}). {caption}",
            "",
            table,
            "",
            "![In and out of distribution: accuracy against sparsity](ood.png)",
            "",
            ood_caption,
            "",
            ood,
            OOD_END,
        ]
    )
    return text, {"ood.png": folder / "figure_ood.png"}


def stability_section(work: Path) -> tuple[str, dict[str, Path]]:
    """Linear mode connectivity of the embedded default's networks: the table and the
    two figures (copied into docs/)."""
    summary = set_summary(work, "stability")
    folder = work / "results"
    caption, _, table = (folder / "stability.md").read_text().strip().partition("\n\n")
    text = "\n".join(
        [
            STABILITY_BEGIN,
            f"{made_by(summary)}, in the embedded default's finished run "
            f"({minutes(summary['seconds']['stability'])}{noted(summary)}). {caption}",
            "",
            table,
            "",
            "![Error along the line between two copies](stability_lines.png)",
            "",
            "![Barrier against sparsity](stability_barrier.png)",
            STABILITY_END,
        ]
    )
    figures = {name: folder / name for name in ("stability_lines.png", "stability_barrier.png")}
    controls = work / "results-controls"
    if (controls / "stability.md").exists():  # the controls' run, with the late control
        caption, _, table = (controls / "stability.md").read_text().strip().partition("\n\n")
        took = minutes(summary["seconds"]["controls+stability"])
        if summary["all"]:  # the controls' study ran before, in its own set
            took += " for the pairs, after the controls' study above"
        text = text.replace(
            STABILITY_END,
            "\n".join(
                [
                    "",
                    f"**The controls** (`configs/controls.yaml` with `configs/stability.yaml`: "
                    "the controls' study and its pairs, the late control's and a dense pair's "
                    f"from `study.late_rewind_step`, {took}). {caption}",
                    "",
                    table,
                    "",
                    "![Barrier against sparsity: the controls](stability_controls_barrier.png)",
                    STABILITY_END,
                ]
            ),
        )
        figures["stability_controls_barrier.png"] = controls / "stability_barrier.png"
    return text, figures


def one_shot_section(work: Path) -> tuple[str, dict[str, Path]]:
    """One-shot pruning beside each family's tickets: its table and figure (copied into
    docs/), in the order of ``ONE_SHOT_RUNS``."""
    summary = set_summary(work, "one_shot")
    took = "; ".join(f"{label} {minutes(summary['seconds'][study])}"
                     for label, (study, _, _) in ONE_SHOT_RUNS.items())  # fmt: skip
    lines, figures = [], {}
    for label, (_, folder, figure) in ONE_SHOT_RUNS.items():
        costs = (work / folder / "benchmarks" / "one_shot.md").read_text()
        caption, _, table = costs.strip().partition("\n\n")
        if not lines:
            lines += [
                f"{made_by(summary)}, over each family's finished run "
                f"({took}{noted(summary)}). {caption}",
            ]
        lines += ["", f"**{label}**", "", table, "",
                  f"![{label}: one-shot pruning against the ticket]({figure})"]  # fmt: skip
        figures[figure] = work / folder / "benchmarks/one_shot.png"
    return "\n".join([ONE_SHOT_BEGIN, *lines, ONE_SHOT_END]), figures


def tasks_section(work: Path) -> tuple[str, dict[str, Path]]:
    """Tickets across tasks: the transfer matrix and its figure (configs/compare_tasks.yaml,
    in the answering run's folder) and the verification study's Table 1."""
    summary = set_summary(work, "tasks")
    seconds = summary["seconds"]
    matrix = (work / "results-answering" / "tasks.md").read_text().strip()
    caption, _, table = matrix.partition("\n\n")
    verification = (work / "results-verification" / "table1.md").read_text().strip()
    v_caption, _, v_table = verification.partition("\n\n")
    text = "\n".join([
        TASKS_BEGIN,
        f"{made_by(summary)}: statement verification with its transfers and "
        f"pre-training tickets ({minutes(seconds['transfer'])}{noted(summary)}), then "
        f"question answering with the verification tickets "
        f"({minutes(seconds['compare_tasks'])}). {caption}",
        "", table, "", "![Tickets across tasks: accuracy against sparsity](tasks.png)", "",
        f"**Statement verification's own study** (`results-verification/table1.md`). "
        f"{v_caption}", "", v_table,
        TASKS_END,
    ])  # fmt: skip
    return text, {"tasks.png": work / "results-answering" / "tasks.png"}


def made_by(summary: dict) -> str:
    """A block's provenance: the command, its commit, the machine and its cores."""
    return (f"From {summary['command']} at commit `{summary['commit']}` on "
            f"{summary['machine']} (`--cores {summary['cores']}`)")  # fmt: skip


def noted(summary: dict) -> str:
    """``; NOTE`` for a run summary's note (what else shared the machine), else nothing."""
    return f"; {summary['note']}" if summary.get("note") else ""


def runtime_of(commit: str, root: Path = ROOT) -> list:
    """pyproject.toml's ``RUNTIME`` entries at ``commit``."""
    text = subprocess.run(["git", "show", f"{commit}:pyproject.toml"], cwd=root,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    project = tomllib.loads(text)
    found = []
    for keys in RUNTIME:
        value = project
        for key in keys:
            value = value.get(key, {})
        found.append(value)
    return found


def todays_code(commit: str, what: str) -> None:
    """Refuse a run whose commit is not this checkout's code (``CODE``)."""
    sha = commit.split("+")[0]
    if commit != sha:
        raise SystemExit(f"{what}: made from a tree with uncommitted changes ({commit})")
    diff = subprocess.run(["git", "diff", "--quiet", sha, "HEAD", "--", *CODE], cwd=ROOT)
    if diff.returncode != 0 or runtime_of(sha) != runtime_of("HEAD"):
        raise SystemExit(
            f"{what}: made at commit {sha[:7]}, whose code differs from this checkout's "
            f"(git diff {sha[:7]} HEAD -- {' '.join(CODE)}, or pyproject.toml's "
            "dependencies): rerun it"
        )


def replace_between(text: str, begin: str, end: str, new: str, where: str) -> str:
    """``new`` between the markers, with the numerics it was made with."""
    if begin not in text or end not in text:
        raise SystemExit(f"{where}: no markers ({begin!r} ... {end!r})")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    name = re.match(r"<!-- (\w+):", begin).group(1)
    new = new.replace(begin, f"{begin}\n{numerics_line(name)}", 1)
    return head + new + tail


def embedded_blocks(args, readme_text: str, page_text: str) -> tuple[str, str]:
    """The embedded default's headline and results block (unless --families-only) and the
    model families' comparison, from WORKDIR."""
    readme, page = ROOT / "README.md", ROOT / "docs" / "results.md"
    summary = json.loads((args.workdir / "run_summary.json").read_text())
    if not args.families_only:
        todays_code(summary["commit"], str(args.workdir))
    results = Path(summary["results"])
    table = (results / "table1.md").read_text()
    if args.families_only:
        record = args.workdir / COMPARISON / "records" / "pretrain.json"
        summary = {**summary, "commit": json.loads(record.read_text())["commit"][:7]}
    else:
        readme_text = replace_between(
            readme_text, HEADLINE_BEGIN, HEADLINE_END, headline(summary, table), str(readme)
        )
        page_text = replace_between(
            page_text,
            BEGIN,
            END,
            section(summary, table, (results / "module_sparsity.md").read_text()),
            str(page),
        )
        shutil.copyfile(results / "figure1.png", ROOT / "docs" / "figure1.png")
        print(f"README.md, docs/results.md and docs/figure1.png updated from {results}")
    families = families_section(args.workdir, summary, "families.png")
    if families is not None:
        page_text = replace_between(page_text, FAMILIES_BEGIN, FAMILIES_END, families, str(page))
        shutil.copyfile(args.workdir / COMPARISON / "runs.png",
                        ROOT / "docs" / "families.png")  # fmt: skip
        print("the model families updated (docs/results.md, docs/families.png)")
    return readme_text, page_text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path, nargs="?", default=None)
    parser.add_argument("--studies", type=Path, default=None)
    parser.add_argument("--ood", type=Path, default=None)
    parser.add_argument("--stability", type=Path, default=None)
    parser.add_argument("--granularities", type=Path, default=None)
    parser.add_argument("--one-shot", type=Path, default=None)
    parser.add_argument("--tasks", type=Path, default=None)
    parser.add_argument("--all", type=Path, default=None, metavar="WORKDIR",
                        help="every block, from a work folder of run_studies.py --all")  # fmt: skip
    parser.add_argument(
        "--families-only",
        action="store_true",
        help="leave the embedded default's blocks as they are (its outputs unchanged, say, "
        "and its timing from a quieter machine): only the families, at their run's commit",
    )
    args = parser.parse_args()
    if args.all is not None:
        args.workdir = args.studies = args.granularities = args.ood = args.all
        args.stability = args.one_shot = args.tasks = args.all
    readme, page = ROOT / "README.md", ROOT / "docs" / "results.md"
    readme_text, page_text = readme.read_text(), page.read_text()
    if args.workdir is not None:
        readme_text, page_text = embedded_blocks(args, readme_text, page_text)
    blocks = [
        (args.studies, studies_section, STUDIES_BEGIN, STUDIES_END),
        (args.granularities, granularities_section, GRANULARITIES_BEGIN, GRANULARITIES_END),
        (args.ood, ood_section, OOD_BEGIN, OOD_END),
        (args.stability, stability_section, STABILITY_BEGIN, STABILITY_END),
        (args.one_shot, one_shot_section, ONE_SHOT_BEGIN, ONE_SHOT_END),
        (args.tasks, tasks_section, TASKS_BEGIN, TASKS_END),
    ]
    for work, make, begin, end in blocks:
        if work is None:
            continue
        text, figures = make(work)
        page_text = replace_between(page_text, begin, end, text, str(page))
        for name, source in figures.items():
            shutil.copyfile(source, ROOT / "docs" / name)
        print(f"docs/results.md ({make.__name__}) and docs/{{{','.join(figures)}}} updated")
    readme.write_text(readme_text)
    page.write_text(page_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
