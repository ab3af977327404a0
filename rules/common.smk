import os

from lxmert_lth.study import (
    ConfigError,
    low_levels_needed,
    previous_level,
    subnetworks,
    validate_study,
)

try:
    validate_study(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}")

RESULTS = config["results"]
STUDY = config["study"]
PRUNING = config["pruning"]
EXECUTION = config["execution"]
ENV = "../envs/lxmert-lth.yaml"
EVAL_SPLIT = "test"


wildcard_constraints:
    seed=r"\d+",
    sparsity=r"\d+",
    kind="low|high|random",


def section(name):
    """A config section as params, keys sorted: reordering keys in a YAML file changes
    no result and must not rerun anything (Snakemake compares params as written)."""

    def canonical(value):
        if isinstance(value, dict):
            return {k: canonical(value[k]) for k in sorted(value)}
        return value

    return canonical(config[name])


def res(*parts):
    """A path under the results folder."""
    return os.path.join(RESULTS, *parts)


def logfile(*parts):
    return res("logs", *parts)


def benchfile(*parts):
    return res("benchmarks", *parts)


# --- inputs shared by every training job ------------------------------------------


def training_data():
    return {
        "train": res("data/train.json"),
        "val": res("data/val.json"),
        "test": res(f"data/{EVAL_SPLIT}.json"),
        "features": res("features/regions.h5"),
        "tokenizer": res("tokenizer"),
    }


def finetune_params():
    """Everything that changes a fine-tuning result (rerun trigger: params)."""
    return {
        "recipe": section("finetune"),
        "max_length": config["tokenizer"]["max_length"],
        "device": EXECUTION["device"],
    }


# --- the IMP chain ------------------------------------------------------------------


def trained_model(seed, sparsity):
    """The trained network at an IMP level (0: the dense fine-tuned network)."""
    sparsity = int(sparsity)
    if sparsity == 0:
        return res(f"seed{seed}/dense/model.safetensors")
    return res(f"seed{seed}/low{sparsity}/model.safetensors")


def low_mask_inputs(wildcards):
    prev = previous_level(int(wildcards.sparsity), PRUNING["step"])
    inputs = {
        "theta0": res(f"seed{wildcards.seed}/theta0.safetensors"),
        "trained": trained_model(wildcards.seed, prev),
    }
    if prev > 0:
        inputs["previous_mask"] = res(
            f"seed{wildcards.seed}/low{prev}/mask.safetensors"
        )
    return inputs


def random_mask_inputs(wildcards):
    inputs = {"theta0": res(f"seed{wildcards.seed}/theta0.safetensors")}
    if PRUNING["random"] == "per_layer":
        inputs["reference"] = res(
            f"seed{wildcards.seed}/low{wildcards.sparsity}/mask.safetensors"
        )
    return inputs


# --- targets ------------------------------------------------------------------------


def all_score_files():
    files = [res(f"seed{s}/dense/scores.json") for s in STUDY["seeds"]]
    for seed in STUDY["seeds"]:
        for kind, sparsity in subnetworks(STUDY):
            files.append(res(f"seed{seed}/{kind}{sparsity}/scores.json"))
    return files
