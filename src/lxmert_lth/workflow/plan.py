"""The plan of a run, before it starts: jobs, fine-tunes, critical path, schedule, GPU-hours
and disk, for any configuration.

    python -m lxmert_lth.workflow.plan --configfile configs/paper.yaml \\
        [--slots 1 2 8 32] [--samples-per-second 400] [--running 2]

Every fine-tune runs the same recipe on the same questions, so the plan counts time in
fine-tunes: the schedule is simulated with one fine-tune as the unit, the training jobs
started highest level first (the jobs' Snakemake ``priority``: the IMP chain before the
controls), and set beside its lower bound max(critical path, fine-tunes / slots). GPU-hours
follow from the questions a fine-tune reads and a training throughput that the user gives
(samples per second per GPU; prediction is counted at a third of a training sample).

Question counts come from the results folder's question files when they exist, else from
the dataset's published sizes with the configuration's caps; the model's size from
theta_0 when it exists, else from the configured architecture (the family's base model for
VQA v2).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors
from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.grid import dense_network, networks
from lxmert_lth.core.io import read_json, read_yaml_mapping
from lxmert_lth.core.network import THETA0_FILE, Network
from lxmert_lth.core.schema import SCHEMA  # the workflow's own schema
from lxmert_lth.data import datasets
from lxmert_lth.pruning.chain import fine_tunes, levels, stability_pairs, waits_for
from lxmert_lth.reporting.costs import Work
from lxmert_lth.workflow.checks import family_of, prunable_pattern, validate_config

EVAL_COST = 1 / 3  # a predicted sample against a trained one (forward only)
PREDICTION_BYTES = 55  # one {"question_id": ..., "answer": ...} entry (easy-VQA: 51)
# Transient state of a running training job, in fp32 model sizes: theta_0 rewound under
# its mask (temporary) and the resumable state (weights, AdamW's two moments, best weights).
TRANSIENT_MODELS = 5


@dataclass(frozen=True)
class Questions:
    train: int
    val: int
    test: int
    source: str
    shifted: Mapping[str, int | None] = field(default_factory=dict)  # None: not yet known


@dataclass(frozen=True)
class ModelSize:
    parameters: int
    prunable: int
    source: str


# --- the schedule ---------------------------------------------------------------------


def simulate(study: Mapping, pruning: Mapping, slots: int, priority: bool = True) -> int:
    """Makespan in fine-tunes of list scheduling on ``slots`` devices: whenever a device
    is free it starts the ready fine-tune of highest level (``priority``) or the first in
    the study's order (seed, kind, sparsity)."""
    if slots < 1:
        raise ValueError(f"slots: {slots}: a schedule needs at least one device")
    nets = fine_tunes(study, pruning)
    level = levels(study, pruning)
    waits = {n: waits_for(n, pruning, study) for n in nets}
    done: set[Network] = set()
    remaining = set(nets)
    steps = 0
    while remaining:
        ready = [n for n in sorted(remaining) if all(w in done for w in waits[n])]
        if priority:
            ready.sort(key=lambda n: -level[n])  # stable: study order among equals
        started = ready[:slots]
        done.update(started)
        remaining.difference_update(started)
        steps += 1
    return steps


def lower_bound(study: Mapping, pruning: Mapping, slots: int) -> int:
    critical = max(levels(study, pruning).values())
    return max(critical, math.ceil(len(fine_tunes(study, pruning)) / slots))


# --- sizes ------------------------------------------------------------------------------


