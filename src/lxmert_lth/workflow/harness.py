"""The job harness: what every Snakemake job does around its stage function.

A script in ``workflow_scripts/`` unpacks Snakemake's ``input``/``output``/``params`` and
calls :func:`run_job`, which sends the job's logging and progress bars to its log file,
keeps what the job imported out of the garbage collector's way, pins the numerics of a
job that computes with torch before torch loads (``lxmert_lth.runtime.numerics``) and writes
its record, sets a training job's torch threads, and, for a job that declares
``resources: gpu``, claims a device (``lxmert_lth.runtime.devices``) for as long as the stage
runs.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

# Imports neither NumPy nor torch: they must wait for the pins.
from lxmert_lth.runtime import determinism, numerics

log = logging.getLogger("lxmert_lth")

# Importing this module is the first thing every job script does, before the stage's
# module pulls in torch and transformers: about a million objects, all alive for as long
# as the job. The garbage collector stays off while they are made (its passes over them
# cost ~0.45 s per job on the embedded default's machine); run_job freezes them and turns
# it back on. Only job scripts import this module.
gc.disable()


def _numerics_params(params) -> tuple[str, bool] | None:
    """A job's (cpu_numerics, deterministic) params; None for a job without them (one
    that does not compute with torch). ``params`` is Snakemake's named list."""
    mode = params.get("cpu_numerics") if params else None
    return None if mode is None else (mode, bool(params.get("deterministic")))


# A job that computes with torch has the params cpu_numerics and deterministic: they
# must reach the environment before the script's next import brings torch in. Snakemake
# runs a job script with its ``snakemake`` object defined in ``__main__``.
_JOB_NUMERICS = _numerics_params(
    getattr(getattr(sys.modules.get("__main__"), "snakemake", None), "params", None)
)
if _JOB_NUMERICS:
    numerics.pin_before_torch(*_JOB_NUMERICS)

from lxmert_lth.core.errors import UserError  # noqa: E402
from lxmert_lth.core.io import write_json  # noqa: E402  (NumPy)
from lxmert_lth.runtime.devices import Claim, NoFreeDevice, claim_device  # noqa: E402


def process_seconds() -> float | None:
    """Seconds since this process started (Linux's /proc; None elsewhere): the job's
    interpreter and library start-up, as its log's first line gives it."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_job(snakemake, stage: Callable[..., None], **kwargs) -> None:
    """Run ``stage(**kwargs)`` with logging and stderr going to the job's log file; its
    first and last lines give the seconds since the process started."""
    # What the job has imported lives as long as the job: gc.freeze moves it out of the
    # collector's passes, which then see only what the stage makes. Without it the
    # interpreter's final collection alone walks it all once more at exit, ~0.9 s per job
    # on the embedded default's machine, where a job computes for ~4 s.
    gc.freeze()
    gc.enable()
    log_path = Path(snakemake.log[0]) if snakemake.log else None
    stream = open(log_path, "w") if log_path else sys.stderr  # noqa: SIM115
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    claim, failure = None, None
    try:
        with contextlib.redirect_stderr(stream):
            log.info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards))
            log.info("process start-up: %s s", _seconds())
            _set_torch_threads(snakemake)
            asked = {k: snakemake.resources.get(k) for k in ("mem_mb", "runtime", "gpu")}
            log.info("resources asked: %s", {k: v for k, v in asked.items() if v is not None})
            claim = _claim_gpu(snakemake)
            _record_numerics(snakemake)
            with determinism.alerts() as met:
                stage(**kwargs)
            _record_alerts(snakemake, met)
            log.info("job done: %s s since the process started", _seconds())
    except (UserError, NoFreeDevice) as err:
        # The user's to fix: the traceback goes to the log, the message is one line.
        log.error("%s: %s", type(err).__name__, err, exc_info=True)
        failure = err
    except Exception as err:
        log.error("%s: %s", type(err).__name__, err)
        raise
    finally:
        if claim is not None:
            claim.release()
        root.removeHandler(handler)
        if log_path:
            stream.close()
    if failure is not None:
        where = f" (traceback in {log_path})" if log_path else ""
        print(f"{snakemake.rule}: {failure}{where}", file=sys.stderr)
        raise SystemExit(1)


def _seconds() -> str:
    seconds = process_seconds()
    return "unknown" if seconds is None else f"{seconds:.3f}"


def _set_torch_threads(snakemake) -> None:
    """A training job's torch threads are its ``torch_threads`` param (the configuration's
    ``execution.*_threads``), not the cores Snakemake gives it: how many threads share a
    sum changes how it rounds, so the count is a result's input and must not follow
    ``--cores`` (Snakemake scales a job's threads down to it, and sets
    ``OMP_NUM_THREADS`` to what is left)."""
    threads = snakemake.params.get("torch_threads") if snakemake.params else None
    if threads is None:
        return
    import torch  # only training jobs have the param, and they have torch imported

    if torch.get_num_threads() != int(threads):  # as Snakemake's OMP_NUM_THREADS left it
        torch.set_num_threads(int(threads))
    if int(threads) > int(snakemake.threads):
        log.info("torch threads: %d on %s cores (--cores)", threads, snakemake.threads)
    else:
        log.info("torch threads: %d", threads)


def _record_numerics(snakemake) -> None:
    """A job with the cpu_numerics param: its deterministic settings in torch, and its
    record (what decides its digits) in its ``record`` log, when it has one."""
    found = _numerics_params(snakemake.params)
    if found is None:
        return
    mode, deterministic = found
    numerics.configure_torch(deterministic)
    log.info("numerics: cpu %s, deterministic %s", mode, deterministic)
    logs = getattr(snakemake, "log", None)
    path = logs.get("record") if hasattr(logs, "get") else None
    if path:
        write_json(path, numerics.record(mode, deterministic, snakemake.params.get("device")))


def _record_alerts(snakemake, met: list[str]) -> None:
    """Operations without a deterministic implementation that ran (on CUDA): in the
    log, and in the job's record, which the run's summary reads."""
    if not met:
        return
    for message in met:
        log.warning("nondeterministic: %s", message)
    logs = getattr(snakemake, "log", None)
    path = logs.get("record") if hasattr(logs, "get") else None
    if path and Path(path).exists():
        record = json.loads(Path(path).read_text())
        write_json(path, {**record, determinism.RECORD_KEY: met})


def _claim_gpu(snakemake) -> Claim | None:
    """A job that declares ``resources: gpu`` claims one device of the visible pool,
    unless the configuration pins an explicit ``cuda:N``."""
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    device = snakemake.params.get("device", "auto") if snakemake.params else "auto"
    if gpus < 1 or device not in ("auto", "cuda"):
        log.info("device: %s (no device claimed)", device)
        return None
    claim = claim_device()
    log.info("device claimed: %s (pool: %s)", claim.device, ",".join(claim.pool) or "none")
    return claim
