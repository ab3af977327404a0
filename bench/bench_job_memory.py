"""Peak memory of the training jobs at LXMERT-base's size, against what they ask for.

    python bench/bench_job_memory.py [--workdir DIR]

Runs the test configuration's data jobs (easy-VQA questions, features, tokenizer) in a
scratch folder, writes a theta_0 with LXMERT-base's dimensions (random weights; the
visual projection takes easy-VQA's features), then runs, each in a fresh process on the
CPU, with resumable state saved as often as allowed:

* ``dense (base)``: the dense fine-tune (``stages.finetuning.finetune_dense``), 256
  training questions, one epoch;
* ``low10 (base)``: the first IMP level from it (``stages.subnetworks``: mask maths,
  compact rewinding, retraining, compact saving);
* ``dense (small), 100k questions``: the test configuration's small model on 100,000
  training questions (the questions' share of the memory).

For each: the process's peak resident memory beside the request that
``lxmert_lth.workflow.resources.training_mem_mb`` derives from the same files. The request must
stay above the peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072,
        "l_layers": 9, "x_layers": 5, "r_layers": 5, "max_position_embeddings": 512,
        "dropout": 0.1}  # fmt: skip
RECIPE = {"epochs": 1, "batch_size": 32, "lr": 5e-5, "warmup_ratio": 0.1,
          "weight_decay": 0.01, "clip_norm": 5.0, "eval_batch_size": 256,
          "bias_correction": False}  # fmt: skip


def prepare(workdir: Path) -> Path:
    """The test configuration's data, features and tokenizer; returns its results."""
    from lxmert_lth.workflow.launch import TEST_CONFIG, run_snakemake

    results = test_config()["results"]
    targets = [f"{results}/{t}" for t in ("tokenizer", "features/regions.h5", "data/test.json")]
    proc = run_snakemake(workdir, "--cores", "2", *targets, configfiles=[TEST_CONFIG])
    if proc.returncode != 0:
        sys.exit(proc.stderr[-4000:])
    return workdir / results


def test_config() -> dict:
    """The test suite's small configuration, as written."""
    from lxmert_lth.workflow.launch import TEST_CONFIG

    return yaml.safe_load(TEST_CONFIG.read_text())


def write_theta0(res: Path, arch: dict, out: Path) -> None:
    import torch

    from lxmert_lth.core.checkpoints import CheckpointMeta
    from lxmert_lth.data.features import FeatureStore
    from lxmert_lth.data.questions import read_answer_list
    from lxmert_lth.data.tokenization import load_tokenizer
    from lxmert_lth.models import families
    from lxmert_lth.models.modeling import save_checkpoint, small_config
    from lxmert_lth.pruning.enforcement import prunable_parameter_names

    answers = read_answer_list(res / "data/answers.json")
    dim = FeatureStore(str(res / "features/regions.h5")).feature_dim
    config = small_config(len(load_tokenizer(res / "tokenizer")), dim, len(answers), arch)
    torch.manual_seed(0)
    family = families.get(arch.get("family"))
    model = family.qa_class()(config)
    pattern = family.prunable_modules
    meta = CheckpointMeta(
        config={},
        answers=answers,
        seed=0,
        prunable=prunable_parameter_names(model, pattern),
        num_total_parameters=sum(p.numel() for p in model.parameters()),
    )
    save_checkpoint(out, model, meta)


def questions(res: Path, n: int, out: Path) -> Path:
    """The training questions, cut or repeated (with new ids) to ``n``."""
    records = json.loads((res / "data/train.json").read_text())
    many = [{**records[i % len(records)], "question_id": 10**7 + i} for i in range(n)]
    out.write_text(json.dumps(many))
    return out


def child(spec: dict) -> dict:
    """One job, in this (fresh) process; its peak memory and its request."""
    from lxmert_lth.core.network import Network
    from lxmert_lth.core.options import PruningOptions
    from lxmert_lth.data.loaders import Loading
    from lxmert_lth.workflow.resources import training_mem_mb
    from lxmert_lth.workflow.stages.finetuning import (
        FinetuneOutputs,
        JobOptions,
        Scoring,
        StartingPoint,
        TrainingData,
        finetune,
    )
    from lxmert_lth.workflow.stages.subnetworks import (
        MaskSources,
        SubnetworkOutputs,
        retrain_subnetwork,
    )

    data = TrainingData(**spec["data"])
    out = Path(spec["out"])
    outputs = FinetuneOutputs(*(str(out / n) for n in ("model.safetensors",
                              "predictions.json", "scores.json", "history.json")))  # fmt: skip
    options = JobOptions("cpu", "fp32", False, Loading(True, 0), str(out / ".resume"), 1e-4)
    if spec["kind"] == "dense":
        # The dense job's fine-tune from the theta_0 written above (the job itself first
        # writes theta_0 from a pretrained folder, a fraction of its memory and time).
        start = StartingPoint(spec["theta0"])
        finetune(data, start, outputs, Network(0), RECIPE, 20, Scoring("test"), options)
    else:
        subnetwork = SubnetworkOutputs(str(out / "mask.safetensors"),
                                       str(out / "rewound.safetensors"), outputs)  # fmt: skip
        pruning = PruningOptions.of({"step": 10, "ranking": "global", "random": "global"})
        retrain_subnetwork(data, spec["theta0"], MaskSources(trained=spec["trained"]),
                           subnetwork, Network(0, "low", 10), pruning, RECIPE,
                           20, Scoring("test"), options)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    request = training_mem_mb(
        Path(spec["theta0"]).stat().st_size,
        Path(data.train).stat().st_size,
        Path(data.features).stat().st_size,
        in_memory=True,
        workers=0,
    )
    return {"peak_mb": peak, "request_mb": request}


def run(spec: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lxmert-lth-memory-"))
    res = prepare(workdir)
    data = {k: str(res / f"data/{k}.json") for k in ("train", "val", "test", "answers")}
    data |= {"features": str(res / "features/regions.h5"), "tokenizer": str(res / "tokenizer")}
    base, small = workdir / "theta0-base.safetensors", workdir / "theta0-small.safetensors"
    write_theta0(res, BASE, base)
    write_theta0(res, test_config()["model"], small)
    few = questions(res, 256, workdir / "train-256.json")
    many = questions(res, 100_000, workdir / "train-100k.json")
    jobs = {
        "dense (base)": {"kind": "dense", "theta0": str(base), "data": {**data, "train": str(few)},
                         "out": str(workdir / "dense-base")},
        "low10 (base)": {"kind": "low", "theta0": str(base), "data": {**data, "train": str(few)},
                         "trained": str(workdir / "dense-base/model.safetensors"),
                         "out": str(workdir / "low10-base")},
        "dense (small), 100k questions": {"kind": "dense", "theta0": str(small),
                                          "data": {**data, "train": str(many)},
                                          "out": str(workdir / "dense-many")},
    }  # fmt: skip
    print(f"theta_0 at LXMERT-base's dimensions: {base.stat().st_size / 2**20:.0f} MiB")
    print(f"{'job':32s} {'peak MB':>8s} {'request MB':>11s}")
    ok = True
    for name, spec in jobs.items():
        row = run(spec)
        ok &= row["peak_mb"] < row["request_mb"]
        print(f"{name:32s} {row['peak_mb']:8.0f} {row['request_mb']:11d}")
    print("every peak under its request" if ok else "A PEAK EXCEEDS ITS REQUEST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
