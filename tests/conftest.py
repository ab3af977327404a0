"""Shared fixtures: one real run of the test configuration's whole DAG per session (per
pytest-xdist worker: the suite runs on two, pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lxmert_lth.workflow.digests import (
    compare_with_digests,
    explain,
    read_digest_file,
    run_record,
    write_digest_file,
)
from lxmert_lth.workflow.launch import TEST_CONFIG, run_snakemake
from lxmert_lth.workflow.published import BLOCKS, REGENERATE, digests_path

ROOT = Path(__file__).resolve().parent.parent

# What makes a test a workflow test (marker ``workflow``; the rest are unit tests, which
# ``pytest -m "not workflow"`` runs in about a minute): a fixture that runs the DAG, a
# call that starts Snakemake, a linter or a job in a process of its own, or an explicit
# ``pytest.mark.workflow`` (a test that computes for many seconds in its own process).
WORKFLOW_FIXTURES = {"test_run", "run_copy"}
WORKFLOW_CALLS = ("snakemake(", "run_snakemake(", "subprocess.")


def pytest_collection_modifyitems(items):
    """Mark the workflow tests (``slow`` ones included) ``workflow``."""
    for item in items:
        if item.get_closest_marker("slow") or _runs_a_process(item):
            item.add_marker(pytest.mark.workflow)


def _runs_a_process(item) -> bool:
    """The test, a fixture it uses, or a function of its module that it calls, starts a
    process (or the test uses a fixture that runs the DAG)."""
    import inspect

    function = getattr(item, "function", None)
    if function is None:
        return False
    names = set(getattr(item, "fixturenames", ()))
    if WORKFLOW_FIXTURES & names:
        return True
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    sources = [inspect.getsource(function)]
    sources += [inspect.getsource(d[-1].func) for n, d in defs.items() if n in names and d]
    module = inspect.getmodule(function)
    for name, helper in vars(module).items():
        if inspect.isfunction(helper) and f"{name}(" in sources[0] and helper is not function:
            sources.append(inspect.getsource(helper))
    return any(call in text for text in sources for call in WORKFLOW_CALLS)


def snakemake(
    workdir: Path,
    *args: str,
    configfile: Path = TEST_CONFIG,
    check: bool = True,
    timeout: int = 900,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` (its own results and .snakemake state)."""
    proc = run_snakemake(workdir, *args, configfiles=[configfile], timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}"
        )
    return proc


def load_config(path: Path = TEST_CONFIG) -> dict:
    return yaml.safe_load(path.read_text())


def write_config(tmp: Path, name: str, **changes) -> Path:
    """The test configuration with top-level sections updated by ``changes``."""
    config = load_config()
    for section, values in changes.items():
        if isinstance(values, dict):
            config[section] = {**config.get(section, {}), **values}
        else:
            config[section] = values
    path = tmp / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def test_run(tmp_path_factory) -> Path:
    """A workdir in which the test configuration's whole DAG has run, its training jobs
    claiming devices of a pretend pool of two, two at a time."""
    workdir = tmp_path_factory.mktemp("run")
    pool = {"LXMERT_LTH_DEVICE_POOL": "0,1", "LXMERT_LTH_LOCK_DIR": str(workdir / "locks")}
    snakemake(workdir, "--cores", "2", "--resources", "gpu=2", env=pool)
    return workdir


@pytest.fixture
def run_copy(test_run, tmp_path) -> Path:
    """A private copy of the finished run (results and Snakemake state) to change."""
    dst = tmp_path / "copy"
    shutil.copytree(test_run, dst, symlinks=True)
    return dst


def check_study_digests(study: str, results: Path) -> None:
    """A study's outputs on the test configuration, digest for digest, as committed
    (tests/config/digests/STUDY.json): the numerics that the published blocks resting on
    the study record (lxmert_lth.workflow.published). With LXMERT_LTH_WRITE_DIGESTS=1 in
    the environment, the digests are written instead (a change that moves them on purpose)."""
    path = digests_path(study)
    if os.environ.get("LXMERT_LTH_WRITE_DIGESTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        write_digest_file(results, path)
        return
    expected, their_record = read_digest_file(path)
    problems = compare_with_digests(results, expected)
    if problems:
        stale = [f"{b.page} '{b.name}'" for b in BLOCKS if study in b.studies]
        raise AssertionError(
            f"the outputs of '{study}' on the test configuration are not the committed ones "
            f"({path.relative_to(ROOT)}). If the change moves them on purpose, rewrite them "
            "(LXMERT_LTH_WRITE_DIGESTS=1 python -m pytest -q TEST) and regenerate the blocks "
            f"that rest on them, {', '.join(stale)}: {REGENERATE}\n"
            + "\n".join(explain(problems, run_record(results), their_record))
        )
