import math
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
DATASET = config["dataset"]["name"]
ENV = "../envs/lxmert-lth.yaml"
# The labelled split that is scored locally: easy-VQA's test split; for VQA v2 minival
# (its test split is unlabelled and scored by the EvalAI server from predictions.json).
SCORE_SPLIT = "test" if DATASET == "easy_vqa" else "val"
SPLIT_LABEL = "test" if DATASET == "easy_vqa" else "minival"


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
        "test": res("data/test.json"),
        "answers": res("data/answers.json"),
        "features": res("features/regions.h5"),
        # The embedded default trains its own tokenizer; VQA v2 uses the pretrained one's.
        "tokenizer": res("tokenizer") if DATASET == "easy_vqa" else res("pretrained"),
    }


def finetune_params():
    """Everything that changes a fine-tuning result (rerun trigger: params)."""
    return {
        "recipe": section("finetune"),
        "max_length": config["tokenizer"]["max_length"],
        "device": EXECUTION["device"],
        "precision": EXECUTION.get("precision", "fp32"),
        "tf32": EXECUTION.get("tf32", False),
        "score_split": SCORE_SPLIT,
    }


# --- resources: GPUs, memory, and wall time for cluster jobs ---------------------------


def gpu_job_resources(stage):
    """Resources of a training job. ``runtime`` (minutes) scales with the epochs and the
    size of the training questions, doubled on each retry (``--retries``)."""
    recipe = config["finetune" if stage == "finetune" else "pretrain"]
    estimate = EXECUTION.get("runtime", {})
    per_mb = estimate.get(f"{stage}_s_per_mb", 10)

    def runtime(wildcards, input, attempt):
        size_mb = (
            os.path.getsize(input.train) / 2**20 if os.path.exists(input.train) else 1
        )
        minutes = (
            estimate.get("startup_min", 5) + recipe["epochs"] * size_mb * per_mb / 60
        )
        return int(math.ceil(minutes * 2 ** (attempt - 1)))

    return {
        "gpu": EXECUTION.get("gpus_per_job", 1),
        "mem_mb": EXECUTION.get("mem_mb", 4000),
        "runtime": runtime,
    }


def scratch(wildcards):
    """Resumable training state of a job: beside, never among, its declared outputs."""
    network = (
        f"{wildcards.kind}{wildcards.sparsity}"
        if "kind" in wildcards.keys()
        else "dense"
    )
    return res(".resume", f"seed{wildcards.seed}", network)


# --- the user's files (paper configuration) --------------------------------------------


def vqa_v2_files():
    """The question/answer files named in the configuration (inputs: edits rerun)."""
    dataset = config["dataset"]
    files = dataset[dataset["format"]]
    return {k: v for k, v in files.items() if isinstance(v, str)}


def local_paths(*values):
    """The values that are local files or directories (hub ids are not inputs)."""
    return [v for v in values if v and os.path.exists(v)]


def server_results(wildcards=None):
    """EvalAI result files the user dropped in {results}/evalai/seed{S}/{network}.json."""
    found = {}
    networks = ["dense"] + [f"{k}{s}" for k, s in subnetworks(STUDY)]
    for seed in STUDY["seeds"]:
        for network in networks:
            path = res("evalai", f"seed{seed}", f"{network}.json")
            if os.path.exists(path):
                found[f"seed{seed}/{network}"] = path
    return found


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
