"""The device check: one command, at most 8 minutes, of what only a GPU can show.

    python bench/gpu_check.py [--out gpu_check.json] [--small]

1. the device tests (``tests/test_devices.py``, CUDA cases included where CUDA is);
2. a paper-size fine-tune step loop on random LXMERT-base weights (9/5/5 layers,
   hidden 768, 3,129 answers, batch 32, 20 word pieces, 36 x 2048 features) in bf16
   autocast and in fp32 with TF32: samples/s after warm-up and peak GPU memory;
3. the lazy loader (``lxmert_lth.data.loaders.batches`` over an HDF5 file of 36 x 2048 float16
   features) with 4, 8 and 16 workers: samples/s, and the same batches from each;
4. two short deterministic runs (``execution.deterministic``) from the same seed:
   bitwise the same weights or not, and what deterministic algorithms cost against
   a run without them;
5. a 2:4 ticket against the dense network at LXMERT-base's size in bf16, through
   ``torch.sparse.to_sparse_semi_structured`` (``bench/bench_inference.py``'s GPU rows):
   latency of 1 question and of 32, and the speed-ups, where the GPU has compute
   capability 8.0 or more.

Without CUDA it says so and runs the same checks at a small size on the CPU (the suite
runs it that way, ``--small``). Prints a summary and writes it as JSON to ``--out``.
"""

# The numerics are pinned before NumPy or torch loads (lxmert_lth.runtime.numerics).
from lxmert_lth.runtime import numerics

numerics.pin_before_torch("native", deterministic=True)

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import bench_loader  # noqa: E402  (beside this script)
import torch  # noqa: E402
from transformers import LxmertConfig, LxmertForQuestionAnswering  # noqa: E402

from lxmert_lth.data.features import FeatureStore  # noqa: E402
from lxmert_lth.models import families  # noqa: E402
from lxmert_lth.models.losses import qa_loss  # noqa: E402
from lxmert_lth.runtime.devices import autocast, configure_cuda  # noqa: E402
from lxmert_lth.training.optim import bert_adam, clip_gradients  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# (paper size on CUDA, small size on the CPU)
SIZES = {
    "paper": {"hidden": 768, "heads": 12, "inter": 3072, "layers": (9, 5, 5), "answers": 3129,
              "dim": 2048, "regions": 36, "batch": 32, "seq": 20, "vocab": 30522,
              "steps": 40, "warmup": 10, "images": 2000, "workers": [4, 8, 16],
              "loader_batches": 300, "det_steps": 20},
    "small": {"hidden": 64, "heads": 4, "inter": 256, "layers": (2, 1, 2), "answers": 13,
              "dim": 64, "regions": 4, "batch": 16, "seq": 12, "vocab": 200,
              "steps": 6, "warmup": 2, "images": 64, "workers": [0, 1, 2],
              "loader_batches": 20, "det_steps": 4},
}  # fmt: skip


def model_config(size: dict) -> LxmertConfig:
    l_layers, r_layers, x_layers = size["layers"]
    return LxmertConfig(
        vocab_size=size["vocab"], hidden_size=size["hidden"],
        num_attention_heads=size["heads"], intermediate_size=size["inter"],
        l_layers=l_layers, r_layers=r_layers, x_layers=x_layers,
        visual_feat_dim=size["dim"], num_qa_labels=size["answers"],
        task_obj_predict=False, visual_obj_loss=False, visual_attr_loss=False,
        visual_feat_loss=False,
    )  # fmt: skip


