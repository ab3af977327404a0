# Paths, parameters and resources shared by the rules. Every network's folder comes from
# lxmert_lth.network, the one place that maps (seed, kind, sparsity) to a path.

import math
import os
import re

from lxmert_lth.network import (
    DENSE_FOLDER,
    SUBNETWORK_FOLDER,
    SUBNETWORK_KINDS,
    CONTROL_KINDS,
    Network,
)
from lxmert_lth import resources as memory
from lxmert_lth import families, granularities, study
from lxmert_lth.kinds import KINDS, PruningOptions
from snakemake.io import report as report_item  # report( opens a directive here
from lxmert_lth.study import networks, scored_split

RESULTS = config["results"]
STUDY = config["study"]
PRUNING = config["pruning"]
EXECUTION = config["execution"]
DATASET = config["dataset"]["name"]
FAMILY = study.family_of(config)
PRUNING_OPTIONS = PruningOptions.of(PRUNING)
ENV = "../envs/lxmert-lth.yaml"
# The labelled split scored locally: easy-VQA's test split; for VQA v2 minival (its
# test split is unlabelled and scored by the EvalAI server from predictions.json).
SCORED = scored_split(DATASET)


# A network's folder, e.g. seed0/dense or seed0/low50 (lxmert_lth.network).
NETWORK_FOLDER = rf"seed\d+/(dense|({'|'.join(SUBNETWORK_KINDS)})\d+)"


wildcard_constraints:
    seed=r"\d+",
    sparsity=r"\d+",
    kind="|".join(SUBNETWORK_KINDS),


def hold_results_lock():
    """One run at a time writes the results folder, whichever folder it runs from; the
    lock lasts as long as this (main) Snakemake process."""
    from lxmert_lth.io import InputError, lock_results

    global RESULTS_LOCK
    if workflow.is_main_process:
        try:
            RESULTS_LOCK = lock_results(RESULTS)
        except InputError as err:
            raise WorkflowError(str(err))


def config_params(name):
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


def dense(name):
    """A file of the dense network of seed {seed}."""
    return res(DENSE_FOLDER, name)


def subnetwork(name):
    """A file of the subnetwork {kind}{sparsity} of seed {seed}."""
    return res(SUBNETWORK_FOLDER, name)


def network_file(network, name):
    """A file of a given network (an lxmert_lth.network.Network)."""
    return res(network.folder, name)


def logfile(*parts):
    return res("logs", *parts)


def benchfile(*parts):
    return res("benchmarks", *parts)


def recordfile(*parts):
    """What decided a job's digits (lxmert_lth.numerics.record): a log, not an output."""
    return res("records", *parts)


def numerics_params():
    """The numerics of a job that computes with torch (rerun triggers: they change its
    digits); the harness pins them before torch loads."""
    return {
        "cpu_numerics": EXECUTION["cpu_numerics"],
        "deterministic": EXECUTION["deterministic"],
    }


# --- inputs shared by every training job ------------------------------------------


def visual_input():
    """What the family reads of every image: region features, or an index of the image
    files for a family that reads pixels."""
    if FAMILY.visual_input == "pixels":
        return res("features/images.json")
    return res("features/regions.h5")


def image_index_inputs():
    """easy-VQA's images ship in its package; VQA v2's are the questions' COCO files."""
    if DATASET == "easy_vqa":
        return {}
    splits = {s: res(f"data/{s}.json") for s in ("train", "val", "test")}
    return {**splits, "folder": config["images"]["folder"]}


def training_data():
    return {
        "train": res("data/train.json"),
        "val": res("data/val.json"),
        "test": res("data/test.json"),
        "answers": res("data/answers.json"),
        "features": visual_input(),
        # The embedded default trains its own tokenizer; VQA v2 uses the pretrained one's.
        "tokenizer": res("tokenizer") if DATASET == "easy_vqa" else res("pretrained"),
    }


