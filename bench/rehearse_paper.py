"""A rehearsal of the paper configuration at real size, on the CPU, before a real run.

    python bench/rehearse_paper.py [--workdir DIR] [--cores 2] [--family visualbert]

Writes the inputs a paper-configuration user brings, in their real formats and at their
real sizes where memory grows with them: the official VQA v2 JSONs at their real counts
(``bench/bench_prepare_vqa_v2.py``), an LXMERT-base with random weights and a 30,522-piece
WordPiece tokenizer as a ``save_pretrained`` directory, and bottom-up-attention TSVs of
the images the capped splits use (36 x 2048). Then runs ``configs/paper.yaml``'s DAG on
them with Snakemake: data preparation on every question, training capped to 256
questions (``--train-questions``; validation 128, test 256) for one epoch, one seed,
Table 1's sparsity (50 %) and the IMP chain up to it, and the stability analysis of the
50 % ticket (two copies from each rewinding point, their line at three points).
Prints, for every job, its wall time, peak memory (Snakemake's benchmark), the memory
it asked for, and the bytes it wrote; then the plan of the full paper configuration
(``python -m lxmert_lth.workflow.plan``): 84 fine-tunes, schedule, disk.
With ``--family visualbert``, the same for ``configs/paper_visualbert.yaml``: a
VisualBERT-base with random weights in place of LXMERT-base; with ``--family vilt``, for
``configs/paper_vilt.yaml``: a ViLT-B/32 with random weights, and a folder of COCO-sized
JPEG files (640 x 480) of the images the capped splits use in place of the TSVs.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from lxmert_lth.models.families import FAMILIES

ROOT = Path(__file__).resolve().parent.parent
CAPS = {"train": 256, "val": 128, "test": 256}


def write_pretrained(folder: Path, family: str = "lxmert") -> Path:
    """The family's base model (random weights) and a 30,522-piece tokenizer, as
    save_pretrained."""
    import torch
    from bench_prepare_vqa_v2 import WORDS
    from transformers import BertTokenizerFast

    from lxmert_lth.models import families

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?", *WORDS]
    vocab += [f"piece{i}" for i in range(30_522 - len(vocab))]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    found = families.get(family)
    # The published base architecture, with its own answer count.
    config = found.base_config(found.num_answers(found.config_class()()))
    found.published_class()(config).save_pretrained(folder)
    return folder


def run(workdir: Path, *args: str, **kwargs) -> None:
    """The workflow in ``workdir``; stops the rehearsal with Snakemake's message if it fails."""
    from lxmert_lth.workflow.launch import run_snakemake

    proc = run_snakemake(workdir, *args, **kwargs)
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-6000:]}")


def write_tsv(path: Path, image_ids: list[str]) -> None:
    from lxmert_lth.data.bottom_up_attention import Row, encode_row

    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for image_id in image_ids:
            x1, y1 = rng.uniform(0, 300, (2, 36))
            f.write(encode_row(Row(
                img_id=image_id, img_h=480, img_w=640,
                objects_id=rng.integers(0, 1600, 36), objects_conf=rng.uniform(0, 1, 36),
                attrs_id=rng.integers(0, 400, 36), attrs_conf=rng.uniform(0, 1, 36),
                boxes=np.stack([x1, y1, x1 + 100, y1 + 100], axis=1),
                features=rng.uniform(0, 4, (36, 2048)).astype(np.float32),
            )))  # fmt: skip


def write_coco(folder: Path, image_ids: list[str]) -> None:
    """COCO-sized JPEG files (640 x 480) as COCO names and files them."""
    from PIL import Image

    from lxmert_lth.data.images import coco_images

    rng = np.random.default_rng(0)
    for rel in coco_images(image_ids).values():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / rel, quality=90)


def capped_images(config: Path) -> list:
    """The images of the capped splits, by the preparation's own functions (the dataset's
    reader, then ``subsample`` with the configuration's caps and split seed)."""
    from lxmert_lth.data import datasets
    from lxmert_lth.data.questions import subsample
    from lxmert_lth.workflow import plan

    section = plan.load_config(config, plan.SCHEMA)["dataset"]
    splits, _ = datasets.get(section["name"]).read_splits(section)
    caps, seed = section["max_questions"], section["split_seed"]
    capped = [subsample(records, caps[name], seed) for name, records in splits.items()]
    return sorted({q["image_id"] for records in capped for q in records})


