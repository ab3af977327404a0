"""The mask maths at LXMERT-base's size, beside torch.nn.utils.prune, in one run.

    python bench/bench_masks.py [--workdir DIR]

Writes LXMERT-base's prunable weights (182,255,616 under the default pattern, random
normal, fp32: 729 MB) as a safetensors file, then measures, each in a fresh process:

* ``low 10 %``: the workflow's first IMP level (``single_weights.prune_lowest_magnitude`` over the
  lazily read file, global ranking) and writing the bit-packed mask;
* ``low 20 %``: the next level, on top of the 10 % mask;
* ``random 50 %``: ``single_weights.random_mask`` over the same shapes;
* ``torch prune 10 %``: ``torch.nn.utils.prune.global_unstructured`` (L1) on the same
  weights held as parameters, which is what a user would reach for.

For each: seconds, and peak resident memory above the process's own baseline (after its
imports; for torch after the weights are loaded, so its figure is *above the model*), in
MB and in units of one fp32 LXMERT-base checkpoint (856 MB). Target: ours at most 2.5x.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKPOINT_MB = 213_930_297 * 4 / 2**20  # LXMERT-base, fp32
PATTERN = r"^lxmert\.(encoder\.(layer|r_layers|x_layers)\.|pooler\.)"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_weights(path: Path) -> int:
    """LXMERT-base's prunable Linear weights (shapes from a model on the meta device)."""
    import numpy as np
    import torch
    from transformers import LxmertConfig, LxmertForQuestionAnswering

    from lxmert_lth.core.io import save_tensors
    from lxmert_lth.pruning.enforcement import prunable_parameter_names

    with torch.device("meta"):
        model = LxmertForQuestionAnswering(LxmertConfig(num_qa_labels=3129))
    names = prunable_parameter_names(model, PATTERN)
    params = dict(model.named_parameters())
    rng = np.random.default_rng(0)
    weights = {
        n: rng.standard_normal(tuple(params[n].shape), dtype=np.float32) * 0.02 for n in names
    }
    save_tensors(path, weights)
    return sum(w.size for w in weights.values())


def child(task: str, weights: str, workdir: str) -> dict:
    """One measurement, in this (fresh) process."""
    if task == "torch":
        import torch
        from torch import nn
        from torch.nn.utils import prune

        from lxmert_lth.core.io import load_tensors

        tensors, _ = load_tensors(weights)
        modules = [nn.Module() for _ in tensors]
        for module, tensor in zip(modules, tensors.values(), strict=True):
            module.weight = nn.Parameter(tensor)
        base = rss_mb()
        start = time.perf_counter()
        prune.global_unstructured(
            [(m, "weight") for m in modules], pruning_method=prune.L1Unstructured, amount=0.1
        )
        seconds = time.perf_counter() - start
        pruned = sum(int((m.weight_mask == 0).sum()) for m in modules)
        del torch
        return {"seconds": seconds, "above_mb": peak_mb() - base, "pruned": pruned}

    from lxmert_lth.core.io import TensorFile
    from lxmert_lth.core.masks import Mask, num_to_prune
    from lxmert_lth.pruning import single_weights

    base = rss_mb()
    start = time.perf_counter()
    trained = TensorFile(weights)
    if task == "low10":
        mask = single_weights.prune_lowest_magnitude(trained, Mask.ones(trained.shapes), 10)
        mask.save(Path(workdir) / "low10.safetensors")
    elif task == "low20":
        previous, _ = Mask.load(Path(workdir) / "low10.safetensors")
        mask = single_weights.prune_lowest_magnitude(trained, previous, 20)
        mask.save(Path(workdir) / "low20.safetensors")
    elif task == "random50":
        total = sum(s[0] * s[1] for s in trained.shapes.values())
        mask = single_weights.random_mask(trained.shapes, num_to_prune(total, 50), seed=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "above_mb": peak_mb() - base, "pruned": mask.num_pruned}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("TASK", "WEIGHTS", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-masks-"))
    workdir.mkdir(parents=True, exist_ok=True)
    weights = workdir / "prunable.safetensors"
    total = write_weights(weights)
    print(f"{total:,} prunable weights ({total * 4 / 2**20:.0f} MB fp32) in {weights}")
    print(f"{'':18s} {'seconds':>8s} {'peak MB':>8s} {'x ckpt':>7s}  pruned")
    rows = {}
    for task, label in [
        ("low10", "low 10 % (ours)"),
        ("low20", "low 20 % (ours)"),
        ("random50", "random 50 % (ours)"),
        ("torch", "torch prune 10 %"),
    ]:
        cmd = [sys.executable, __file__, "--child", task, str(weights), str(workdir)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        row = rows[task] = json.loads(out.strip().splitlines()[-1])
        ratio = row["above_mb"] / CHECKPOINT_MB
        print(
            f"{label:18s} {row['seconds']:8.1f} {row['above_mb']:8.0f} {ratio:7.2f}  "
            f"{row['pruned']:,}"
        )
    mask_mb = (workdir / "low10.safetensors").stat().st_size / 2**20
    print(f"bit-packed mask file: {mask_mb:.1f} MB")
    ours, peer = rows["low10"], rows["torch"]
    print(
        f"low 10 % against torch prune: {peer['seconds'] / ours['seconds']:.1f}x faster, "
        f"{peer['above_mb'] / ours['above_mb']:.1f}x less memory"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
