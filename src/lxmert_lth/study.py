"""The study's plan (which networks a configuration asks for, which split is scored) and
the checks of a configuration that its JSON schema cannot express.

Pure functions of the configuration, used by the Snakefile and the tests. The schema
(``schemas/config.schema.yaml``) is the one home of every default: Snakemake's
``validate`` fills them in, nested sections included, before anything here runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .io import InputError, UserError
from .kinds import KINDS, LATE, MASK, TRAINED, PruningOptions  # noqa: F401 (re-exported)
from .network import Network


class ConfigError(UserError, ValueError):
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


def dense_network(seed: int, study: Mapping) -> Network:
    """The dense network a seed's subnetworks come from: its own, or with
    ``study.dense_seed`` (the authors' code) the one dense fine-tune every seed shares."""
    dense_seed = study.get("dense_seed")
    return Network(seed if dense_seed is None else dense_seed)


def networks(study: Mapping) -> list[Network]:
    """Every network of the study: the dense ones (one per seed, or the shared one), then
    each seed's subnetworks."""
    found: list[Network] = []
    for seed in study["seeds"]:
        dense = dense_network(seed, study)
        found += [] if dense in found else [dense]
        found += [Network(seed, k, s) for k, s in subnetworks(study)]
    return found


def theta0_seed(network: Network, study: Mapping) -> int:
    """The seed of the theta_0 a network starts from (rewinds to): its dense network's."""
    return dense_network(network.seed, study).seed


# --- the fine-tunes and what each waits for --------------------------------------------


def mask_sources(
    network: Network, pruning, study: Mapping | None = None
) -> dict[str, tuple[Network, str]]:
    """What the mask (and, for ``late``, the rewind point) of a subnetwork is made from
    (``docs/method.md``), by role: the network and which of its files (``TRAINED``,
    ``MASK`` or ``LATE``): its kind's ``sources`` (``lxmert_lth.kinds``). The dense
    network has none. ``study`` says which dense network a seed uses
    (``study.dense_seed``); without it, the seed's own."""
    if network.is_dense:
        return {}
    return KINDS[network.kind].sources(network, PruningOptions.of(pruning), study or {})


def waits_for(network: Network, pruning: Mapping, study: Mapping | None = None) -> list[Network]:
    """The networks whose training must finish before this one's can start."""
    return sorted({source for source, _ in mask_sources(network, pruning, study).values()})


def fine_tunes(study: Mapping, pruning: Mapping) -> list[Network]:
    """Every network the study trains: its own, and the IMP levels their masks need
    beyond them (high at 10 % needs the level at 90 %)."""
    todo, seen = list(networks(study)), set()
    while todo:
        network = todo.pop()
        if network not in seen:
            seen.add(network)
            todo.extend(waits_for(network, pruning, study))
    return sorted(seen)


def levels(study: Mapping, pruning: Mapping) -> dict[Network, int]:
    """Each fine-tune's level: the fine-tunes on the longest chain from it to the end of
    the study, itself included. Starting the highest level first (the IMP chain before
    the controls) keeps the chain from waiting: it is the jobs' scheduling priority."""
    nets = fine_tunes(study, pruning)
    after = {n: [] for n in nets}
    for n in nets:
        for source in waits_for(n, pruning, study):
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


def validate_config(config: dict, schema_path: str | os.PathLike) -> None:
    """Fill in the schema's defaults (Snakemake's ``validate``) and check the values;
    raise ``ConfigError`` with one line naming the key. Snakemake's own message holds
    the whole schema."""
    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from . import families

    family = (config.get("model") or {}).get("family")
    if family is not None and family not in families.FAMILIES:
        # Before the schema, whose per-family branches would report another family's keys.
        raise ConfigError(
            f"model.family: {family!r} is not a model family (known: "
            f"{', '.join(families.FAMILIES)})"
        )
    try:
        validate(config, str(schema_path))
    except WorkflowError as err:
        cause = err.__cause__ or err.__context__
        message = getattr(cause, "message", None) or str(err).splitlines()[0]
        where = ".".join(str(p) for p in getattr(cause, "absolute_path", [])) or "(top level)"
        hint = ""
        if "required property" in message and where == "(top level)":
            hint = (
                "; an overlay of configs/ goes after the file it changes: "
                "--configfile config.yaml configs/NAME.yaml"
            )
        raise ConfigError(f"{where}: {message}{hint}") from None
    with open(schema_path) as f:
        check_config(config, yaml.safe_load(f))


def check_config(config: Mapping, schema: Mapping) -> None:
    """Raise ``ConfigError`` naming the key of the first value the schema let through but
    the workflow cannot run with."""
    _check_integers(config, schema, schema, "")
    _check_results_folder(config["results"])
    if "hidden_size" in config.get("model", {}):
        _check_heads(config["model"])
    _check_schedule(config["study"], config["pruning"])
    _check_pattern(prunable_pattern(config))
    _check_late_step(config)
    _check_family(config)
    _check_device(config["execution"]["device"])
    _check_prunable_weights(config)


def _check_prunable_weights(config: Mapping) -> None:
    """A prunable pattern of the user's own must select weights of the family: checked on
    the model built on the meta device from the configuration alone (no weights, no
    files), so the dry run says it, not the first fine-tune. The family's own pattern
    needs no check, its scopes included (``_check_family`` names a scope it lacks), so
    the Snakefile's parse imports no torch for it."""
    pruning, family = config["pruning"], family_of(config)
    if pruning.get("prunable_modules") in (None, family.prunable_modules):
        return
    import torch

    from .enforcement import prunable_parameter_names  # torch: only when a check is due

    if config["dataset"]["name"] == "easy_vqa":
        arch = family.small_config(8, 4, 2, config["model"])
    else:
        arch = family.base_config(2)
    with torch.device("meta"):
        model = family.qa_class()(arch)
    try:
        prunable_parameter_names(
            model, prunable_pattern(config), pruning.get("prunable_set", "linear_weights"),
            pruning.get("scope", "all"),
        )  # fmt: skip
    except InputError as err:
        raise ConfigError(f"pruning.prunable_modules: {err} of {family.label}") from None


def _check_device(device: str) -> None:
    """``cuda`` with a torch built without CUDA: said here, not as a traceback in the first
    training job. Read from the installed files (no torch import at the Snakefile's parse)."""
    from importlib import metadata, util

    spec = util.find_spec("torch") if device.startswith("cuda") else None
    lib = os.path.join(os.path.dirname(spec.origin), "lib") if spec and spec.origin else ""
    if not os.path.isdir(lib):
        return  # no torch, or one laid out otherwise: the job says what it finds
    if not any(name.startswith("libtorch_cuda") for name in os.listdir(lib)):
        raise ConfigError(
            f"execution.device: {device!r}, but the installed torch "
            f"{metadata.version('torch')} is built without CUDA: install its CUDA build "
            "(docs/running.md, GPU workstation) or use auto or cpu"
        )


def family_of(config: Mapping):
    """The configuration's model family (``lxmert_lth.families``)."""
    from . import families

    return families.get((config.get("model") or {}).get("family"))


def prunable_pattern(config: Mapping) -> str:
    """``pruning.prunable_modules``, or the family's own pattern when it is unset."""
    return config["pruning"].get("prunable_modules") or family_of(config).prunable_modules


def _check_family(config: Mapping) -> None:
    """What the family cannot do: a scope it has no part for, the authors' prunable set
    where it is undefined, a pre-training objective it does not have."""
    family = family_of(config)
    pruning = config["pruning"]
    scope = pruning.get("scope", "all")
    if scope != "all" and scope not in family.scopes:
        raise ConfigError(
            f"pruning.scope: {family.label} has no part {scope!r} to prune alone "
            f"(its parts: {', '.join(family.scopes) or 'none: use all'})"
        )
    if pruning.get("prunable_set") == "authors" and family.authors_unpruned is None:
        raise ConfigError(
            f"pruning.prunable_set: the authors' code's set is not defined for {family.label}"
        )
    if "pretrain" in config:
        problem = family.check_pretraining(config["pretrain"])
        if problem:
            raise ConfigError(problem)
        from .augment import Augment

        augment = config["pretrain"].get("augment")
        if Augment.from_dict(augment) and family.visual_input != "pixels":
            raise ConfigError(
                f"pretrain.augment: {augment} shifts and mirrors images, and "
                f"{family.label} reads region features: leave it out"
            )


def _check_late_step(config: Mapping) -> None:
    """The late control's rewind step against the most steps the fine-tune can take:
    whole batches of at most ``dataset.max_questions.train`` questions, when capped (the
    dense job checks the exact count, once the questions are there)."""
    study = config["study"]
    cap = (config["dataset"].get("max_questions") or {}).get("train")
    if "late" not in study["kinds"] or not cap or "finetune" not in config:
        return
    recipe = config["finetune"]
    most = cap // recipe["batch_size"] * recipe["epochs"]
    if study.get("late_rewind_step", 0) > most:
        raise ConfigError(
            f"study.late_rewind_step: {study['late_rewind_step']} is beyond the fine-tune's "
            f"steps (at most {most}: {recipe['epochs']} epochs of whole batches of "
            f"{recipe['batch_size']} from at most {cap} training questions)"
        )


def _check_pattern(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ConfigError(
            f"pruning.prunable_modules: {pattern!r} is not a regular expression ({err})"
        ) from None


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
    from . import granularities

    pruning = PruningOptions.of(pruning)
    granularities.of(pruning).check(study, pruning)
    _check_kinds(study)


def check_levels(study: Mapping, pruning: PruningOptions) -> None:
    """IMP: every sparsity is a level of the schedule (and so is 100 - s where the
    high-magnitude mask is the complement of the ticket there)."""
    step = pruning.step
    # With schedule: remaining, every level is pruned from the dense network to its own
    # target: any sparsity is one.
    on_levels = pruning.schedule == "original"
    complement = pruning.high == "complement"
    for s in study["sparsities"]:
        if on_levels and s % step:
            raise ConfigError(
                f"study.sparsities: {s} is off the pruning schedule "
                f"(pruning.step = {step}: levels {step}, {2 * step}, ...)"
            )
        if on_levels and complement and "high" in study["kinds"] and (100 - s) % step:
            raise ConfigError(
                f"study.sparsities: the high-magnitude mask at {s}% is the complement of the "
                f"IMP level at {100 - s}%, which is off the schedule of pruning.step = {step}"
            )


def _check_kinds(study: Mapping) -> None:
    if "late" in study["kinds"] and not study.get("late_rewind_step"):
        raise ConfigError(
            "study.late_rewind_step: the late kind rewinds to the dense network's weights "
            "after this many optimizer steps; set it (e.g. 20)"
        )
    if study["table_sparsity"] not in study["sparsities"]:
        raise ConfigError(
            f"study.table_sparsity: {study['table_sparsity']} is not one of study.sparsities "
            f"{study['sparsities']}"
        )