def rehearsal_config(
    workdir: Path,
    official: dict,
    pretrained: Path,
    images: Path,
    family: str = "lxmert",
    train_questions: int = CAPS["train"],
) -> Path:
    """``images``: the TSV of region features, or the COCO folder (a family of pixels)."""
    from snakemake.utils import update_config

    from lxmert_lth.models import families

    config: dict = {}
    for path in families.get(family).paper_configs:  # each over the one before
        update_config(config, yaml.safe_load((ROOT / path).read_text()))
    config["results"] = "results-paper"
    config["dataset"]["official"] = {**official, "min_answer_count": 9, "minival_images": 5000}
    config["dataset"]["max_questions"] = {**CAPS, "train": train_questions}
    if families.get(family).visual_input == "pixels":
        config["images"]["folder"] = str(images)
    else:
        config["features"]["tsv"] = [str(images)]
    config["pretrained"] = {"source": str(pretrained), "tokenizer": None, "config": None,
                            "answers": None}  # fmt: skip
    config["finetune"].update(epochs=1)
    config["study"].update(seeds=[0], sparsities=[50])
    config["stability"] = {"enabled": True, "points": 3}
    config["execution"].update(device="cpu", train_threads=2, loader_workers=2)
    path = workdir / "rehearsal.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def outputs_of(res: Path, job: str) -> Path:
    """The folder or file a job (by its benchmark name) writes."""
    name = job.split("/")[-1]
    seed = job.split("/")[0] if "/" in job else ""
    fixed = {"prepare_vqa_v2": "data", "convert_features": "features",
             "import_pretrained": "pretrained"}  # fmt: skip
    if name in fixed:
        return res / fixed[name]
    if name == "finetune_dense":
        return res / seed / "dense"
    return res / seed / name.removeprefix("retrain_")


def report(res: Path) -> list[dict]:
    rows = []
    for bench in sorted((res / "benchmarks").rglob("*.tsv")):
        job = str(bench.relative_to(res / "benchmarks"))[: -len(".tsv")]
        with open(bench) as f:
            stats = next(csv.DictReader(f, delimiter="\t"))
        log = (res / "logs" / f"{job}.log").read_text()
        asked = re.search(r"resources asked: (\{.*\})", log)
        mem = json.loads(asked[1].replace("'", '"')).get("mem_mb") if asked else None
        rows.append({"job": job, "seconds": float(stats["s"]),
                     "rss_mb": float(stats["max_rss"]), "peak_mb": float(stats["max_pss"]),
                     "asked_mb": mem,
                     "written_mb": folder_bytes(outputs_of(res, job)) / 2**20})  # fmt: skip
    return rows


def print_table(rows: list[dict]) -> None:
    """Peak = proportional set size (Snakemake's max_pss): the job's and its loader
    workers' pages, each shared page counted once, as a cgroup charges them; max_rss,
    which counts the pages a forked worker shares with its job in both, beside it."""
    print(f"{'job':34s} {'seconds':>8s} {'peak MB':>8s} {'(rss MB)':>9s} {'asked MB':>9s} "
          f"{'written MB':>11s}")  # fmt: skip
    for r in rows:
        asked = f"{r['asked_mb']:9d}" if r["asked_mb"] else f"{'-':>9s}"
        flag = "  OVER" if r["asked_mb"] and r["peak_mb"] > r["asked_mb"] else ""
        print(f"{r['job']:34s} {r['seconds']:8.1f} {r['peak_mb']:8.0f} {r['rss_mb']:9.0f} "
              f"{asked} {r['written_mb']:11.1f}{flag}")  # fmt: skip


