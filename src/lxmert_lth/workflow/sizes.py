"""The sizes a plan counts before a run: questions per split, a fine-tune's work, the
model's parameters, and the bytes of what a run keeps (``workflow.plan``, the costs
table and the rehearsal read them).

Question counts come from the results folder's question files when they exist, else from
the dataset's own split (easy-VQA) or its published sizes with the configuration's caps
(``data.datasets``); the model's size from theta_0 when it exists, else from the
configured architecture built on torch's meta device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors
from lxmert_lth.core.io import read_json
from lxmert_lth.core.network import THETA0_FILE, Network
from lxmert_lth.data import datasets, tasks
from lxmert_lth.pruning import kinds
from lxmert_lth.reporting.costs import Work
from lxmert_lth.workflow.checks import family_of, prunable_pattern

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


def finetune_samples(config: Mapping, questions: Questions | None = None) -> float:
    """Training-sample equivalents one fine-tune reads: its epochs over the training
    questions, and prediction (validation each epoch, the test split once) at EVAL_COST."""
    questions = questions or question_counts(config)
    epochs = config["finetune"]["epochs"]
    scored = questions.test + sum(n or 0 for n in questions.shifted.values())
    return epochs * questions.train + EVAL_COST * (epochs * questions.val + scored)


def positions(config: Mapping) -> int:
    """Positions a sample passes through the model with: word pieces, and regions or
    patches (the family's), for each of the task's images (as the family reads a pair)."""
    family = family_of(config)
    images = tasks.get(datasets.of(config).task).images_per_sample
    passes, visual = family.passes(images, family.visual_positions(config))
    return passes * (config["tokenizer"]["max_length"] + visual)


def finetune_work(config: Mapping):
    """A fine-tune's work in the terms of ``lxmert_lth.reporting.costs``."""

    return Work(finetune_samples(config), model_size(config).prunable, positions(config))


def architecture(config: Mapping):
    """The study's model as a transformers configuration, and where it comes from: the
    configuration's ``model`` section for a dataset of the small model, else the family's
    published base architecture."""
    family, dataset = family_of(config), datasets.of(config)
    answers = dataset.sizes.answers
    if dataset.small_model:
        dim = dataset.feature_dim(config)
        arch = family.small_config(config["tokenizer"]["vocab_size"], dim, answers, config["model"])
        return arch, "config.yaml's model section"
    return family.base_config(answers), f"{family.label}-base"


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

    from lxmert_lth.pruning.enforcement import prunable_parameter_names

    arch, source = architecture(config)
    family = family_of(config)
    task = datasets.of(config).task
    if task != tasks.ANSWERING.name:
        arch = family.verification_config(arch)
    with torch.device("meta"):
        model = family.model_class(task)(arch)
    params = dict(model.named_parameters())
    names = prunable_parameter_names(model, prunable_pattern(config))
    return ModelSize(
        sum(p.numel() for p in params.values()), sum(params[n].numel() for n in names), source
    )


def activation_bytes(config: Mapping, stage: str) -> int:
    """Bytes of activations a training job of ``stage`` (``finetune``, ``pretrain``)
    holds at its peak where they live in host memory (on the CPU): the larger of a
    training step's and an evaluation batch's (``training_activations``,
    ``evaluation_activations``), each with its batch's inputs."""
    arch, _ = architecture(config)
    family = family_of(config)
    text = config["tokenizer"]["max_length"]
    # A task of two images a sample (verification): two passes or a longer one.
    images = tasks.get(datasets.of(config).task).images_per_sample if stage == "finetune" else 1
    passes, visual = family.passes(images, family.visual_positions(config))
    stacks = family.encoder_stacks(arch, text, visual)
    recipe = config[stage]
    heads, hidden = arch.num_attention_heads, arch.hidden_size
    sample = images * family.visual_input_bytes(config) + 3 * 8 * text  # + ids, mask, types
    batch, eval_batch = recipe["batch_size"], recipe["eval_batch_size"]
    train = training_activations(stacks, hidden, heads, passes * batch)
    evaluate = evaluation_activations(stacks, hidden, heads, passes * eval_batch)
    return max(train + sample * batch, evaluate + sample * eval_batch)


def training_activations(stacks, hidden: int, heads: int, batch: int) -> int:
    """What a training step keeps for its backward pass on the CPU: per layer of ``s``
    positions, ``b s h (72 + 12 a s / h)`` bytes. That is the per-layer count of
    Korthikanti et al. (2022, arXiv 2205.05198: ``34 + 5 a s / h`` at 2-byte values and
    1-byte dropout masks) with 4-byte values and masks (the CPU's dropout
    keeps an fp32 mask); one more layer per stack for the embeddings, pooler and head.
    tests/test_families.py holds it to the tensors that autograd saves, for each family."""
    return sum((layers + 1) * batch * s * (72 * hidden + 12 * heads * s) for s, layers in stacks)


def evaluation_activations(stacks, hidden: int, heads: int, batch: int) -> int:
    """An evaluation batch without gradients holds one layer's working set at a time:
    its input, queries, keys, values and output beside the attention scores and
    probabilities, or its input and output beside the feed-forward's inner layer before
    and after its activation (fp32)."""
    return max(4 * batch * s * max(5 * hidden + 2 * heads * s, 10 * hidden) for s, _ in stacks)


def trained_bytes(network: Network, size: ModelSize, keep_controls: bool) -> int:
    """A trained network's file: dense in full; a subnetwork compactly (its kept prunable
    weights and their bits beside the rest); a control's only when kept."""
    if network.is_dense:
        return 4 * size.parameters
    if kinds.KINDS[network.kind].control and not keep_controls:
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
