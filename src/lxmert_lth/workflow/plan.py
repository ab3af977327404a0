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
from pathlib import Path

from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.grid import dense_network, networks
from lxmert_lth.core.io import read_yaml_mapping
from lxmert_lth.core.network import Network
from lxmert_lth.core.schema import SCHEMA  # the workflow's own schema
from lxmert_lth.data import datasets
from lxmert_lth.pruning.chain import fine_tunes, levels, stability_pairs, waits_for
from lxmert_lth.pruning.kinds import KINDS
from lxmert_lth.workflow.checks import family_of, prunable_pattern, validate_config
from lxmert_lth.workflow.rules import Rules
from lxmert_lth.workflow.sizes import (  # noqa: F401  (the plan's names, as before)
    EVAL_COST,
    PREDICTION_BYTES,
    TRANSIENT_MODELS,
    ModelSize,
    Questions,
    activation_bytes,
    architecture,
    feature_bytes,
    finetune_samples,
    finetune_work,
    model_size,
    positions,
    question_counts,
    trained_bytes,
)

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


# --- the report -------------------------------------------------------------------------


def report(
    config: Mapping, slots: list[int], samples_per_second: float | None, running: int = 2
) -> str:
    """The plan of a run: jobs, fine-tunes and critical path, schedule, questions and
    GPU-hours, stability, model and disk."""
    study, pruning = config["study"], config["pruning"]
    every = fine_tunes(study, pruning)
    nets = [n for n in every if n.is_dense or KINDS[n.kind].made_by == "retrain"]
    one_shot = [n for n in every if not n.is_dense and n not in nets and not KINDS[n.kind].trains]
    questions = question_counts(config)
    per_finetune = finetune_samples(config, questions)
    lines = [*_jobs(config, nets, len(one_shot)), *_chain(study, pruning, nets)]
    lines += _schedule(study, pruning, slots)
    lines += _questions(config, questions, per_finetune, samples_per_second, slots, len(nets))
    lines += _one_shot(config, questions, one_shot, samples_per_second)
    lines += _activations(config)
    lines += _stability(config, questions, per_finetune, samples_per_second)
    lines += _disk(config, every, questions, running)
    return "\n".join(lines)


def _jobs(config: Mapping, nets: list[Network], one_shot: int = 0) -> list[str]:
    """Jobs by rule: the dataset's own rules (``data.datasets``), the family's visual input
    and the training jobs (``one_shot``: the one-shot jobs, two networks each)."""
    dense, dataset = sum(n.is_dense for n in nets), datasets.of(config)
    pixels = family_of(config).visual_input == "pixels"
    jobs = {
        dataset.preparation: 1,
        "index_images" if pixels else dataset.features_rule: 1,
        **dict.fromkeys(dataset.model_rules, 1),
        "finetune_dense": dense,
        "retrain_subnetwork": len(nets) - dense,
        **({"one_shot_prune": one_shot} if one_shot else {}),
        **dict.fromkeys(Rules(config).report_targets(), 1),
    }
    return ["Jobs by rule", *(f"  {rule:22s} {count:5d}" for rule, count in jobs.items())]


def _chain(study: Mapping, pruning: Mapping, nets: list[Network]) -> list[str]:
    """The fine-tunes by kind, the IMP levels beyond the asked networks, and the longest
    chain of fine-tunes that wait for one another."""
    by_kind: dict[str, int] = {}
    for n in nets:
        by_kind[n.kind] = by_kind.get(n.kind, 0) + 1
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(by_kind.items()))
    lines = ["", f"Fine-tunes: {len(nets)} ({kinds})"]
    extra = sorted(n.name for n in set(nets) - set(networks(study)) if n.seed == study["seeds"][0])
    if extra:
        lines.append(
            f"  beyond the study's networks, per seed: {', '.join(extra)} (masks need them)"
        )
    level = levels(study, pruning)
    path = [dense_network(study["seeds"][0], study)]
    while after := [n for n in nets if path[-1] in waits_for(n, pruning, study)]:
        path.append(max(after, key=lambda n: (level[n], -n.sparsity)))
    chain = " -> ".join(n.name for n in path)
    return [*lines, f"Critical path: {max(level.values())} fine-tunes ({chain})"]


def _schedule(study: Mapping, pruning: Mapping, slots: list[int]) -> list[str]:
    lines = ["", "Schedule (fine-tunes; highest level first, as the jobs' priority says)"]
    lines.append(f"  {'slots':>5s} {'makespan':>9s} {'bound':>6s} {'study order':>12s}")
    for k in slots:
        lines.append(
            f"  {k:5d} {simulate(study, pruning, k):9d} {lower_bound(study, pruning, k):6d} "
            f"{simulate(study, pruning, k, priority=False):12d}"
        )
    return lines