def random_batches(size: dict, device, count: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    b, seq = size["batch"], size["seq"]
    out = []
    for _ in range(count):
        batch = {
            "input_ids": torch.randint(5, size["vocab"], (b, seq), generator=g),
            "attention_mask": torch.ones(b, seq, dtype=torch.long),
            "token_type_ids": torch.zeros(b, seq, dtype=torch.long),
            "visual_feats": torch.rand(b, size["regions"], size["dim"], generator=g),
            "visual_pos": torch.rand(b, size["regions"], 4, generator=g),
            "label_idx": torch.randint(0, size["answers"], (b, 1), generator=g),
            "label_score": torch.ones(b, 1),
        }
        out.append({k: v.to(device) for k, v in batch.items()})
    return out


def train_steps(model, data, device, precision: str) -> float:
    """The fine-tune's step (forward, loss, backward, clipping, BertAdam): seconds."""
    optimizer = bert_adam(model.parameters(), lr=5e-5, weight_decay=0.01)
    model.train()
    start = time.perf_counter()
    for batch in data:
        with autocast(device, precision):
            logits = families.of_model(model).logits(
                model(**families.of_model(model).inputs(batch))
            )
        loss = qa_loss(logits.float(), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients(model, 5.0)
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def throughput(size: dict, device) -> dict:
    """Samples/s and peak memory of the step loop, bf16 and fp32 + TF32 (fp32 alone on
    the CPU, where neither applies)."""
    modes = [("bf16", False), ("fp32", True)] if device.type == "cuda" else [("fp32", False)]
    out = {}
    for precision, tf32 in modes:
        precision = configure_cuda(device, precision, tf32)
        torch.manual_seed(0)
        model = LxmertForQuestionAnswering(model_config(size)).to(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        train_steps(model, random_batches(size, device, size["warmup"]), device, precision)
        seconds = train_steps(model, random_batches(size, device, size["steps"], 1), device,
                              precision)  # fmt: skip
        label = f"{precision}{' + TF32' if tf32 else ''}"
        out[label] = {
            "samples_per_s": round(size["steps"] * size["batch"] / seconds, 1),
            "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20)
            if device.type == "cuda"
            else None,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    configure_cuda(device, "fp32", False)
    return out


def loader(size: dict) -> dict:
    """The lazy loader at the size's features, by worker count (float16 in HDF5)."""
    bench_loader.REGIONS, bench_loader.DIM = size["regions"], size["dim"]
    out = {}
    with tempfile.TemporaryDirectory(prefix="lxmert-lth-gpu-check-") as tmp:
        path = Path(tmp) / "regions.h5"
        bench_loader.write_features(path, size["images"])
        path.read_bytes()
        store = FeatureStore(path)
        reference = None
        for workers in size["workers"]:
            rate, worker_mb, digest = bench_loader.measure(store, workers, size["loader_batches"])
            reference = reference or digest
            out[str(workers)] = {
                "samples_per_s": round(rate),
                "worker_peak_mb": round(worker_mb),
                "same_batches": digest == reference,
            }
    return out


def deterministic_runs(size: dict, device) -> dict:
    """Two runs from the same seed with deterministic algorithms (bitwise equal?), and
    the time of one without them."""

    def run(deterministic: bool):
        numerics.configure_torch(deterministic)
        torch.manual_seed(0)
        model = LxmertForQuestionAnswering(model_config(size)).to(device)
        data = random_batches(size, device, size["det_steps"], 2)
        seconds = train_steps(model, data, device, "fp32")
        return [p.detach().cpu() for p in model.parameters()], seconds

    first, t_det = run(True)
    second, _ = run(True)
    _, t_free = run(False)
    numerics.configure_torch(True)
    same = all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    return {
        "bitwise_same": same,
        "seconds_deterministic": round(t_det, 3),
        "seconds_free": round(t_free, 3),
        "cost_ratio": round(t_det / t_free, 3),
    }


def semi_structured() -> dict:
    """2:4 against dense (bench_inference.gpu_rows), or why it was not measured."""
    from bench_inference import gpu_rows

    try:
        rows = gpu_rows(families.get("lxmert"), repeats=5)
    except (RuntimeError, ValueError) as err:  # a shape or dtype the kernels refuse
        return {"measured": False, "why": f"{type(err).__name__}: {err}"}
    if not rows:
        return {"measured": False, "why": "no CUDA GPU of compute capability 8.0 or more"}
    (_, dense), (_, sparse) = rows
    return {
        "measured": True,
        "dense_ms": {n: round(1000 * dense[n], 2) for n in (1, 32)},
        "two_of_four_ms": {n: round(1000 * sparse[n], 2) for n in (1, 32)},
        "speedup": {n: round(dense[n] / sparse[n], 3) for n in (1, 32)},
    }


def device_tests() -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(ROOT / "tests" / "test_devices.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return {"passed": proc.returncode == 0, "summary": last}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--small", action="store_true", help="the small size, even on CUDA")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the device tests")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    size_name = "paper" if cuda and not args.small else "small"
    size = SIZES[size_name]
    if not cuda:
        print("no CUDA device: the checks run at a small size on the CPU")
    report = {
        "size": size_name,
        "record": numerics.record("native", True, str(device)),
        "device_tests": None if args.skip_tests else device_tests(),
    }
    for name, check in (
        ("throughput", lambda: throughput(size, device)),
        ("loader", lambda: loader(size)),
        ("deterministic", lambda: deterministic_runs(size, device)),
        ("semi_structured", semi_structured),
    ):
        start = time.perf_counter()
        report[name] = check()
        print(f"{name} ({time.perf_counter() - start:.0f} s): {json.dumps(report[name])}")
    if report["device_tests"]:
        print(f"device tests: {report['device_tests']['summary']}")
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {args.out}")
    ok = report["deterministic"]["bitwise_same"] and all(
        w["same_batches"] for w in report["loader"].values()
    )
    ok = ok and (report["device_tests"] is None or report["device_tests"]["passed"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
