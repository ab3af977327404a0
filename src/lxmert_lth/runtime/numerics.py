"""What decides a job's digits, fixed before torch loads, and recorded.

On the CPU the same code on the same inputs gives different floating-point results on
different processors: PyTorch picks its vector kernels by the processor's instruction set
(AVX2 or AVX-512, ATen's "CPU capability"), MKL picks its GEMM kernels by processor and
vendor, oneDNN compiles its kernels for the instruction set it finds, and NumPy
dispatches its loops (``exp`` among them) the same way. Sums are then grouped and fused
differently, and the digits differ: on an AMD EPYC with AVX-512, forcing ATen's AVX2
kernels alone changes 17 of the test configuration's 109 outputs, pinning MKL's path
as well changes 17 again, and NumPy's float32 ``exp`` differs in the last bit between
its AVX2 and AVX-512 loops.

``portable`` (``execution.cpu_numerics``, the default) pins all of them before NumPy or
torch is imported, to choices every x86-64 processor with AVX2 and FMA has, Intel and AMD
alike (Intel Haswell, AMD Zen and later): ATen's AVX2 kernels, MKL's conditional
numerical reproducibility on its ``COMPATIBLE`` code path (SSE2; the oneMKL developer
guide, "Getting Started with Conditional Numerical Reproducibility", says its AVX2 branch
falls back to the processor's own dispatch on non-Intel CPUs, so only COMPATIBLE is one
path on Intel and AMD alike), oneDNN capped at AVX2, NumPy's dispatch limited to AVX2 and
below, and OpenBLAS's Haswell kernels. One operation stays the processor's even so: MKL's
vector square root, which is not correctly rounded and whose digits differ between
processors on every MKL branch; the workflow takes its square roots with :func:`sqrt`
instead (the optimizer's, ``lxmert_lth.training.optim``: the only one on the path). With the
thread counts fixed (``execution.*_threads``), the outputs are then the same on every such
machine (``tools/numerics_probe.py`` checks it against emulated processors). ``native``
leaves the libraries to choose, for speed; its outputs follow the processor. Elsewhere
than x86-64 (Apple silicon, ARM servers) the pins do not apply and the record says so.

On CUDA ``execution.deterministic`` asks for deterministic algorithms, a fixed cuBLAS
workspace (``CUBLAS_WORKSPACE_CONFIG``, read when CUDA starts) and no cuDNN autotuning,
so that two runs on the same GPU model and software give the same outputs.

Environment variables only work if set before the libraries read them: the job harness
calls :func:`pin_before_torch` at import, before it or any stage module imports NumPy or
torch.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from lxmert_lth.core.schema import PROJECT
from lxmert_lth.runtime.devices import choose_device

MODES = ("portable", "native")
PORTABLE_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # NumPy's x86-64 baseline (SSE to SSE4.2, POPCNT) and the AVX2 generation.
    "NPY_ENABLE_CPU_FEATURES": "SSE SSE2 SSE3 SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2",
    # NumPy's OpenBLAS picks its GEMM kernel by processor (an emulated AMD EPYC and an
    # Intel Xeon multiply float32 and float64 matrices to other digits): Haswell's AVX2.
    "OPENBLAS_CORETYPE": "Haswell",
}
CUBLAS_WORKSPACE = {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
RECORDED_ENV = (*PORTABLE_ENV, *CUBLAS_WORKSPACE, "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "safetensors", "h5py", "snakemake")


class TooLate(RuntimeError):
    """NumPy or torch was imported before the numerics were pinned."""


def pin_before_torch(cpu_numerics: str, deterministic: bool) -> dict[str, str]:
    """Set the environment that fixes the numerics; returns what was set. Refuses when
    NumPy or torch is already imported (the settings would silently not apply)."""
    if cpu_numerics not in MODES:
        raise ValueError(f"execution.cpu_numerics {cpu_numerics!r}: expected one of {MODES}")
    wanted = {}
    if cpu_numerics == "portable" and is_x86_64():
        wanted |= PORTABLE_ENV
    if deterministic:
        wanted |= CUBLAS_WORKSPACE
    loaded = [m for m in ("numpy", "torch") if m in sys.modules]
    changed = [k for k, v in wanted.items() if os.environ.get(k) != v]
    if loaded and changed:
        raise TooLate(f"{loaded[0]} is already imported: {changed[0]} would not take effect")
    os.environ.update(wanted)
    return wanted


def sqrt(t):
    """The square root of a tensor, correctly rounded as IEEE 754 requires, on every
    processor: the one elementwise operation of training whose digits the pins cannot fix.

    On the CPU, ``torch.sqrt`` (and ``pow(0.5)``) of a float tensor runs through MKL's
    vector math library, whose results are not correctly rounded and differ between
    processors even on MKL's ``COMPATIBLE`` path (of 2,000,000 float32 square roots, 306,216
    were off on an Intel Xeon; emulated processors gave other digits). NumPy's square
    root is the processor's own ``sqrt`` instruction, which IEEE 754 makes exact on every
    processor, Intel or AMD, so the CPU path takes it, into a new tensor. Half-precision
    tensors go through float32: rounding a correctly rounded float32 square root to
    float16 or bfloat16 is again correctly rounded (24 >= 2 x 11 + 2 bits). On a GPU,
    ``torch.sqrt`` is correctly rounded already (CUDA's default ``-prec-sqrt=true``).
    """
    if t.device.type != "cpu" or not t.is_floating_point():
        return t.sqrt()
    if t.element_size() < 4:  # float16, bfloat16
        return sqrt(t.float()).to(t.dtype)
    import numpy as np  # here: the module is read before NumPy may load (pin_before_torch)

    out = t.new_empty(t.shape)
    with np.errstate(invalid="ignore"):  # a negative input gives NaN, as torch.sqrt
        np.sqrt(t.detach().contiguous().numpy(), out=out.numpy())
    return out


def is_x86_64() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def configure_torch(deterministic: bool) -> None:
    """The torch side of ``execution.deterministic`` (the CPU is deterministic for a
    fixed thread count either way). An operation with no deterministic version warns
    instead of stopping a fine-tune of hours."""
    if "torch" not in sys.modules:
        return  # a job without torch has nothing to configure
    import torch

    # torch.use_deterministic_algorithms sets this flag and also inductor's, importing
    # torch's compiler to do so (about 1.5 s of every job's start): the workflow compiles
    # nothing, so the flag alone is the whole of it here.
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None:  # a torch without it: the public call
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
    else:
        set_flag(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def processor() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The processor, its count of CPUs and the operating system, as benchmarks record it."""
    return f"{processor()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def commit() -> str | None:
    """The workflow's git commit, with ``+dirty`` when the tree has changes."""
    root = PROJECT
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


def record(cpu_numerics: str, deterministic: bool, device: str | None = None) -> dict:
    """Everything that decides this process's digits: commit, package versions, machine,
    numerics mode and the environment behind it, threads, device (on CUDA the GPU and the
    CUDA and cuDNN versions). Only what the process has loaded is asked: a NumPy-only
    job does not import torch for its record."""
    out = {
        "commit": commit(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "machine": platform.machine(),
        "processor": processor(),
        "cpu_numerics": cpu_numerics if is_x86_64() else f"{cpu_numerics} (not x86-64: unpinned)",
        "environment": {k: os.environ.get(k) for k in RECORDED_ENV},
        "deterministic": deterministic,
    }
    if "torch" in sys.modules:
        import torch

        out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_threads"] = torch.get_num_threads()
        out["device"] = str(choose_device(device or "auto"))
        if torch.cuda.is_available():
            out["cuda"] = {
                "gpu": torch.cuda.get_device_name(0),
                "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
                "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(),
            }
    return out


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Where two records differ, one line per field (nested fields dotted)."""
    lines = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            lines += differences(x, y, f"{prefix}{key}.")
        elif x != y:
            lines.append(f"{prefix}{key}: {x!r} != {y!r}")
    return lines
