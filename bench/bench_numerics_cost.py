"""What portable CPU numerics cost at LXMERT-base's size: one fine-tuning step, both ways.

    python bench/bench_numerics_cost.py [--threads 2] [--steps 3] [--batch 32]

Runs, in two fresh processes (the numerics are pinned before torch loads), the fine-tune's
step of an LXMERT-base with random weights (768 hidden, 9/5/5 layers, 3,129 answers:
214M parameters) on a batch of VQA-v2-shaped questions (20 word pieces, 36 regions of
2,048 features): forward, the QA loss, backward, gradient clipping and the workflow's
AdamW (``lxmert_lth.training.optim``). Prints each mode's median seconds a step after one untimed
step, and the ratio portable / native measured in this one run. For the embedded
default's whole DAG both ways, see docs/performance.md (bench/bench_embedded.py with
``execution.cpu_numerics: native``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def child(mode: str, threads: int, steps: int, batch: int) -> dict:
    from lxmert_lth.runtime.numerics import pin_before_torch, processor

    pin_before_torch(mode, deterministic=True)
    import torch
    from transformers import LxmertConfig, LxmertForQuestionAnswering

    from lxmert_lth.models.losses import qa_loss
    from lxmert_lth.training.optim import adamw, clip_gradients

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = LxmertForQuestionAnswering(LxmertConfig(num_qa_labels=3129))
    optimizer = adamw(model, 5e-5, 0.01)
    g = torch.Generator().manual_seed(0)
    inputs = {
        "input_ids": torch.randint(1000, 30000, (batch, 20), generator=g),
        "attention_mask": torch.ones(batch, 20, dtype=torch.long),
        "token_type_ids": torch.zeros(batch, 20, dtype=torch.long),
        "visual_feats": torch.rand(batch, 36, 2048, generator=g),
        "visual_pos": torch.rand(batch, 36, 4, generator=g),
    }
    labels = {"label_idx": torch.randint(0, 3129, (batch, 4), generator=g),
              "label_score": torch.rand(batch, 4, generator=g)}  # fmt: skip
    model.train()
    times, opt_times = [], []
    for _ in range(steps + 1):
        start = time.perf_counter()
        loss = qa_loss(model(**inputs).question_answering_score, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients(model, 5.0)
        mid = time.perf_counter()
        optimizer.step()
        end = time.perf_counter()
        times.append(end - start)
        opt_times.append(end - mid)
    return {"mode": mode, "processor": processor(), "threads": threads,
            "parameters": sum(p.numel() for p in model.parameters()),
            "step_s": statistics.median(times[1:]),
            "optimizer_s": statistics.median(opt_times[1:])}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--child", choices=["portable", "native"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads, args.steps, args.batch)))
        return
    found = {}
    for mode in ("native", "portable"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--threads", str(args.threads),
             "--steps", str(args.steps), "--batch", str(args.batch)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        found[mode] = json.loads(out.strip().splitlines()[-1])
        r = found[mode]
        print(f"{mode:9s} {r['step_s']:7.2f} s a step of {args.batch} questions "
              f"(optimizer {r['optimizer_s']:.2f} s), {r['parameters'] / 1e6:.0f}M parameters, "
              f"{r['threads']} threads, {r['processor']}")  # fmt: skip
    ratio = found["portable"]["step_s"] / found["native"]["step_s"]
    print(f"portable / native step time: {ratio:.2f}")


if __name__ == "__main__":
    main()