def question_counts(config: Mapping) -> Questions:
    data = Path(config["results"]) / "data"
    dataset, of = config["dataset"], datasets.of(config)
    sets = of.shifted_sets(dataset)
    files = {s: data / f"{s}.json" for s in ("train", "val", "test")}
    shifted_files = {name: data / "shifted" / f"{name}.json" for name in sets}
    if all(path.exists() for path in [*files.values(), *shifted_files.values()]):
        counts = {s: len(read_json(path)) for s, path in files.items()}
        shifted = {name: len(read_json(path)) for name, path in shifted_files.items()}
        return Questions(**counts, source=f"{data}/*.json", shifted=shifted)
    planned = of.planned_counts(dataset)  # the preparation's own split, where known
    if planned is not None:
        return Questions(**planned, source=f"{of.label}, split as preparation will")
    caps = dataset["max_questions"]
    train, val = of.sizes.train, of.sizes.val
    if of.val_from_train:  # val: a fraction of the training images
        val = round(train * dataset["val_fraction"])
        train -= val
    counts = {"train": train, "val": val, "test": of.sizes.test}
    for split in counts:
        if caps.get(split) is not None:
            counts[split] = min(counts[split], caps[split])
    return Questions(**counts, source=f"published sizes of {of.name}, capped",
                     shifted=dict.fromkeys(sets))  # fmt: skip


def shifted_lines(questions: Questions, dataset: Mapping) -> list[str]:
    """The shifted sets, which every training job scores beside the scored split."""
    if not questions.shifted:
        return []
    sizes = ", ".join(f"{name} {'(size once prepared)' if n is None else f'{n:,}'}"
                      for name, n in questions.shifted.items())  # fmt: skip
    how = datasets.get(dataset["name"]).shifted_how
    return [
        f"Shifted sets: {sizes} questions, each scored by every training job beside the "
        f"scored split ({how})"
    ]


def finetune_samples(config: Mapping, questions: Questions | None = None) -> float:
    """Training-sample equivalents one fine-tune reads: its epochs over the training
    questions, and prediction (validation each epoch, the test split once) at EVAL_COST."""
    questions = questions or question_counts(config)
    epochs = config["finetune"]["epochs"]
    scored = questions.test + sum(n or 0 for n in questions.shifted.values())
    return epochs * questions.train + EVAL_COST * (epochs * questions.val + scored)


def positions(config: Mapping) -> int:
    """Positions a sample passes through the model with: word pieces, and regions or
    patches (the family's)."""

    return config["tokenizer"]["max_length"] + family_of(config).visual_positions(config)


def finetune_work(config: Mapping):
    """A fine-tune's work in the terms of ``lxmert_lth.reporting.costs``."""

    return Work(finetune_samples(config), model_size(config).prunable, positions(config))


def model_size(config: Mapping) -> ModelSize:
    """Parameters and prunable weights: from a theta_0 already written, else from the
    architecture built on torch's meta device (no memory)."""
    theta0 = next(iter(sorted(Path(config["results"]).glob(THETA0_FILE.format(seed="*")))), None)
    if theta0 is not None:
        weights = CheckpointTensors(theta0)
        meta = CheckpointMeta.from_json(weights.metadata, str(theta0))
        prunable = sum(math.prod(weights.shapes[n]) for n in meta.prunable)
        return ModelSize(meta.num_total_parameters, prunable, str(theta0))
    import torch

    from lxmert_lth.models.modeling import small_config
    from lxmert_lth.pruning.enforcement import prunable_parameter_names

    family, dataset = family_of(config), datasets.of(config)
    answers = dataset.sizes.answers
    if dataset.small_model:
        dim = dataset.feature_dim(config)
        arch = small_config(config["tokenizer"]["vocab_size"], dim, answers, config["model"])
        source = "config.yaml's model section"
    else:
        arch, source = family.base_config(answers), f"{family.label}-base"
    with torch.device("meta"):
        model = family.qa_class()(arch)
    params = dict(model.named_parameters())
    names = prunable_parameter_names(model, prunable_pattern(config))
    return ModelSize(
        sum(p.numel() for p in params.values()), sum(params[n].numel() for n in names), source
    )


def trained_bytes(network: Network, size: ModelSize, keep_controls: bool) -> int:
    """A trained network's file: dense in full; a subnetwork compactly (its kept prunable
    weights and their bits beside the rest); a control's only when kept."""
    if network.is_dense:
        return 4 * size.parameters
    if network.kind != "low" and not keep_controls:
        return 0
    kept = size.prunable - size.prunable * network.sparsity // 100
    return 4 * (size.parameters - size.prunable) + 4 * kept + size.prunable // 8