def finetune_params():
    """Everything that changes a fine-tuning result (rerun trigger: params)."""
    return {
        "recipe": config_params("finetune"),
        "torch_threads": EXECUTION["train_threads"],
        "max_length": config["tokenizer"]["max_length"],
        "device": EXECUTION["device"],
        "precision": EXECUTION["precision"],
        "tf32": EXECUTION["tf32"],
        "scored_split": SCORED.name,
        "evaluation": config_params("evaluation"),
        **numerics_params(),
    }


# --- resources: GPUs, memory, and wall time for cluster jobs ---------------------------


def gpu_job_resources(stage):
    """Resources of a training job. ``runtime`` (minutes) scales with the epochs and the
    size of the training questions, doubled on each retry (``--retries``)."""
    recipe = config[stage]
    estimate = EXECUTION["runtime"]
    per_mb = estimate[f"{stage}_s_per_mb"]

    def runtime(wildcards, input, attempt):
        size_mb = (
            os.path.getsize(input.train) / 2**20 if os.path.exists(input.train) else 1
        )
        minutes = estimate["startup_min"] + recipe["epochs"] * size_mb * per_mb / 60
        return int(math.ceil(minutes * 2 ** (attempt - 1)))

    return {
        "gpu": EXECUTION["gpus_per_job"],
        "mem_mb": training_memory,
        "runtime": runtime,
    }


def size_of(*paths):
    """Bytes of the files and folders that exist (0 for one not written yet: a job's
    resources are computed again once its inputs are there)."""
    total = 0
    for path in paths:
        if os.path.isdir(path):
            for folder, _, files in os.walk(path):
                total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        elif os.path.exists(path):
            total += os.path.getsize(path)
    return total


def visual_memory_bytes(path):
    """A training job's images in memory: the features' file, or an index's pixels."""
    if not config["features"]["in_memory"] or not os.path.exists(path):
        return 0
    from lxmert_lth.images import memory_bytes

    return memory_bytes(path)


def training_memory(wildcards, input, attempt):
    """MB a training job asks for: execution.mem_mb when set, else derived from its
    starting checkpoint, question files and features (lxmert_lth.resources)."""
    if EXECUTION["mem_mb"]:
        return EXECUTION["mem_mb"] * 2 ** (attempt - 1)
    splits = [input[s] for s in ("train", "val", "test") if s in input.keys()]
    # The starting checkpoint: theta_0, or the pretrained model the dense job makes
    # theta_0 from; pre-training starts from none (size 0).
    start = input.get("theta0", input.get("pretrained"))
    return memory.training_mem_mb(
        size_of(start) if start else 0,
        size_of(*splits),
        visual_memory_bytes(input.features),
        config["features"]["in_memory"],
        EXECUTION["loader_workers"],
        attempt,
    )


def model_memory(wildcards, input, attempt):
    """MB of a job that loads and writes a model: a hub id (no local file) counts as
    the family's base model (fp32)."""
    return memory.model_job_mem_mb(
        size_of(*input) or 4 * FAMILY.base_parameters, attempt=attempt
    )


def speed_memory(wildcards, input, attempt):
    """ticket_speed: one network at a time beside theta_0's file (small ones together,
    lxmert_lth.speed.INTERLEAVE_BYTES)."""
    return memory.model_job_mem_mb(size_of(input.theta0), copies=3, attempt=attempt)


def index_memory(wildcards, input, attempt):
    """index_images reads the question files (VQA v2), never the images' bytes."""
    splits = [input[s] for s in ("train", "val", "test") if s in input.keys()]
    return memory.questions_job_mem_mb(size_of(*splits), attempt)


def questions_memory(wildcards, input, attempt):
    """MB of a job that reads question and annotation files."""
    return memory.questions_job_mem_mb(size_of(*input), attempt)


def resume_folder(wildcards):
    """Resumable training state of a job: beside, never among, its declared outputs."""
    return res(".resume", Network.from_wildcards(wildcards).folder)


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
    """EvalAI result files the user dropped in {results}/evalai/seedS/NETWORK.json, by
    network folder (seedS/NETWORK)."""
    found = {}
    for network in networks(STUDY):
        path = res("evalai", f"{network.folder}.json")
        if os.path.exists(path):
            found[network.folder] = path
    return found


