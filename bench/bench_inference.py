"""How fast tickets run: LXMERT-base answering questions, dense against its subnetworks,
side by side in one run (random weights serve for timing).

    python bench/bench_inference.py [--family lxmert] [--repeats 3] [--threads N]

On the CPU, for batches of 1 and of 32 questions (20 word pieces, 36 regions): the
latency per batch and the questions per second of

- the dense network;
- a 50 % unstructured ticket, masked (its zeros are still multiplied: the paper's tickets);
- ``heads_neurons`` tickets at 30, 50 and 70 %, their pruned heads and neurons removed for
  real (``lxmert_lth.pruning.shrink``), ranked by mean magnitude as the study ranks them;

and, only where a CUDA GPU of compute capability 8.0 or more is, the dense network and a
2:4 ticket through ``torch.sparse.to_sparse_semi_structured`` in bf16. Each as a ratio to
dense, measured in this run (the median of ``--repeats`` timed passes after a warm-up,
with ``lxmert_lth.reporting.timing.steady_timing`` as the workflow's rule ticket_speed times).
Target on the CPU: the 50 % heads_neurons ticket at least 1.6x the dense throughput.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from lxmert_lth.models import families
from lxmert_lth.pruning.enforcement import prunable_parameter_names
from lxmert_lth.pruning.groups import n_of_m_mask
from lxmert_lth.pruning.shrink import kept_indices, shrink
from lxmert_lth.pruning.structures import heads_neurons_mask
from lxmert_lth.reporting.timing import steady_timing
from lxmert_lth.training.inference import answer_logits

TARGET = 1.6
WORDS, REGIONS = 20, 36


def base_model(family, answers: int = 3129):
    torch.manual_seed(0)
    model = family.qa_class()(family.base_config(answers))
    return model.eval()


def batch(n: int, family, model, device="cpu") -> dict:
    g = torch.Generator().manual_seed(0)
    dim = getattr(model.config, "visual_feat_dim", None) or getattr(
        model.config, "visual_embedding_dim", 2048
    )
    inputs = {
        "input_ids": torch.randint(1000, 2000, (n, WORDS), generator=g),
        "attention_mask": torch.ones(n, WORDS, dtype=torch.long),
        "token_type_ids": torch.zeros(n, WORDS, dtype=torch.long),
        "visual_feats": torch.rand(n, REGIONS, dim, generator=g),
        "visual_pos": torch.rand(n, REGIONS, 4, generator=g),
        "pixel_values": torch.rand(n, 3, 384, 512, generator=g) * 2 - 1,
        "pixel_mask": torch.ones(n, 384, 512, dtype=torch.long),
    }
    return {k: v.to(device) for k, v in inputs.items()}


@torch.inference_mode()
@steady_timing()
def seconds_per_batch(model, inputs: dict, repeats: int) -> float:
    answer_logits(model, inputs)  # warm-up
    times = []
    for _ in range(repeats):
        if next(model.parameters()).is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        answer_logits(model, inputs)
        if next(model.parameters()).is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prunable_state(model, family) -> tuple[dict, dict]:
    names = prunable_parameter_names(model, family.prunable_modules)
    state = {n: model.get_parameter(n).detach().numpy() for n in names}
    return state, {n: v.shape for n, v in state.items()}


def masked(model, keep: dict[str, np.ndarray]):
    with torch.no_grad():
        for name, k in keep.items():
            model.get_parameter(name).mul_(torch.from_numpy(k))
    return model


def cpu_rows(family, repeats: int) -> list[tuple[str, dict]]:
    from lxmert_lth.core.masks import Mask
    from lxmert_lth.pruning.single_weights import prune_lowest_magnitude

    rows = []
    dense = base_model(family)
    state, shapes = prunable_state(dense, family)
    rows.append(("dense", dense))
    unstructured = prune_lowest_magnitude(state, Mask.ones(shapes), 50)
    rows.append(("unstructured 50 %, masked", masked(base_model(family), unstructured.tensors)))
    heads = dense.config.num_attention_heads
    for sparsity in (30, 50, 70):
        mask = heads_neurons_mask(state, shapes, family, heads, sparsity)
        model = masked(base_model(family), mask.tensors)
        shrink(model, kept_indices(model, mask))
        rows.append((f"heads_neurons {sparsity} %, removed", model))
    results = []
    for label, model in rows:
        timing = {}
        for n in (1, 32):
            inputs = batch(n, family, model)
            timing[n] = seconds_per_batch(model, inputs, repeats)
        params = sum(p.numel() for p in model.parameters())
        results.append((label, {"params": params, **timing}))
        print(f"  measured: {label}", flush=True)
    return results


def gpu_rows(family, repeats: int) -> list[tuple[str, dict]]:
    if not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0):
        return []
    from torch.sparse import to_sparse_semi_structured

    dense = base_model(family).to("cuda", torch.bfloat16)
    sparse = base_model(family).to("cuda", torch.bfloat16)
    state, shapes = prunable_state(base_model(family), family)
    mask = n_of_m_mask(state, shapes, 2, 4)
    with torch.no_grad():
        for name, keep in mask.tensors.items():
            module = sparse.get_submodule(name.removesuffix(".weight"))
            weight = module.weight * torch.from_numpy(keep).to("cuda", torch.bfloat16)
            module.weight = torch.nn.Parameter(to_sparse_semi_structured(weight))
    out = []
    for label, model in (("dense bf16 (GPU)", dense), ("2:4 bf16, semi-structured (GPU)", sparse)):
        timing = {}
        for n in (1, 32):
            inputs = batch(n, family, model, "cuda")
            inputs = {k: v.bfloat16() if v.is_floating_point() else v for k, v in inputs.items()}
            timing[n] = seconds_per_batch(model, inputs, repeats)
        out.append((label, {"params": sum(p.numel() for p in model.parameters()), **timing}))
    return out


def table(rows: list[tuple[str, dict]]) -> list[str]:
    base = rows[0][1]
    lines = [
        f"  {'network':38s} {'params':>12s} {'1 q: ms':>9s} {'x':>6s} {'32 q: q/s':>10s} {'x':>6s}"
    ]
    for label, r in rows:
        lines.append(
            f"  {label:38s} {r['params']:12,d} {1000 * r[1]:9.1f} {base[1] / r[1]:6.2f} "
            f"{32 / r[32]:10.1f} {base[32] / r[32]:6.2f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(families.FAMILIES), default="lxmert")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    family = families.get(args.family)
    print(f"{family.label}-base, {torch.get_num_threads()} CPU threads; ratios to dense")
    cpu = cpu_rows(family, args.repeats)
    print("\n".join(["CPU, fp32:", *table(cpu)]))
    gpu = gpu_rows(family, args.repeats)
    if gpu:
        print("\n".join(["GPU:", *table(gpu)]))
    else:
        print("GPU: none of compute capability 8.0 or more here (2:4 not measured)")
    ratio = cpu[0][1][32] / dict(cpu)["heads_neurons 50 %, removed"][32]
    print(f"heads_neurons 50 %: {ratio:.2f}x the dense throughput (target >= {TARGET})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
