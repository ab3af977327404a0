"""Peak memory and time to the first training batch: bottom-up-attention features read
lazily from the converted HDF5 file, against loading the whole TSV into memory the way
the original LXMERT code does (``load_obj_tsv``: every row decoded into a list of dicts).

    python bench/bench_features.py --images 3000

Each path runs in a fresh process; memory is the process's peak resident set minus its
resident set after the imports (the data's share), plus the loader workers' peaks.
Targets (issue "The paper configuration"): at least 10x less peak memory and a first
batch at least 10x sooner. The conversion itself (a one-off job of the DAG) is timed
too, and its peak memory on a quarter of the file against the whole file shows it flat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NUM_BOXES, FEATURE_DIM, BATCH = 36, 2048, 32


def generate(path: Path, images: int) -> None:
    import numpy as np

    from lxmert_lth.data.bottom_up_attention import Row, encode_row

    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for i in range(images):
            x1, y1 = rng.uniform(0, 300, (2, NUM_BOXES))
            boxes = np.stack([x1, y1, x1 + 100, y1 + 100], axis=1)
            row = Row(
                img_id=f"COCO_train2014_{i:012d}",
                img_h=480,
                img_w=640,
                objects_id=rng.integers(0, 1600, NUM_BOXES),
                objects_conf=rng.uniform(0, 1, NUM_BOXES),
                attrs_id=rng.integers(0, 400, NUM_BOXES),
                attrs_conf=rng.uniform(0, 1, NUM_BOXES),
                boxes=boxes,
                features=rng.uniform(0, 4, (NUM_BOXES, FEATURE_DIM)).astype(np.float32),
            )
            f.write(encode_row(row))


# --- the measured paths, each run in its own process ---------------------------------


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def path_original(tsv: str) -> dict:
    """The original code: decode every row of the TSV into memory, then batch."""
    import base64
    import csv

    import numpy as np
    import torch

    base = _current_rss_mb()
    start = time.perf_counter()
    csv.field_size_limit(sys.maxsize)
    fields = ["img_id", "img_h", "img_w", "objects_id", "objects_conf", "attrs_id",
              "attrs_conf", "num_boxes", "boxes", "features"]  # fmt: skip
    data = []
    with open(tsv) as f:
        for item in csv.DictReader(f, fields, delimiter="\t"):
            n = int(item["num_boxes"])
            for key, shape, dtype in (("objects_id", (n,), np.int64),
                                      ("objects_conf", (n,), np.float32),
                                      ("attrs_id", (n,), np.int64),
                                      ("attrs_conf", (n,), np.float32),
                                      ("boxes", (n, 4), np.float32),
                                      ("features", (n, -1), np.float32)):  # fmt: skip
                item[key] = np.frombuffer(base64.b64decode(item[key]), dtype=dtype).reshape(shape)
            data.append(item)
    rows = np.random.default_rng(0).choice(len(data), BATCH, replace=False)
    feats = torch.from_numpy(np.stack([data[r]["features"] for r in rows]))
    boxes = torch.from_numpy(np.stack([data[r]["boxes"] for r in rows]))
    elapsed = time.perf_counter() - start
    assert feats.shape == (BATCH, NUM_BOXES, FEATURE_DIM) and boxes.shape[0] == BATCH
    return {"first_batch_s": elapsed, "peak_mb": _rss_mb() - base, "workers_mb": 0.0}


def path_lazy(h5: str, workers: int) -> dict:
    """This workflow: the converted HDF5 file, batches read by loader workers."""
    import resource

    import torch

    from lxmert_lth.data.features import FeatureStore
    from lxmert_lth.data.loaders import EncodedSplit, batches

    base = _current_rss_mb()
    start = time.perf_counter()
    store = FeatureStore(h5)
    n = len(store)
    split = EncodedSplit(
        question_ids=list(range(n)),
        input_ids=torch.zeros(n, 20, dtype=torch.long),
        attention_mask=torch.ones(n, 20, dtype=torch.long),
        token_type_ids=torch.zeros(n, 20, dtype=torch.long),
        image_rows=torch.arange(n),
        label_idx=torch.zeros(n, 1, dtype=torch.long),
        label_score=torch.ones(n, 1),
        visual=None,
        store=store,
        loader_workers=workers,
    )
    batch = next(iter(batches(split, BATCH, torch.Generator().manual_seed(0))))
    elapsed = time.perf_counter() - start
    assert batch["visual_feats"].shape == (BATCH, NUM_BOXES, FEATURE_DIM)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "first_batch_s": elapsed,
        "peak_mb": _rss_mb() - base,
        # Each worker's peak is at most the largest child's (a forked copy of this process).
        "workers_mb": workers * max(0.0, children - base),
    }


def path_convert(tsv: str, h5: str) -> dict:
    from lxmert_lth.data.bottom_up_attention import convert_tsvs

    base = _current_rss_mb()
    start = time.perf_counter()
    convert_tsvs([tsv], h5, NUM_BOXES, "float16", progress=False)
    return {"seconds": time.perf_counter() - start, "peak_mb": _rss_mb() - base}


def run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        fn = {"original": path_original, "lazy": path_lazy, "convert": path_convert}[kind]
        rest = [int(r) if r.isdigit() else r for r in rest]
        print(json.dumps(fn(*rest)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        tmp = Path(tmp)
        tsv, quarter = tmp / "features.tsv", tmp / "quarter.tsv"
        t = time.perf_counter()
        generate(tsv, args.images)
        generate(quarter, args.images // 4)
        size_gb, secs = tsv.stat().st_size / 2**30, time.perf_counter() - t
        print(f"generated {args.images} images ({size_gb:.2f} GiB TSV) in {secs:.0f} s")
        conv_small = run_child("convert", str(quarter), str(tmp / "quarter.h5"))
        conv = run_child("convert", str(tsv), str(tmp / "features.h5"))
        original = run_child("original", str(tsv))
        lazy = run_child("lazy", str(tmp / "features.h5"), str(args.workers))
    lazy_mem = lazy["peak_mb"] + lazy["workers_mb"]
    print(f"conversion: {conv['seconds']:.1f} s, peak {conv['peak_mb']:.0f} MB "
          f"({conv_small['peak_mb']:.0f} MB on a quarter of the file)")  # fmt: skip
    print(f"original (whole TSV in memory): first batch after {original['first_batch_s']:.2f} s, "
          f"peak {original['peak_mb']:.0f} MB")  # fmt: skip
    print(f"lazy HDF5, {args.workers} workers: first batch after {lazy['first_batch_s']:.2f} s, "
          f"peak {lazy['peak_mb']:.0f} MB + workers {lazy['workers_mb']:.0f} MB")  # fmt: skip
    mem_ratio = original["peak_mb"] / max(lazy_mem, 1.0)
    time_ratio = original["first_batch_s"] / lazy["first_batch_s"]
    flat = conv["peak_mb"] / max(conv_small["peak_mb"], 1.0)
    print(f"peak memory, original / lazy:      {mem_ratio:.1f}x (target >= 10)")
    print(f"time to first batch, original / lazy: {time_ratio:.1f}x (target >= 10)")
    print(f"conversion peak, whole / quarter file: {flat:.2f} (flat: about 1)")


if __name__ == "__main__":
    main()
