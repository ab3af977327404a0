"""What decides the digits: the numerics pinned before NumPy and torch load, the record
of a run, and where two records differ (lxmert_lth.runtime.numerics,
lxmert_lth.workflow.digests)."""

import json
import subprocess
import sys

import pytest

from lxmert_lth.runtime import numerics
from lxmert_lth.workflow.digests import explain, run_record


def fresh_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


X86 = pytest.mark.skipif(not numerics.is_x86_64(), reason="the pins are for x86-64")


@X86
def test_a_job_script_gets_portable_numerics_before_torch_loads():
    """As Snakemake runs a job script: its ``snakemake`` object in ``__main__``, then the
    harness's import, then the stage's (torch). ATen then runs its AVX2 kernels."""
    seen = fresh_python(
        "import sys, types\n"
        "params = types.SimpleNamespace(get={'cpu_numerics': 'portable',"
        " 'deterministic': True}.get)\n"
        "sys.modules['__main__'].snakemake = types.SimpleNamespace(params=params)\n"
        "import lxmert_lth.workflow.harness, os, torch\n"
        "print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'],"
        " os.environ['OPENBLAS_CORETYPE'], os.environ['CUBLAS_WORKSPACE_CONFIG'])\n"
    )
    assert seen == "AVX2 COMPATIBLE Haswell :4096:8"


def test_native_numerics_and_jobs_without_the_param_leave_the_environment_alone():
    code = (
        "import sys, types, os\n"
        "{}\n"
        "import lxmert_lth.workflow.harness\n"
        "print([k for k in ('ATEN_CPU_CAPABILITY', 'MKL_CBWR') if k in os.environ])\n"
    )
    native = (
        "sys.modules['__main__'].snakemake = types.SimpleNamespace(params=types.SimpleNamespace("
        "get={'cpu_numerics': 'native', 'deterministic': False}.get))"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in numerics.PORTABLE_ENV}
    for setup in (native, "pass"):
        out = subprocess.run(
            [sys.executable, "-c", code.format(setup)], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "[]"


@X86
def test_pinning_after_numpy_loaded_is_refused():
    """Too late to take effect: refused, never silently ignored."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import numpy\nfrom lxmert_lth.runtime import numerics\n"
            "numerics.pin_before_torch('portable', False)\n",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in __import__("os").environ.items() if k not in numerics.PORTABLE_ENV},
    )
    assert out.returncode != 0 and "numpy is already imported" in out.stderr


def test_an_unknown_mode_is_named():
    with pytest.raises(ValueError, match="'fast'"):
        numerics.pin_before_torch("fast", False)


def test_the_record_says_what_decides_the_digits():
    rec = json.loads(
        fresh_python(
            "import json, torch\nfrom lxmert_lth.runtime import numerics\n"
            "print(json.dumps(numerics.record('native', True, 'cpu')))"
        )
    )
    assert rec["packages"]["torch"].startswith("2.13.0")
    assert rec["device"] == "cpu" and rec["deterministic"] is True
    assert {"processor", "machine", "cpu_capability", "torch_threads", "environment"} <= set(rec)
    assert rec["commit"] is None or len(rec["commit"].split("+")[0]) == 40


def test_two_runs_records_are_compared_field_by_field(tmp_path):
    for run, (cap, threads) in {"a": ("AVX2", "1"), "b": ("AVX512", "1")}.items():
        folder = tmp_path / run / "records" / "seed0"
        folder.mkdir(parents=True)
        for job in ("finetune_dense", "retrain_low50"):
            rec = {"cpu_capability": cap, "environment": {"OMP_NUM_THREADS": threads}}
            (folder / f"{job}.json").write_text(json.dumps(rec))
    a, b = run_record(tmp_path / "a"), run_record(tmp_path / "b")
    assert a == {"cpu_capability": "AVX2", "environment.OMP_NUM_THREADS": "1"}
    lines = explain(["differs: seed0/dense/model.safetensors"], b, a)
    assert lines == [
        "differs: seed0/dense/model.safetensors",
        "records differ:",
        "  cpu_capability: 'AVX2' != 'AVX512'",
    ]
    assert explain([], b, a) == []


def test_the_device_check_runs_its_checks_on_the_cpu(tmp_path):
    """bench/gpu_check.py without CUDA: the same checks at a small size on the CPU, the
    two deterministic runs bitwise the same, every loader worker count the same batches."""
    from conftest import ROOT

    out = tmp_path / "check.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--small", "--skip-tests",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["size"] == "small" and report["deterministic"]["bitwise_same"]
    assert all(w["same_batches"] for w in report["loader"].values())
    assert all(m["samples_per_s"] > 0 for m in report["throughput"].values())
    if not report["record"].get("cuda"):
        assert "no CUDA device" in proc.stdout
        assert report["semi_structured"] == {
            "measured": False, "why": "no CUDA GPU of compute capability 8.0 or more"}  # fmt: skip
