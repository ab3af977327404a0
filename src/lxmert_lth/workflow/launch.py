"""Running the workflow from Python: Snakemake on this project's Snakefile, in a folder
of its own (its results and ``.snakemake`` state), with the configuration files given.

The one way the test suite, the study drivers (``studies/``) and the benchmarks
(``bench/``) start a run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from lxmert_lth.core.schema import PROJECT

SNAKEFILE = PROJECT / "Snakefile"
# The embedded default, and the test suite's small configuration.
DEFAULT_CONFIG = PROJECT / "config.yaml"
TEST_CONFIG = PROJECT / "tests" / "config" / "test.yaml"


def snakemake_command(workdir: Path, *args: str, configfiles: Sequence[Path] = ()) -> list[str]:
    """``snakemake --snakefile ... --directory WORKDIR [--configfile FILES...] ARGS``."""
    files = ["--configfile", *map(str, configfiles)] if configfiles else []
    return [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
            "--directory", str(workdir), *files, *args]  # fmt: skip


def run_snakemake(
    workdir: Path,
    *args: str,
    configfiles: Sequence[Path] = (),
    timeout: float | None = None,
    env: dict | None = None,
    log: Path | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir``; its output captured, or written to ``log``."""
    cmd = snakemake_command(workdir, *args, configfiles=configfiles)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if log is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    with open(log, "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=env)