def feature_bytes(config: Mapping) -> tuple[int, str]:

    if family_of(config).visual_input == "pixels":
        return 0, "none: the images are read where they are"
    path = Path(config["results"]) / "features" / "regions.h5"
    if path.exists():
        return path.stat().st_size, str(path)
    dataset = datasets.of(config)
    regions, dim = dataset.regions(config), dataset.feature_dim(config)
    itemsize = 2 if config["features"]["dtype"] == "float16" else 4
    per_image = regions * (dim * itemsize + 4 * 4)  # features and boxes
    return dataset.sizes.images * per_image, "estimated from the published image count"


# --- the report -------------------------------------------------------------------------


def report(
    config: Mapping, slots: list[int], samples_per_second: float | None, running: int = 2
) -> str:
    study, pruning = config["study"], config["pruning"]
    nets = fine_tunes(study, pruning)
    asked = set(networks(study))
    level = levels(study, pruning)
    seeds = len([n for n in networks(study) if n.is_dense])  # one theta_0 per dense network
    by_kind: dict[str, int] = {}
    for n in nets:
        by_kind[n.kind] = by_kind.get(n.kind, 0) + 1
    extra = sorted(n.name for n in set(nets) - asked if n.seed == study["seeds"][0])
    chain = max(level.values())
    lines = ["Jobs by rule"]
    dataset = datasets.of(config)
    jobs = {
        "data and features": 2,
        **dict.fromkeys(dataset.model_rules, 1),
        "finetune_dense": by_kind.get("dense", 0),
        "retrain_subnetwork": len(nets) - by_kind.get("dense", 0),
        "tables, figure": 4,
    }
    lines += [f"  {rule:22s} {count:5d}" for rule, count in jobs.items()]
    lines += [
        "",
        f"Fine-tunes: {len(nets)} ({', '.join(f'{v} {k}' for k, v in sorted(by_kind.items()))})",
    ]
    if extra:
        lines.append(
            f"  beyond the study's networks, per seed: {', '.join(extra)} (masks need them)"
        )
    first = dense_network(study["seeds"][0], study)
    path = [first]
    while True:
        after = [n for n in nets if path[-1] in waits_for(n, pruning, study)]
        if not after:
            break
        path.append(max(after, key=lambda n: (level[n], -n.sparsity)))
    lines.append(f"Critical path: {chain} fine-tunes ({' -> '.join(n.name for n in path)})")
    lines += ["", "Schedule (fine-tunes; highest level first, as the jobs' priority says)"]
    lines.append(f"  {'slots':>5s} {'makespan':>9s} {'bound':>6s} {'study order':>12s}")
    for k in slots:
        lines.append(
            f"  {k:5d} {simulate(study, pruning, k):9d} {lower_bound(study, pruning, k):6d} "
            f"{simulate(study, pruning, k, priority=False):12d}"
        )

    questions = question_counts(config)
    epochs = config["finetune"]["epochs"]
    per_finetune = finetune_samples(config, questions)
    lines += [
        "",
        f"Questions: train {questions.train:,}, val {questions.val:,}, test {questions.test:,} "
        f"({questions.source})",
        *shifted_lines(questions, config["dataset"]),
        f"One fine-tune: {epochs} epochs = {per_finetune:,.0f} training-sample equivalents "
        f"(prediction at {EVAL_COST:.2f} of a training sample)",
    ]
    if samples_per_second:
        hours = per_finetune / samples_per_second / 3600
        lines.append(
            f"Projected: {hours:.2f} GPU-hours per fine-tune, {hours * len(nets):.1f} in all, "
            f"at {samples_per_second:g} training samples/s per GPU; wall time "
            + ", ".join(f"{simulate(study, pruning, k) * hours:.1f} h on {k}" for k in slots)
        )
    else:
        lines.append("GPU-hours: give --samples-per-second (training throughput of one GPU)")
    pairs = stability_pairs(study, config.get("stability") or {})
    if pairs:
        points = config["stability"]["points"]
        evaluations = len(pairs) * points * questions.val * EVAL_COST
        lines += [
            "",
            f"Stability: {len(pairs)} pairs, {2 * len(pairs)} more fine-tunes (two copies "
            f"each) and {len(pairs) * points} evaluations of the validation split ({points} "
            f"points a line; {evaluations:,.0f} training-sample equivalents in all); a line "
            "job holds two trained networks and the one it evaluates; the copies' weights "
            "are deleted once their line is drawn",
        ]
        if samples_per_second:
            hours = (2 * len(pairs) * per_finetune + evaluations) / samples_per_second / 3600
            lines.append(f"  projected: {hours:.1f} GPU-hours more")

    size = model_size(config)
    model_bytes = 4 * size.parameters
    mask_bytes = size.prunable // 8
    predictions = PREDICTION_BYTES * questions.test
    subnetworks = len(nets) - by_kind.get("dense", 0)
    keep_controls = study["keep_control_weights"]
    kept = {
        "pretrained weights": model_bytes,
        f"theta_0 ({seeds} seeds)": seeds * model_bytes,
        "trained networks": sum(trained_bytes(n, size, keep_controls) for n in nets),
        "masks (bit-packed)": subnetworks * mask_bytes,
        "predictions": len(nets) * predictions,
    }
    features, features_source = feature_bytes(config)
    total = sum(kept.values())
    lines += [
        "",
        f"Model: {size.parameters:,} parameters, {size.prunable:,} prunable ({size.source})",
        "Disk (results, kept)",
    ]
    lines += [f"  {k:22s} {_gb(v):>9s}" for k, v in kept.items()]
    if not keep_controls:
        lines.append("  (the controls' trained weights are not kept: study.keep_control_weights)")
    lines += [
        f"  {'total, features aside':22s} {_gb(total):>9s}",
        f"  {'features':22s} {_gb(features):>9s}  ({features_source})",
        f"  while running: {_gb(TRANSIENT_MODELS * model_bytes)} more per running training job "
        "(theta_0 rewound, resumable state)",
    ]
    free = shutil.disk_usage(_existing_parent(Path(config["results"]))).free
    need = total + features + TRANSIENT_MODELS * model_bytes * running
    lines.append(f"  free in {config['results']}: {_gb(free)}")
    if need > free:
        lines.append(
            f"WARNING: the run needs about {_gb(need)} (results, features and {running} "
            f"training jobs at once, --running), more than the {_gb(free)} free"
        )
    return "\n".join(lines)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e7 else f"{n / 1e6:.2f} MB"


