"""Operations that have no deterministic implementation on a GPU, and catching them.

``execution.deterministic`` turns on torch's deterministic algorithms with
``warn_only=True``: an operation that has none warns and goes on, so a GPU run could lose
the project's "same digits" promise with one warning in a log nobody reads. Two guards:

- ``RAISING`` maps each operation that torch 2.13's ``use_deterministic_algorithms``
  documentation lists as raising under deterministic mode to the ATen operations by which
  it reaches a device. The suite traces every ATen operation of every job's path on the
  CPU (``tools/numerics_probe.py --trace``) and fails if one of them appears; it also
  fails when the pinned torch documents an operation this table does not map.
- ``alerts()`` collects, while a job runs, every warning torch gives for such an
  operation: the harness writes them into the job's record, and the run's summary names
  the jobs (docs/running.md, "Determinism on a GPU").
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

# Documented entry -> the ATen operations it names (forward or backward). From the
# list after "will throw a RuntimeError when mode=True" of torch 2.13's docstring; the
# CUDA kernels raise through alertNotDeterministic (NLLLoss: the spatial nll_loss2d only,
# whose CUDA kernel alerts; the (N, C) nll_loss's kernel does not).
RAISING = {
    "torch.nn.AvgPool3d": ("avg_pool3d_backward",),
    "torch.nn.AdaptiveAvgPool2d": ("_adaptive_avg_pool2d_backward",),
    "torch.nn.AdaptiveAvgPool3d": ("_adaptive_avg_pool3d_backward",),
    "torch.nn.AdaptiveMaxPool2d": ("adaptive_max_pool2d_backward",),
    "torch.nn.FractionalMaxPool2d": ("fractional_max_pool2d_backward",),
    "torch.nn.FractionalMaxPool3d": ("fractional_max_pool3d_backward",),
    "torch.nn.MaxUnpool1d": ("max_unpool2d",),
    "torch.nn.MaxUnpool2d": ("max_unpool2d",),
    "torch.nn.MaxUnpool3d": ("max_unpool3d",),
    "torch.nn.functional.interpolate": (
        "upsample_linear1d_backward",
        "upsample_bilinear2d_backward",
        "upsample_bicubic2d_backward",
        "upsample_trilinear3d_backward",
        "_upsample_bilinear2d_aa_backward",
        "_upsample_bicubic2d_aa_backward",
    ),  # fmt: skip
    "torch.nn.ReflectionPad1d": ("reflection_pad1d_backward",),
    "torch.nn.ReflectionPad2d": ("reflection_pad2d_backward",),
    "torch.nn.ReflectionPad3d": ("reflection_pad3d_backward",),
    "torch.nn.NLLLoss": ("nll_loss2d_forward",),
    "torch.nn.CTCLoss": ("_ctc_loss_backward",),
    "torch.nn.EmbeddingBag": ("_embedding_bag_backward", "_embedding_bag_dense_backward"),
    "torch.Tensor.put_": ("put_", "put"),
    "torch.histc": ("histc",),
    "torch.bincount": ("bincount",),
    "torch.median": ("median.dim", "nanmedian.dim"),
    "torch.nn.functional.grid_sample": ("grid_sampler_2d_backward", "grid_sampler_3d_backward"),
    "torch.cumsum": ("cumsum", "cumsum_"),
    "torch.Tensor.scatter_reduce": ("scatter_reduce.two", "scatter_reduce_.two"),
    "torch.Tensor.resize_": ("resize_",),  # quantized tensors only; none on the path
}
# Documented operations on the workflow's path, each with why it stands (docs/running.md,
# "Determinism on a GPU"): the suite fails for any other.
ON_PATH = {
    "scatter_reduce_.two": "the image tags of ViLT's pre-training (lxmert_lth.data.loaders) "
    "take reduce='amax', exact in any order; the documented entry is reduce='prod'",
    "upsample_bilinear2d_backward.default": "ViLT's position embeddings, interpolated to "
    "each image's patch grid (transformers' ViltEmbeddings); exact when the grid is the "
    "embeddings' own (the embedded ViLT), else its gradient's sums may round differently "
    "from run to run on a GPU, and the run's summary names the jobs",
}
ALERT = "does not have a deterministic implementation"
RECORD_KEY = "nondeterministic_operations"  # in a job's record, when any ran
_ENTRY = re.compile(r"\* :(?:class|func):`([\w.]+)`")


def documented_raising(doc: str) -> list[str]:
    """The operations a ``use_deterministic_algorithms`` docstring lists as raising."""
    start = doc.index("operations will throw a")
    end = doc.index("In addition", start)
    return list(dict.fromkeys(_ENTRY.findall(doc[start:end])))


def raising_on_path(ops: Iterable[str]) -> dict[str, list[str]]:
    """Documented entry -> the traced ATen operations (``aten.name.overload``) of it."""
    found: dict[str, list[str]] = {}
    names = {op.removeprefix("aten.") for op in ops}
    for entry, aten in RAISING.items():
        hits = sorted(n for n in names for a in aten if n == a or n.startswith(f"{a}."))
        if hits:
            found[entry] = hits
    return found


@contextlib.contextmanager
def alerts() -> Iterator[list[str]]:
    """The messages of torch's warnings about operations without a deterministic
    implementation given while the block runs, each once (and shown once); other warnings
    are shown as always."""
    found: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        show = warnings.showwarning

        def collect(message, category, filename, lineno, file=None, line=None):
            text = str(message)
            if ALERT in text:
                if text in found:  # once per job, not once per training step
                    return
                found.append(text)
            show(message, category, filename, lineno, file, line)

        warnings.showwarning = collect
        yield found


def summary(records: Path) -> list[str]:
    """The run's summary of such operations: a line per job whose record names one."""
    lines = []
    for path in sorted(Path(records).rglob("*.json")):
        met = json.loads(path.read_text()).get(RECORD_KEY)
        if met:
            lines.append(f"{path}: {len(met)} operation(s) without a deterministic "
                         f"implementation ran (the digits may differ from run to run): "
                         f"{'; '.join(m.split(' does not')[0] for m in met)}")  # fmt: skip
    return lines