def measure_save(theta0: Path, folder: Path) -> tuple[float, float]:
    """Seconds and GiB of one save of a fine-tune's resumable state at this size: the
    weights, AdamW's two moments and the best weights so far (``lxmert_lth.training.resume``)."""
    import copy

    import torch

    from lxmert_lth.models.modeling import load_checkpoint
    from lxmert_lth.training.resume import Resume

    model, _ = load_checkpoint(theta0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # creates the moments
    best = copy.deepcopy(model.state_dict())
    state = {"epoch": 1, "step": 1, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "best": best}  # fmt: skip
    resume = Resume(folder, key="rehearsal")
    resume.save(state)
    size = resume.path.stat().st_size / 2**30
    resume.clear()
    return resume.last_save_cost, size


def full_config(family: str) -> dict:
    """The family's paper configuration, its files each read over the one before."""
    from lxmert_lth.models import families
    from lxmert_lth.workflow import plan

    configs = [ROOT / path for path in families.get(family).paper_configs]
    return plan.load_config(configs, ROOT / "schemas" / "config.schema.yaml")


def full_activations(family: str) -> int:
    """Bytes of a fine-tune's activations at the full configuration's batch sizes."""
    from lxmert_lth.workflow.sizes import activation_bytes

    return activation_bytes(full_config(family), "finetune")


def projections(res: Path, workdir: Path, activations: int) -> list[str]:
    """What the full configuration's jobs would ask and cost, from this run's files."""
    from lxmert_lth.data import datasets
    from lxmert_lth.workflow.resources import WORKER_MB, training_mem_mb

    theta0 = res / "seed0/theta0.safetensors"
    full = datasets.get("vqa_v2").sizes
    per_question = {}
    for split in CAPS:
        path = res / f"data/{split}.json"
        per_question[split] = path.stat().st_size / len(json.loads(path.read_text()))
    questions = sum(per_question[s] * getattr(full, s) for s in CAPS)
    ask = training_mem_mb(theta0.stat().st_size, int(questions), 0, False, 4)
    on_cpu = training_mem_mb(
        theta0.stat().st_size, int(questions), 0, False, 4, activations=activations
    )
    seconds, gib = measure_save(theta0, workdir / "save-test")
    minutes = 10
    share = seconds / (max(60 * minutes, 19 * seconds) + seconds)
    return [
        f"A fine-tune at the real question counts ({questions / 2**20:.0f} MiB of question "
        f"files, the paper configuration's 4 loader workers at {WORKER_MB} MB) asks "
        f"{ask:,} MB on a GPU node (execution.device: cuda), {on_cpu:,} MB where its "
        f"activations are in host memory (cpu, or auto).",
        f"One save of the resumable state: {gib:.2f} GiB in {seconds:.1f} s here; every "
        f"{minutes} min of training (execution.checkpoint_minutes) that is "
        f"{100 * share:.1f} % of the time, whatever the GPU's step rate.",
    ]


def write_inputs(workdir: Path, family: str, train_questions: int) -> Path:
    """What a user brings, at real size (the question files, a base model with random
    weights, the capped splits' images); returns the rehearsal's configuration file."""
    from bench_prepare_vqa_v2 import write_official

    from lxmert_lth.models import families

    inputs = workdir / "inputs"
    (inputs / "vqa").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    official = write_official(inputs / "vqa", 1.0)
    pretrained = write_pretrained(inputs / f"{family}-base", family)
    pixels = families.get(family).visual_input == "pixels"
    visual = inputs / ("coco" if pixels else "obj36.tsv")
    visual.mkdir(exist_ok=True) if pixels else visual.write_bytes(b"")
    config = rehearsal_config(workdir, official, pretrained, visual, family, train_questions)
    # The capped splits' images first, drawn as the preparation draws them: it checks
    # every question's image against the features, so the TSV (or folder) must hold them.
    images = capped_images(config)
    write_coco(visual, images) if pixels else write_tsv(visual, images)
    took = time.perf_counter() - start
    print(f"inputs written in {took:.0f} s: {len(images)} images in {visual}")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--report-only", action="store_true",
                        help="report on the rehearsal already in --workdir")  # fmt: skip
    parser.add_argument("--family", choices=sorted(FAMILIES), default="lxmert")
    parser.add_argument("--train-questions", type=int, default=CAPS["train"],
                        help="training questions (steps of 32) of each training job")  # fmt: skip
    args = parser.parse_args()
    if args.report_only:
        res = args.workdir / "results-paper"
        print_table(report(res))
        print("\n".join(projections(res, args.workdir, full_activations(args.family))))
        return 0
    from lxmert_lth.workflow import plan

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-rehearsal-"))
    res = workdir / "results-paper"
    done = workdir / "inputs" / "written"
    if done.exists():  # a rehearsal begun before: its inputs kept, its DAG resumed
        config = workdir / "rehearsal.yaml"
        print(f"resuming the rehearsal in {workdir}")
    else:
        config = write_inputs(workdir, args.family, args.train_questions)
        done.write_text("")
    start = time.perf_counter()
    run(workdir, "--cores", str(args.cores), "--rerun-incomplete", configfiles=[config],
        timeout=7200)  # fmt: skip
    print(f"DAG in {time.perf_counter() - start:.0f} s (after the question files)\n")
    rows = report(res)
    print_table(rows)
    (workdir / "rehearsal.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(projections(res, workdir, full_activations(args.family))))
    print("\nThe full paper configuration:")
    full = full_config(args.family)
    full["results"] = str(workdir / "not-yet")
    print(plan.report(full, [1, 2, 8, 32], samples_per_second=None))
    over = [r["job"] for r in rows if r["asked_mb"] and r["peak_mb"] > r["asked_mb"]]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
