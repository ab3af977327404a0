"""The checks of a configuration that its JSON schema cannot express.

``validate_config`` fills in the schema's defaults (Snakemake's ``validate``) and raises
``ConfigError`` naming the key of the first value the workflow cannot run with; the
Snakefile calls it before any rule is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.data import datasets, tasks
from lxmert_lth.data.augment import Augment
from lxmert_lth.models import families
from lxmert_lth.pruning import granularities
from lxmert_lth.pruning.kinds import ONE_SHOT_KINDS

# --- the fine-tunes and what each waits for --------------------------------------------


# --- checks beyond the schema ---------------------------------------------------------


def validate_config(config: dict, schema_path: str | os.PathLike) -> None:
    """Fill in the schema's defaults (Snakemake's ``validate``) and check the values;
    raise ``ConfigError`` with one line naming the key. Snakemake's own message holds
    the whole schema."""
    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

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
        _check_sizes_agree(config)
    _check_schedule(config["study"], config["pruning"])
    _check_pattern(prunable_pattern(config))
    _check_late_step(config)
    _check_transfer(config)
    _check_pretraining_tickets(config)
    _check_one_shot(config)
    _check_compare_tasks(config.get("compare_tasks") or {})
    _check_shifted_sets(config["dataset"])
    _check_family(config)
    _check_device(config["execution"]["device"])
    _check_task(config)
    _check_prunable_weights(config)


def _check_task(config: Mapping) -> None:
    """A task whose answers are fixed (verification: false, true) has no pretrained
    answer head to copy."""
    task = tasks.get(datasets.of(config).task)
    if task.answers is not None and config["theta0"]["answer_head"] == "copy_pretrained":
        raise ConfigError(
            f"theta0.answer_head: copy_pretrained copies a question-answering head, and "
            f"{datasets.of(config).label} is {task.label}: set answer_head: random"
        )


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

    from lxmert_lth.pruning.enforcement import (
        prunable_parameter_names,  # torch: only when a check is due
    )

    if datasets.of(config).small_model:
        arch = family.small_config(8, 4, 2, config["model"])
    else:
        arch = family.base_config(2)
    with torch.device("meta"):
        model = family.qa_class()(arch)
    try:
        prunable_parameter_names(
            model, prunable_pattern(config), pruning["prunable_set"], pruning["scope"],
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
    """The configuration's model family (``lxmert_lth.models.families``)."""

    return families.get((config.get("model") or {}).get("family"))


def prunable_pattern(config: Mapping) -> str:
    """``pruning.prunable_modules``, or the family's own pattern when it is unset."""
    return config["pruning"].get("prunable_modules") or family_of(config).prunable_modules


def _check_family(config: Mapping) -> None:
    """What the family cannot do: a scope it has no part for, the authors' prunable set
    where it is undefined, a pre-training objective it does not have."""
    family = family_of(config)
    pruning = config["pruning"]
    scope = pruning["scope"]
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

        augment = config["pretrain"].get("augment")
        if Augment.from_dict(augment) and family.visual_input != "pixels":
            raise ConfigError(
                f"pretrain.augment: {augment} shifts and mirrors images, and "
                f"{family.label} reads region features: leave it out"
            )


def _check_shifted_sets(dataset: Mapping) -> None:
    """Each shifted-set key (dataset.shift, dataset.ood) is its dataset's alone
    (``data.datasets``), and what its dataset checks of its own."""
    ours = datasets.get(dataset["name"])
    for owner in datasets.DATASETS.values():
        key, value = owner.shift_key, dataset.get(owner.shift_key or "")
        given = value is not None and (not isinstance(value, Mapping) or any(value.values()))
        if owner is not ours and given:
            mine = f" ({ours.label}'s: dataset.{ours.shift_key})" if ours.shift_key else ""
            raise ConfigError(
                f"dataset.{key}: makes {owner.label}'s shifted sets, not {ours.label}'s{mine}"
            )
    ours.check(dataset)


