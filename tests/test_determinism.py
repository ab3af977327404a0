"""Before the first GPU run: no operation on any job's path lacks a deterministic CUDA
implementation unless docs/running.md says why it stands, and one that runs is caught
into the job's record and the run's summary (lxmert_lth.runtime.determinism)."""

import json
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from lxmert_lth.runtime import determinism


def test_every_operation_torch_documents_as_raising_is_mapped_to_its_aten_operations():
    documented = determinism.documented_raising(torch.use_deterministic_algorithms.__doc__)
    assert len(documented) >= 20
    assert set(documented) == set(determinism.RAISING)


@pytest.fixture(scope="module")
def traced_operations(tmp_path_factory) -> set[str]:
    """Every ATen operation of every family's path (tools/numerics_probe.py's child)."""
    out = tmp_path_factory.mktemp("probe") / "trace.json"
    probe = ROOT / "tools" / "numerics_probe.py"
    subprocess.run([sys.executable, str(probe), "--child", str(out), "--threads", "1",
                    "--trace", "--quick"], check=True, timeout=600)  # fmt: skip
    return {op for op, _, _ in json.loads(out.read_text())["trace"]}


def test_no_job_runs_an_operation_without_a_deterministic_cuda_implementation(traced_operations):
    assert len(traced_operations) > 50
    found = determinism.raising_on_path(traced_operations)
    ops = {op for hits in found.values() for op in hits}
    assert ops <= set(determinism.ON_PATH), found
    running = (ROOT / "docs" / "running.md").read_text()
    for op in determinism.ON_PATH:
        assert f"`aten.{op}`" in running, op


def test_an_operation_without_one_is_caught_and_recorded(tmp_path):
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with determinism.alerts() as met:
            torch.zeros(3).put_(torch.tensor([0]), torch.tensor([1.0]))
    finally:
        torch.use_deterministic_algorithms(False)
    assert len(met) == 1 and met[0].startswith("put_ does not have a deterministic")
    records = tmp_path / "records" / "seed0"
    records.mkdir(parents=True)
    (records / "retrain_low50.json").write_text(json.dumps({determinism.RECORD_KEY: met}))
    (records / "retrain_low60.json").write_text(json.dumps({"commit": "abc"}))
    assert determinism.summary(tmp_path / "records") == [
        f"{records / 'retrain_low50.json'}: 1 operation(s) without a deterministic "
        "implementation ran (the digits may differ from run to run): put_"
    ]


def test_the_harness_writes_them_into_the_jobs_record(tmp_path):
    record = tmp_path / "record.json"
    code = (
        "import types, torch\n"
        "import lxmert_lth.workflow.harness as h\n"
        "def stage():\n"
        "    torch.zeros(3).put_(torch.tensor([0]), torch.tensor([1.0]))\n"
        "class Logs(list):\n"
        "    def get(self, key):\n"
        "        return {!r} if key == 'record' else None\n"
        "params = {{'cpu_numerics': 'portable', 'deterministic': True}}\n"
        "job = types.SimpleNamespace(log=Logs([{!r}]), threads=1, rule='r', wildcards={{}},\n"
        "                            resources={{}}, params=params)\n"
        "h.run_job(job, stage)\n"
    ).format(str(record), str(tmp_path / "job.log"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    met = json.loads(record.read_text())[determinism.RECORD_KEY]
    assert met and met[0].startswith("put_ does not have a deterministic implementation")
    assert "nondeterministic: put_" in (tmp_path / "job.log").read_text()
