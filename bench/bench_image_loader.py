"""Images per second of the lazy image loader at ViLT-B/32's size, by worker count, beside
what a GPU fine-tuning ViLT-B/32 consumes.

    python bench/bench_image_loader.py [--images 240] [--workers 1 2 4] [--batches 30]

Writes ``--images`` COCO-sized JPEG files (640 x 480, quality 90, smooth colour fields
with noise, about the bytes of a COCO photograph), indexes them as rule ``index_images``
does, and draws shuffled batches of 32 questions through ``lxmert_lth.data.loaders.batches`` in
lazy mode: each batch's images decoded, resized to 384 x 512 and normalised by the loader's
workers, as in a ViLT fine-tune on VQA v2 (its questions' images are read again for every
question: 5.4 questions per image, in shuffled order). The files are read once first, so
they are in the page cache (decoding, not the disk, is measured). Checks that every
worker count gives the same batches in the same order.

The GPU's appetite is estimated, not measured (no GPU here): a training sample costs
about 6 x 85.5M prunable weights x 233 positions (40 word pieces, [CLS] and 12 x 16 patches)
= 1.2e11 FLOP; at a model-FLOPs utilisation of 40 % of a bf16 dense peak (A100 312, H100
and H200 989 TFLOP/s) a GPU trains about 1,000 or 3,300 samples a second, each with its own
image. The workers needed per GPU follow.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lxmert_lth.data.images import ImageStore, Processing, write_index
from lxmert_lth.data.loaders import EncodedSplit, batches

BATCH = 32
QUESTIONS_PER_IMAGE = 5
PRUNABLE = 85_524_480  # ViLT-B/32's prunable weights (lxmert_lth.workflow.plan)
POSITIONS = 40 + 1 + 12 * 16  # word pieces, [CLS], patches of a 384 x 512 image
MFU = 0.40
PEAKS = {"A100 (bf16, 312 TFLOP/s)": 312e12, "H100/H200 (bf16, 989 TFLOP/s)": 989e12}


def write_jpegs(folder: Path, images: int) -> dict[str, str]:
    rng = np.random.default_rng(0)
    (folder / "train2014").mkdir(parents=True)
    yy, xx = np.mgrid[0:480, 0:640] / 640.0
    paths = {}
    for i in range(images):
        phase = rng.uniform(0, 6.3, (3, 3))
        field = np.stack([np.sin(6 * xx * p[0] + 4 * yy * p[1] + p[2]) for p in phase], axis=-1)
        noise = rng.normal(0, 18, (480, 640, 3))
        pixels = np.clip(128 + 90 * field + noise, 0, 255).astype(np.uint8)
        image_id = f"COCO_train2014_{i:012d}"
        Image.fromarray(pixels).save(folder / "train2014" / f"{image_id}.jpg", quality=90)
        paths[image_id] = f"train2014/{image_id}.jpg"
    return paths


def lazy_split(store: ImageStore, workers: int) -> EncodedSplit:
    n = len(store) * QUESTIONS_PER_IMAGE
    text = torch.zeros((n, 20), dtype=torch.long)
    return EncodedSplit(
        question_ids=list(range(n)),
        input_ids=text,
        attention_mask=text,
        token_type_ids=text,
        image_rows=torch.arange(n) % len(store),
        label_idx=torch.zeros((n, 1), dtype=torch.long),
        label_score=torch.zeros((n, 1)),
        visual=None,
        store=store,
        loader_workers=workers,
    )


def run(store: ImageStore, workers: int, count: int) -> tuple[float, list[torch.Tensor]]:
    split = lazy_split(store, workers)
    stream = batches(split, BATCH, torch.Generator().manual_seed(0))
    first = next(stream)  # workers started and their queues filled: not the steady state
    seen, start = [first["index"]], time.perf_counter()
    checksums = [first["pixel_values"].sum()]
    for _ in range(count):
        batch = next(stream)
        seen.append(batch["index"])
        checksums.append(batch["pixel_values"].sum())
    elapsed = time.perf_counter() - start
    return count * BATCH / elapsed, [torch.stack(seen).flatten(), torch.stack(checksums)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lxmert-lth-images-") as tmp:
        folder = Path(tmp)
        paths = write_jpegs(folder / "coco", args.images)
        write_index(folder / "images.json", folder / "coco", paths, "coco", Processing(384, 32))
        store = ImageStore(folder / "images.json")
        size = sum(os.path.getsize(f) for f in store.files) / len(store)
        for f in store.files:  # into the page cache
            Path(f).read_bytes()
        print(f"{len(store)} JPEG files, 640 x 480, {size / 1024:.0f} KiB each; "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        rates, reference, base = {}, None, None
        for workers in args.workers:
            rate, order = run(store, workers, args.batches)
            rates[workers] = rate
            base = base or rate
            same = reference is None or all(
                torch.equal(a, b) for a, b in zip(order, reference, strict=True)
            )
            reference = reference or order
            print(f"  workers {workers}: {rate:7.1f} images/s  ({rate / base:.2f}x of "
                  f"{args.workers[0]} worker{'s' if args.workers[0] > 1 else ''}; same batches: "
                  f"{same})")  # fmt: skip
            if not same:
                return 1
        per_sample = 6 * PRUNABLE * POSITIONS
        per_worker = rates[args.workers[0]] / args.workers[0]
        print(f"A ViLT-B/32 training sample: ~{per_sample:.2e} FLOP (6 x {PRUNABLE:,} x "
              f"{POSITIONS} positions)")  # fmt: skip
        for gpu, peak in PEAKS.items():
            need = MFU * peak / per_sample
            print(
                f"  {gpu} at {MFU:.0%} MFU: ~{need:,.0f} samples/s = images/s, "
                f"~{need / per_worker:.0f} workers at this machine's rate per worker"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