def _questions(
    config: Mapping,
    questions: Questions,
    per_finetune: float,
    samples_per_second: float | None,
    slots: list[int],
    finetunes: int,
) -> list[str]:
    """The questions a fine-tune reads, and the GPU-hours at a given throughput."""
    study, pruning = config["study"], config["pruning"]
    lines = [
        "",
        f"Questions: train {questions.train:,}, val {questions.val:,}, test {questions.test:,} "
        f"({questions.source})",
        *shifted_lines(questions, config["dataset"]),
        f"One fine-tune: {config['finetune']['epochs']} epochs = {per_finetune:,.0f} "
        f"training-sample equivalents (prediction at {EVAL_COST:.2f} of a training sample)",
    ]
    if not samples_per_second:
        return [*lines, "GPU-hours: give --samples-per-second (training throughput of one GPU)"]
    hours = per_finetune / samples_per_second / 3600
    walls = ", ".join(f"{simulate(study, pruning, k) * hours:.1f} h on {k}" for k in slots)
    return [
        *lines,
        f"Projected: {hours:.2f} GPU-hours per fine-tune, {hours * finetunes:.1f} in all, "
        f"at {samples_per_second:g} training samples/s per GPU; wall time {walls}",
    ]


def _one_shot(
    config: Mapping, questions: Questions, jobs: list[Network], samples_per_second: float | None
) -> list[str]:
    """The one-shot jobs: a calibration pass per layer group, the pruned network scored,
    a short retraining, the retrained network scored (``finetune_samples``' terms)."""
    if not jobs:
        return []
    settings, groups = config["one_shot"], _layer_groups(config)
    epochs = settings["retrain_epochs"]
    scored = questions.test + sum(n or 0 for n in questions.shifted.values())
    calibration = EVAL_COST * settings["calibration_questions"] * groups
    samples = epochs * questions.train + EVAL_COST * ((epochs + 1) * questions.val + 2 * scored)
    each = samples + calibration
    line = (
        f"One-shot jobs: {len(jobs)}, each a calibration ({groups} passes over "
        f"{settings['calibration_questions']} questions), the pruned network scored, "
        f"{epochs} epoch(s) of retraining and the retrained one scored = {each:,.0f} "
        "training-sample equivalents (the schedule above counts both of a job's networks "
        "as fine-tunes: an upper bound)"
    )
    if not samples_per_second:
        return ["", line]
    hours = each / samples_per_second / 3600
    return [
        "",
        line,
        f"Projected: {hours:.2f} GPU-hours per one-shot job, {hours * len(jobs):.1f} in all",
    ]


def _layer_groups(config: Mapping) -> int:
    """The calibration's layer groups of the study's model (``pruning.calibration``),
    built on torch's meta device."""
    import torch

    from lxmert_lth.pruning.calibration import layer_groups
    from lxmert_lth.pruning.enforcement import prunable_parameter_names

    arch, _ = architecture(config)
    with torch.device("meta"):
        model = family_of(config).qa_class()(arch)
    return len(layer_groups(model, prunable_parameter_names(model, prunable_pattern(config))))


def _activations(config: Mapping) -> list[str]:
    """A fine-tune's activations, which its memory request counts where they are held in
    host memory (``workflow.resources``)."""
    recipe, mb = config["finetune"], activation_bytes(config, "finetune") / 2**20
    if config["execution"]["device"].startswith("cuda"):
        where = "on the device, left out of the host's memory request"
    else:
        where = "counted in the memory request (execution.device: cuda leaves them out)"
    return [
        f"A fine-tune's activations (batch {recipe['batch_size']}, evaluation batch "
        f"{recipe['eval_batch_size']}): {mb:,.0f} MB, {where}"
    ]


def _stability(
    config: Mapping, questions: Questions, per_finetune: float, samples_per_second: float | None
) -> list[str]:
    """The stability analysis' fine-tunes and evaluations, when asked for."""
    pairs = stability_pairs(config["study"], config.get("stability") or {})
    if not pairs:
        return []
    points = config["stability"]["points"]
    evaluations = len(pairs) * points * questions.val * EVAL_COST
    lines = [
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
    return lines


def _disk(config: Mapping, nets: list[Network], questions: Questions, running: int) -> list[str]:
    """The model's size and what the run keeps on disk, against the space free."""
    study = config["study"]
    size = model_size(config)
    model_bytes = 4 * size.parameters
    seeds = len([n for n in networks(study) if n.is_dense])  # one theta_0 per dense network
    subnetworks = sum(not n.is_dense for n in nets)
    keep_controls = study["keep_control_weights"]
    kept = {
        "pretrained weights": model_bytes,
        f"theta_0 ({seeds} seeds)": seeds * model_bytes,
        "trained networks": sum(trained_bytes(n, size, keep_controls) for n in nets),
        "masks (bit-packed)": subnetworks * (size.prunable // 8),
        "predictions": len(nets) * PREDICTION_BYTES * questions.test,
    }
    features, features_source = feature_bytes(config)
    total = sum(kept.values())
    lines = [
        "",
        f"Model: {size.parameters:,} parameters, {size.prunable:,} prunable ({size.source})",
        "Disk (results, kept)",
        *(f"  {k:22s} {_gb(v):>9s}" for k, v in kept.items()),
    ]
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
    return lines


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
