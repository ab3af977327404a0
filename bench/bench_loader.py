"""Throughput of the lazy feature loader at the paper's feature size, by worker count.

    python bench/bench_loader.py [--images 1000] [--workers 0 1 2 4] [--batches 200]

Writes an HDF5 feature file as ``convert_features`` does (float16, 36 regions x 2048,
one image per chunk) for ``--images`` images, reads it once so it is page cached (a
training job reads its features many times over), and draws shuffled batches of 32
questions over those images through ``lxmert_lth.data.loaders.batches`` in lazy mode, on the CPU:
samples per second with each worker count (the paper configuration uses
``execution.loader_workers: 4``), the peak memory of a loader worker, and a check that
every worker count gives the same batches in the same order. Target: >= 2,000 samples/s
with the configured workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch

from lxmert_lth.data.features import FeatureStore, FeatureWriter
from lxmert_lth.data.loaders import EncodedSplit, batches

REGIONS, DIM, BATCH, QUESTIONS_PER_IMAGE = 36, 2048, 32, 5


def write_features(path: Path, images: int) -> None:
    rng = np.random.default_rng(0)
    with FeatureWriter(path, images, REGIONS, DIM, "bench", dtype="float16") as w:
        for i in range(images):
            x1, y1 = rng.uniform(0, 300, (2, REGIONS))
            w.add(
                f"img{i}",
                rng.uniform(0, 4, (REGIONS, DIM)).astype(np.float32),
                np.stack([x1, y1, x1 + 100, y1 + 100], axis=1),
                480,
                640,
            )


def lazy_split(store: FeatureStore, workers: int) -> EncodedSplit:
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


def worker_peak_mb() -> float:
    peaks = []
    for child in psutil.Process().children(recursive=True):
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if "VmHWM" in line]
    return max(peaks, default=0.0)


def measure(store: FeatureStore, workers: int, num_batches: int):
    split = lazy_split(store, workers)
    stream = batches(split, BATCH, torch.Generator().manual_seed(0))
    digest, worker_mb = [], 0.0
    first = next(stream)  # workers started, prefetch under way
    start = time.perf_counter()
    for i, batch in enumerate(stream, 1):
        feats = batch["visual_feats"].float()
        digest.append(float(feats[:, 0, :8].sum()) + float(batch["index"].sum()))
        if i == num_batches // 2:
            worker_mb = worker_peak_mb()
        if i == num_batches:
            break
    seconds = time.perf_counter() - start
    del stream
    return num_batches * BATCH / seconds, worker_mb, [float(first["index"].sum()), *digest]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lxmert-lth-loader-") as tmp:
        path = Path(tmp) / "regions.h5"
        write_features(path, args.images)
        path.read_bytes()  # page cached, as after the first epoch
        store = FeatureStore(path)
        print(f"{args.images} images, float16, {path.stat().st_size / 2**20:.0f} MiB; "
              f"batches of {BATCH}, shuffled")  # fmt: skip
        print(f"{'workers':>7s} {'samples/s':>10s} {'worker peak MB':>15s}")
        reference = None
        for workers in args.workers:
            rate, worker_mb, digest = measure(store, workers, args.batches)
            same = reference is None or digest == reference
            reference = reference or digest
            print(f"{workers:7d} {rate:10.0f} {worker_mb:15.0f}"
                  f"{'' if same else '  DIFFERENT BATCHES'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