# --- the IMP chain ------------------------------------------------------------------


def mask_sources(wildcards):
    """The files the mask of subnetwork {kind}{sparsity} is made from (docs/method.md)."""
    network = Network.from_wildcards(wildcards)
    return {
        role: network_file(source, FILE_OF[what])
        for role, (source, what) in study.mask_sources(network, PRUNING, STUDY).items()
    }


# Whether the dense fine-tunes write the late-rewinding point (only when asked: turning
# the late control on reruns them, and so the study after them).
WRITES_LATE = "late" in STUDY["kinds"]


def late_file():
    """The dense network after study.late_rewind_step optimizer steps (late control)."""
    return f"step{STUDY['late_rewind_step']}.safetensors"


FILE_OF = {
    study.TRAINED: "model.safetensors",
    study.MASK: "mask.safetensors",
    **({study.LATE: late_file()} if WRITES_LATE else {}),
}


def late_output():
    """The late control's rewind point, an output of the dense job only when asked for."""
    return {"late": dense(late_file())} if WRITES_LATE else {}


def theta0_of(wildcards):
    """theta_0 of a subnetwork: its dense network's (study.dense_seed: the shared one)."""
    seed = study.theta0_seed(Network.from_wildcards(wildcards), STUDY)
    return res(f"seed{seed}/theta0.safetensors")


# Each fine-tune's level (the longest chain of fine-tunes from it to the end of the study)
# is its scheduling priority: the IMP chain never waits behind the controls.
LEVELS = study.levels(STUDY, PRUNING)


def chain_priority(wildcards):
    return LEVELS.get(Network.from_wildcards(wildcards), 0)


def kinds_with_weights():
    """The kinds whose retrained weights are kept (a wildcard constraint)."""
    return "|".join(SUBNETWORK_KINDS) if STUDY["keep_control_weights"] else "low"


def exported_model(wildcards):
    """The trained weights of the network to export (the controls' only if kept)."""
    network = Network.from_folder(wildcards.network)
    if network not in study.fine_tunes(STUDY, PRUNING):
        raise WorkflowError(
            f"export/{network.folder}: not a network of this study (seeds {STUDY['seeds']}, "
            f"kinds {STUDY['kinds']}, sparsities {STUDY['sparsities']} and the IMP levels "
            "they need); exporting it would train it first"
        )
    if network.kind in CONTROL_KINDS and not STUDY["keep_control_weights"]:
        raise WorkflowError(
            f"{network.folder}: the trained weights of the controls are not kept; set "
            "study.keep_control_weights: true (its job then runs again) to export it"
        )
    return network_file(network, "model.safetensors")


def speed_inputs(wildcards):
    """ticket_speed: theta_0 and every mask of the first seed, the scores, and what a
    network needs to answer the scored split."""
    seed = STUDY["seeds"][0]
    dense = study.dense_network(seed, STUDY)
    data = training_data()
    return {
        "theta0": res(f"seed{dense.seed}/theta0.safetensors"),
        "masks": [
            network_file(n, "mask.safetensors")
            for n in networks(STUDY)
            if n.seed == seed and not n.is_dense
        ],
        "scores": res("scores.csv"),
        "questions": data[SCORED.name],
        **{k: data[k] for k in ("answers", "features", "tokenizer")},
    }


def smaller_inputs(wildcards):
    """A heads_neurons subnetwork's trained weights and mask (export_smaller)."""
    if not granularities.of(PRUNING_OPTIONS).removes_structures:
        raise WorkflowError(
            f"export/{wildcards.network}-smaller: only a network of whole heads and neurons "
            f"can be made smaller (pruning.granularity heads_neurons, not "
            f"{PRUNING_OPTIONS.granularity})"
        )
    network = Network.from_folder(wildcards.network)
    if network.is_dense:
        raise WorkflowError(
            f"export/{wildcards.network}-smaller: the dense network has no mask"
        )
    return {
        "model": exported_model(wildcards),
        "mask": network_file(network, "mask.safetensors"),
    }