def _check_transfer(config: Mapping) -> None:
    """The transfer kind needs another run's results folder to take its tickets from."""
    study = config["study"]
    if "transfer" not in study["kinds"]:
        return
    source = study.get("transfer_from")
    if not source:
        raise ConfigError(
            "study.transfer_from: the transfer kind takes its masks from another task's run: "
            "give that run's results folder (configs/transfer.yaml)"
        )
    if os.path.normpath(source) == os.path.normpath(config["results"]):
        raise ConfigError(
            f"study.transfer_from: {source!r} is this run's own results folder; a transferred "
            "ticket comes from another task's run"
        )


def _check_pretraining_tickets(config: Mapping) -> None:
    """The pretraining kind's chain prunes single weights of the pre-training model's
    encoders, from the run's own pre-training unless another run's chain is named."""
    study, pruning = config["study"], config["pruning"]
    if "pretraining" not in study["kinds"]:
        return
    source = study.get("pretraining_tickets_from")
    if source and os.path.normpath(source) == os.path.normpath(config["results"]):
        raise ConfigError(
            f"study.pretraining_tickets_from: {source!r} is this run's own results folder; "
            "leave it null for this run's own chain"
        )
    if not source and not datasets.of(config).small_model:
        raise ConfigError(
            "study.kinds: pretraining: the pre-training tickets' chain continues the run's "
            f"own pre-training, which {datasets.of(config).label} does not do; name a run "
            "that made them in study.pretraining_tickets_from"
        )
    options = PruningOptions.of(pruning)
    if (options.granularity, options.schedule, options.prunable_set, options.scope) != (
        "unstructured",
        "original",
        "linear_weights",
        "all",
    ):
        raise ConfigError(
            "study.kinds: pretraining: the pre-training tickets' chain prunes single weights "
            "of every prunable Linear layer (pruning.granularity unstructured, schedule "
            "original, prunable_set linear_weights, scope all)"
        )


def _check_one_shot(config: Mapping) -> None:
    """One-shot kinds prune single weights (unstructured, or N:M) of the dense network;
    they have no rewind point for the stability analysis."""
    asked = [k for k in config["study"]["kinds"] if k in ONE_SHOT_KINDS]
    if not asked:
        return
    granularity = config["pruning"].get("granularity", "unstructured")
    if granularity not in ("unstructured", "n_of_m"):
        raise ConfigError(
            f"study.kinds: {asked[0]} prunes single weights: pruning.granularity must be "
            f"unstructured or n_of_m, not {granularity}"
        )
    if config["stability"]["enabled"]:
        raise ConfigError(
            f"study.kinds: {asked[0]} is not rewound, so the stability analysis has no "
            "starting point for it: leave the one-shot kinds out of a run with "
            "stability.enabled"
        )


def _check_compare_tasks(compared: Mapping) -> None:
    """Each task's transfer source is another task of the comparison."""
    for label, run in compared.items():
        source = run.get("transfer_from")
        if source is not None and (source not in compared or source == label):
            known = ", ".join(k for k in compared if k != label)
            raise ConfigError(
                f"compare_tasks.{label}.transfer_from: {source!r} is not another task of "
                f"compare_tasks (the others: {known})"
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


def _check_sizes_agree(config: Mapping) -> None:
    """Keys of two sections that must agree for a model the run builds itself: the
    questions' length and the position embeddings; ViLT's image grid and its patches."""
    model, length = config["model"], config["tokenizer"]["max_length"]
    if length > model["max_position_embeddings"]:
        raise ConfigError(
            f"tokenizer.max_length: {length} word pieces, more than "
            f"model.max_position_embeddings ({model['max_position_embeddings']}) gives "
            "positions for: raise model.max_position_embeddings or lower tokenizer.max_length"
        )
    patch, images = model.get("patch_size"), config.get("images") or {}
    divisor = images.get("size_divisor")
    if patch and divisor and divisor % patch:
        raise ConfigError(
            f"images.size_divisor: {divisor} is not a multiple of model.patch_size ({patch}): "
            "the resized images would not be whole patches"
        )
    if patch and divisor and images.get("shortest_edge", divisor) < divisor:
        raise ConfigError(
            f"images.shortest_edge: {images['shortest_edge']} is less than "
            f"images.size_divisor ({divisor}): the image would be rounded down to nothing"
        )


def _check_schedule(study: Mapping, pruning: Mapping) -> None:

    pruning = PruningOptions.of(pruning)
    granularities.of(pruning).check(study, pruning)
    _check_kinds(study)


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
