"""Project hygiene: environment pins agree, the workflow lints and is formatted."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT


def pins_from_pyproject() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps)


def test_every_dependency_is_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in d for d in deps), deps


def test_conda_envs_agree_with_pyproject():
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        pins = dict(p.split("==") for p in pip)
        assert pins == pins_from_pyproject(), env.name
        python = next(
            d for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python=")
        )
        assert python == "python=3.11"


def test_every_rule_names_a_conda_env_and_a_log():
    text = "".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    rules = len(re.findall(r"^\s*rule \w+:$", text, re.M))
    assert rules > 10
    assert rules == len(re.findall(r"^\s+conda:$", text, re.M))
    assert rules == len(re.findall(r"^\s+log:$", text, re.M))


def run(*cmd):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_snakemake_lint_is_clean():
    out = run(sys.executable, "-m", "snakemake", "--lint", "--configfile", "tests/config/test.yaml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_snakefmt_is_clean():
    files = ["Snakefile", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "rules").glob("*.smk"))]
    out = run(sys.executable, "-m", "snakefmt", "--check", *files)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean():
    for args in (["check", "."], ["format", "--check", "."]):
        out = run(sys.executable, "-m", "ruff", *args)
        assert out.returncode == 0, out.stdout + out.stderr


def test_data_and_report_jobs_never_import_torch():
    """No job pays for imports it does not use: questions, features and reports are
    NumPy, h5py and pandas work, and importing torch and transformers takes about 2 s."""
    code = (
        "import sys\n"
        "import lxmert_lth.workflow.harness, lxmert_lth.workflow.stages.data\n"
        "import lxmert_lth.workflow.stages.reports\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    out = run(sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def job_in_a_fresh_process(before: str, params: str, stage: str) -> str:
    """What ``seen`` holds after ``lxmert_lth.workflow.harness.run_job`` ran ``stage`` in a fresh
    Python that imports the harness first, as a job script does, on a stand-in for
    Snakemake's job object with ``params``; ``before`` runs between the two."""
    code = (
        "import gc, types\n"
        "import lxmert_lth.workflow.harness as h\n"
        "seen = []\n"
        f"{before}\n"
        "job = types.SimpleNamespace(log=[], threads=1, rule='r', wildcards={},\n"
        f"                            resources={{}}, params={params})\n"
        f"h.run_job(job, {stage})\n"
        "print(seen)\n"
    )
    out = run(sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_job_imports_without_the_collector_and_runs_with_it():
    """The harness keeps the garbage collector off while a job script imports (a million
    objects made by torch and transformers) and the stage runs with it on again, the
    imports frozen out of its passes: a stage that made cycles and never collected them
    would grow through a paper-size fine-tune."""
    seen = job_in_a_fresh_process(
        "assert not gc.isenabled()\nimport torch",
        "None",
        "lambda: seen.append((gc.isenabled(), gc.get_freeze_count() > 100_000))",
    )
    assert seen == "[(True, True)]"


def test_torch_threads_are_the_configured_count_whatever_the_cores():
    """A training job's thread count changes how its sums round: it comes from the
    job's torch_threads param, not from the cores Snakemake gave it (``--cores 1``)."""
    seen = job_in_a_fresh_process(
        "import torch\ntorch.set_num_threads(1)",
        "{'torch_threads': 2}",
        "lambda: seen.append(torch.get_num_threads())",
    )
    assert seen == "[2]"


def test_a_users_mistake_is_one_line_and_its_traceback_stays_in_the_log(tmp_path):
    """A job whose stage raises an InputError prints one line naming the problem (and the
    log), exits 1, and keeps the traceback in its log; a bug keeps its traceback."""
    log = tmp_path / "job.log"
    code = (
        "import types\n"
        "import lxmert_lth.workflow.harness as h\n"
        "from lxmert_lth.core.io import InputError\n"
        "def stage():\n"
        "    raise {error}\n"
        f"job = types.SimpleNamespace(log=[{str(log)!r}], threads=1, rule='finetune_dense',\n"
        "                            wildcards={{}}, resources={{}}, params=None)\n"
        "h.run_job(job, stage)\n"
    )
    mistake = run(sys.executable, "-c", code.format(error="InputError('data/x.json: no key')"))
    assert mistake.returncode == 1
    assert mistake.stderr.strip() == f"finetune_dense: data/x.json: no key (traceback in {log})"
    assert "Traceback" in log.read_text() and "data/x.json: no key" in log.read_text()
    bug = run(sys.executable, "-c", code.format(error="KeyError('oops')"))
    assert bug.returncode == 1 and "Traceback" in bug.stderr and "KeyError" in bug.stderr


def test_a_job_reads_no_configuration_beside_its_rule():
    """A value that changes a result reaches a job through its rule (inputs, outputs,
    wildcards, params), where Snakemake sees it; the settings that change none through
    ``stages.training_job.settings``. job_costs, which estimates the configuration's
    cost, is the one script that reads it whole."""
    readers = sorted(
        path.name
        for path in (ROOT / "workflow_scripts").glob("*.py")
        if "snakemake.config" in path.read_text()
    )
    assert readers == ["job_costs.py"]
    stages = ROOT / "src" / "lxmert_lth" / "workflow" / "stages"
    readers = [p.name for p in stages.glob("*.py") if ".config[" in p.read_text()]
    assert readers == ["training_job.py"]  # its settings(), of SETTINGS' keys only