def _existing_parent(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def load_config(configfile: Path | list[Path], schema: Path, base: Path | None = None) -> dict:
    """The configuration with the schema's defaults filled in, as the workflow sees it:
    ``base`` (``config.yaml``, the workflow's when no file is given) or else each file in
    turn, nested sections key by key, as ``snakemake --configfile A B`` does."""
    from snakemake.utils import update_config

    config: dict = {}
    files = [configfile] if isinstance(configfile, Path) else list(configfile)
    for path in files or [p for p in [base] if p]:
        update_config(config, read_yaml_mapping(path))
    validate_config(config, schema)
    return config


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: needs at least one slot")
    return value


def _positive_rate(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: a throughput must be a positive number")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, nargs="+", default=[])
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--slots", type=_positive_int, nargs="+", default=[1, 2, 8, 32])
    parser.add_argument("--samples-per-second", type=_positive_rate, default=None)
    parser.add_argument(
        "--running", type=_positive_int, default=2,
        help="training jobs at once, for the disk they hold while running (the README's "
        "command: --resources gpu=2)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        config = load_config(args.configfile, args.schema, base=Path("config.yaml"))
    except ConfigError as err:
        parser.exit(2, f"plan: invalid configuration: {err}\n")
    except InputError as err:
        parser.exit(2, f"plan: {err}\n")
    print(report(config, args.slots, args.samples_per_second, args.running))
    return 0


if __name__ == "__main__":
    sys.exit(main())
