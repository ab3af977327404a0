"""Content digests, the measure of "two runs gave the same outputs"."""

import numpy as np

from lxmert_lth.core.io import save_tensors
from lxmert_lth.workflow.digests import digest_file


def test_safetensors_digest_is_content_not_header_order(tmp_path):
    a, b, c = (tmp_path / f"{n}.safetensors" for n in "abc")
    x = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    save_tensors(a, x, {"seed": 0, "kind": "low"})
    save_tensors(b, x, {"kind": "low", "seed": 0})
    save_tensors(c, {"w": x["w"] + 1}, {"seed": 0, "kind": "low"})
    assert digest_file(a) == digest_file(b)
    assert digest_file(a) != digest_file(c)


def test_paths_to_other_outputs_are_taken_relative_to_the_results_folder(tmp_path):
    """A run with an absolute results: records absolute paths in its masks' metadata;
    the same mask of a relative run is the same output. Another path is not."""
    a, b, c = (tmp_path / f"{n}.safetensors" for n in "abc")
    x = {"w": np.ones(4, dtype=np.float32)}
    save_tensors(a, x, {"mask": {"trained": "results/seed0/low10/model.safetensors"}})
    save_tensors(b, x, {"mask": {"trained": "/scratch/me/out/seed0/low10/model.safetensors"}})
    save_tensors(c, x, {"mask": {"trained": "results/seed0/low20/model.safetensors"}})
    assert digest_file(a) == digest_file(b)
    assert digest_file(a) != digest_file(c)


def test_comparing_with_a_folder_that_does_not_exist_says_so(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    (tmp_path / "a").mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "compare_runs.py"), str(tmp_path / "a"),
         str(tmp_path / "missing")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert (
        proc.stderr.strip()
        == f"compare_runs: {tmp_path / 'missing'} is not a results folder (no such folder)"
    )


WRITE_BOTH = """
import sys
import matplotlib
matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure
from lxmert_lth.core.io import save_figure, save_tensors
out = sys.argv[1]
save_tensors(out + "/m.safetensors", {"w": np.arange(6, dtype=np.float32), "b": np.ones(2)},
             {"seed": 0, "kind": "low", "prunable": ["w"], "sparsity": 50, "mask": None})
fig = Figure()
fig.add_subplot().plot([1, 3, 2])
for fmt in ("png", "pdf"):
    save_figure(fig, f"{out}/f.{fmt}", fmt)
"""


def test_two_processes_write_the_same_bytes(tmp_path):
    """safetensors' metadata comes out in its hash map's order, which changes between
    processes, and a PDF carries its creation date: neither may reach the files."""
    import subprocess
    import sys
    import time

    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        subprocess.run([sys.executable, "-c", WRITE_BOTH, str(tmp_path / run)], check=True)
        time.sleep(1.1)  # another second for a PDF date
    for name in ("m.safetensors", "f.png", "f.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