def mask_params(wildcards):
    """The pruning options a kind's subnetwork depends on (rerun trigger: params): its
    kind's own (lxmert_lth.kinds), and enforce_masks only when off, so that the paper's
    runs keep their params."""
    params = KINDS[wildcards.kind].params(PRUNING_OPTIONS, STUDY)
    if not PRUNING_OPTIONS.enforce_masks:
        params["enforce_masks"] = False
    return params


def theta0_params():
    """What theta_0 depends on beyond its inputs: which weights are prunable (its
    metadata) and the answer head. The authors' options only when set (see mask_params).
    """
    params = {
        "prunable_modules": study.prunable_pattern(config),
        "answer_head": config["theta0"]["answer_head"],
    }
    if FAMILY.name != families.DEFAULT:
        params["family"] = FAMILY.name
    if PRUNING["prunable_set"] != "linear_weights":
        params["prunable_set"] = PRUNING["prunable_set"]
    if PRUNING["scope"] != "all":
        params["scope"] = PRUNING["scope"]
    return params


# --- targets ------------------------------------------------------------------------


def all_score_files():
    return [network_file(network, "scores.json") for network in networks(STUDY)]


def all_mask_files():
    return [
        network_file(network, "mask.safetensors")
        for network in networks(STUDY)
        if not network.is_dense
    ]


def all_kept_models():
    """The trained weights the study keeps: dense, the tickets, and the controls' when
    study.keep_control_weights (asked for here, so turning it on reruns the controls).
    """
    kept = re.compile(kinds_with_weights())
    return [
        network_file(network, "model.safetensors")
        for network in networks(STUDY)
        if network.is_dense or kept.fullmatch(network.kind)
    ]


# --- the report: training curves and costs ---------------------------------------------


def trained_networks():
    """Every network the run trains (the asked ones and the IMP levels they need)."""
    return sorted(study.fine_tunes(STUDY, PRUNING))


def network_labels(network):
    """A network's labels in the report (its tables sort and filter by them)."""
    return {
        "seed": str(network.seed),
        "kind": network.kind,
        "sparsity": f"{network.sparsity:02d}",
    }


def curve_outputs():
    """Each trained network's curves: a report item labelled by seed, kind and sparsity."""
    return [
        report_item(
            res("curves", f"{network.folder}.png"),
            caption="../report/curves.rst",
            category="Training curves",
            subcategory="per network",
            labels=network_labels(network),
        )
        for network in trained_networks()
    ]


# The benchmark file of every benchmarked job, by the rule's name (the jobs' own paths).
BENCHMARKS = {
    "extract_features": "extract_features.tsv",
    "index_images": "index_images.tsv",
    "pretrain": "pretrain.tsv",
    "prepare_vqa_v2": "prepare_vqa_v2.tsv",
    "convert_features": "convert_features.tsv",
    "import_pretrained": "import_pretrained.tsv",
    "finetune_dense": "seed{seed}/finetune_dense.tsv",
    "retrain": "seed{seed}/retrain_{kind}{sparsity}.tsv",
}


def benchmarked_jobs():
    """(label, benchmark file) of every benchmarked job of this run: the data and model
    jobs by rule, the training jobs by rule and kind."""
    if FAMILY.visual_input == "pixels":
        images = "index_images"
    else:
        images = "extract_features" if DATASET == "easy_vqa" else "convert_features"
    once = (
        [images, "pretrain"]
        if DATASET == "easy_vqa"
        else ["prepare_vqa_v2", images, "import_pretrained"]
    )
    jobs = [(name, benchfile(BENCHMARKS[name])) for name in once]
    for network in trained_networks():
        name = "finetune_dense" if network.is_dense else "retrain"
        label = name if network.is_dense else f"retrain {network.kind}"
        jobs.append((label, benchfile(BENCHMARKS[name].format(**network.row()))))
    return jobs
