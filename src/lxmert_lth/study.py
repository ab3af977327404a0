"""The study's plan (which networks a configuration asks for, which split is scored) and
the checks of a configuration that its JSON schema cannot express.

Pure functions of the configuration, used by the Snakefile and the tests. The schema
(``schemas/config.schema.yaml``) is the one home of every default: Snakemake's
``validate`` fills them in, nested sections included, before anything here runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .network import Network


class ConfigError(ValueError):
    """A configuration value the schema cannot catch; the message names the key."""


@dataclass(frozen=True)
class ScoredSplit:
    """The labelled split scored locally: the question file and what tables call it."""

    name: str  # the question file: data/{name}.json
    label: str


def scored_split(dataset: str) -> ScoredSplit:
    """easy-VQA: its test split. VQA v2: minival (the val file), since test2015 is
    unlabelled and scored by the EvalAI server from each network's predictions."""
    return ScoredSplit("test", "test") if dataset == "easy_vqa" else ScoredSplit("val", "minival")


def previous_level(sparsity: int, step: int) -> int:
    """The IMP level a level's mask is computed from (0 = the dense network)."""
    return sparsity - step


def subnetworks(study: Mapping) -> list[tuple[str, int]]:
    """(kind, sparsity) of every subnetwork the study retrains, per seed."""
    return [(k, s) for k in study["kinds"] for s in sorted(study["sparsities"])]


def networks(study: Mapping) -> list[Network]:
    """Every network of the study: per seed the dense one, then each subnetwork."""
    return [
        network
        for seed in study["seeds"]
        for network in [Network(seed), *(Network(seed, k, s) for k, s in subnetworks(study))]
    ]


# --- the fine-tunes and what each waits for --------------------------------------------

TRAINED = "trained"  # a network's trained weights (model.safetensors)
MASK = "mask"  # a network's mask (mask.safetensors)


def mask_sources(network: Network, pruning: Mapping) -> dict[str, tuple[Network, str]]:
    """What the mask of a subnetwork is made from (``docs/method.md``), by role: the
    network and which of its files (``TRAINED`` or ``MASK``). The dense network has none.

    * low at s: level s - step's trained network (the dense one at the first level) and,
      beyond the first level, its mask;
    * high at s: the low-magnitude mask at 100 - s;
    * random at s: nothing (``global``), or the low-magnitude mask at s (``per_layer``);
    * oneshot at s: the dense trained network (pruned to s in one step);
    * shuffled at s: the low-magnitude mask at s (permuted within each tensor).
    """
    seed, s = network.seed, network.sparsity
    if network.kind == "low":
        prev = previous_level(s, pruning["step"])
        if prev == 0:
            return {"trained": (Network(seed), TRAINED)}
        low = Network(seed, "low", prev)
        return {"trained": (low, TRAINED), "previous_mask": (low, MASK)}
    if network.kind == "high":
        return {"low_mask": (Network(seed, "low", 100 - s), MASK)}
    if network.kind == "random" and pruning["random"] == "per_layer":
        return {"reference": (Network(seed, "low", s), MASK)}
    if network.kind == "oneshot":
        return {"trained": (Network(seed), TRAINED)}
    if network.kind == "shuffled":
        return {"reference": (Network(seed, "low", s), MASK)}
    return {}


def waits_for(network: Network, pruning: Mapping) -> list[Network]:
    """The networks whose training must finish before this one's can start."""
    return sorted({source for source, _ in mask_sources(network, pruning).values()})


def fine_tunes(study: Mapping, pruning: Mapping) -> list[Network]:
    """Every network the study trains: its own, and the IMP levels their masks need
    beyond them (high at 10 % needs the level at 90 %)."""
    todo, seen = list(networks(study)), set()
    while todo:
        network = todo.pop()
        if network not in seen:
            seen.add(network)
            todo.extend(waits_for(network, pruning))
    return sorted(seen)


def levels(study: Mapping, pruning: Mapping) -> dict[Network, int]:
    """Each fine-tune's level: the fine-tunes on the longest chain from it to the end of
    the study, itself included. Starting the highest level first (the IMP chain before
    the controls) keeps the chain from waiting: it is the jobs' scheduling priority."""
    nets = fine_tunes(study, pruning)
    after = {n: [] for n in nets}
    for n in nets:
        for source in waits_for(n, pruning):
            after[source].append(n)
    level: dict[Network, int] = {}

    def visit(n: Network) -> int:
        if n not in level:
            level[n] = 1 + max((visit(m) for m in after[n]), default=0)
        return level[n]

    for n in nets:
        visit(n)
    return level


# --- checks beyond the schema ---------------------------------------------------------


def check_config(config: Mapping, schema: Mapping) -> None:
    """Raise ``ConfigError`` naming the key of the first value the schema let through but
    the workflow cannot run with."""
    _check_integers(config, schema, schema, "")
    _check_results_folder(config["results"])
    if "model" in config:
        _check_heads(config["model"])
    _check_schedule(config["study"], config["pruning"])


def _resolve(schema: Mapping, root: Mapping) -> Mapping:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(node, root)


def _branches(schema: Mapping, root: Mapping) -> Iterator[Mapping]:
    """The schema and every subschema that applies to the same value."""
    schema = _resolve(schema, root)
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            yield from _branches(sub, root)
    for key in ("then", "else"):
        if key in schema:
            yield from _branches(schema[key], root)


def _check_integers(value, schema: Mapping, root: Mapping, where: str) -> None:
    """JSON Schema counts 50.0 as an integer; the workflow would then look for a file
    named ``low50.0``. Stop at any float where the schema asks for an integer."""
    branches = list(_branches(schema, root))
    if isinstance(value, float) and any(b.get("type") == "integer" for b in branches):
        raise ConfigError(f"{where}: {value!r} is not an integer (write {int(value)})")
    for b in branches:
        if isinstance(value, Mapping):
            for key, sub in b.get("properties", {}).items():
                if key in value:
                    _check_integers(value[key], sub, root, f"{where}.{key}".lstrip("."))
        elif isinstance(value, list) and "items" in b:
            for i, item in enumerate(value):
                _check_integers(item, b["items"], root, f"{where}[{i}]")


def _check_results_folder(path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"results: {path!r} is a file, not a folder")


def _check_heads(model: Mapping) -> None:
    hidden, heads = model["hidden_size"], model["num_attention_heads"]
    if hidden % heads:
        raise ConfigError(
            f"model.hidden_size: {hidden} is not a multiple of model.num_attention_heads "
            f"({heads}): each attention head needs hidden_size / num_attention_heads dimensions"
        )


def _check_schedule(study: Mapping, pruning: Mapping) -> None:
    step = pruning["step"]
    for s in study["sparsities"]:
        if s % step:
            raise ConfigError(
                f"study.sparsities: {s} is off the pruning schedule "
                f"(pruning.step = {step}: levels {step}, {2 * step}, ...)"
            )
        if "high" in study["kinds"] and (100 - s) % step:
            raise ConfigError(
                f"study.sparsities: the high-magnitude mask at {s}% is the complement of the "
                f"IMP level at {100 - s}%, which is off the schedule of pruning.step = {step}"
            )
    if study["table_sparsity"] not in study["sparsities"]:
        raise ConfigError(
            f"study.table_sparsity: {study['table_sparsity']} is not one of study.sparsities "
            f"{study['sparsities']}"
        )
