"""The memory each job asks Snakemake (and SLURM) for, derived from what it loads.

A training job holds, at its peak on the CPU, about six fp32 copies of its model
(weights, gradients, AdamW's two moments, the best weights so far, and the transient copy
of loading or of the mask maths), its activations (``workflow.sizes.activation_bytes``:
a training step's or an evaluation batch's, whichever is larger), its question files as
Python objects, its region features when they are read into memory, and its loader
workers. On a GPU the activations live on the device: they are left out of the host's
request only where ``execution.device`` names CUDA (``auto`` may run on the CPU); the
rest is generous there. The other jobs hold a model or two, or their question
files. ``bench/bench_job_memory.py`` and ``bench/rehearse_paper.py`` measure the jobs at
LXMERT-base's size against these requests (peaks as proportional set sizes: pages shared
between a job and its loader workers counted once, as a cgroup charges them); every
request doubles on a retry (``--retries``). ``Requests`` hands the rules each job's request,
from the configuration and the job's inputs.
"""

from __future__ import annotations

import math
import os

from lxmert_lth.core.grid import SHIFTED_PREFIX
from lxmert_lth.data.images import memory_bytes
from lxmert_lth.workflow.sizes import EVAL_COST, activation_bytes

MB = 2**20
RUNTIME_MB = 1500  # Python, torch, transformers, h5py; a CUDA context on the host
MODEL_COPIES = 6  # fp32 model copies a training job holds at its peak
QUESTION_FACTOR = 10  # bytes in memory per byte of question JSON (Python objects)
# One feature-loading process: forked from the job, it comes to own the pages of the
# question records that it touches, besides its HDF5 cache and batches in flight.
# bench/rehearse_paper.py measured about 1.2 GB each at LXMERT-base (2 workers).
WORKER_MB = 1200
HEADROOM = 1.25


def _request(mb: float, attempt: int = 1) -> int:
    return int(math.ceil(mb * HEADROOM * 2 ** (attempt - 1)))


def training_mem_mb(
    checkpoint_bytes: int,
    questions_bytes: int,
    features_bytes: int,
    in_memory: bool,
    workers: int,
    attempt: int = 1,
    activations: int = 0,
) -> int:
    """A fine-tuning or retraining job: its starting checkpoint (theta_0: the full
    model), its question files, its features if held in memory, its loader workers, and
    the ``activations`` it holds in host memory (bytes)."""
    mb = (
        RUNTIME_MB
        + MODEL_COPIES * checkpoint_bytes / MB
        + activations / MB
        + QUESTION_FACTOR * questions_bytes / MB
        + (features_bytes / MB if in_memory else 0)
        + WORKER_MB * workers
    )
    return _request(mb, attempt)


def model_job_mem_mb(checkpoint_bytes: int, copies: int = 3, attempt: int = 1) -> int:
    """A job that builds, loads or writes a model (import, theta_0, export)."""
    return _request(RUNTIME_MB + copies * checkpoint_bytes / MB, attempt)


def questions_job_mem_mb(json_bytes: int, attempt: int = 1) -> int:
    """A job that reads question and annotation files into Python objects."""
    return _request(RUNTIME_MB + QUESTION_FACTOR * json_bytes / MB, attempt)


def size_of(*paths) -> int:
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


SPLITS = ("train", "val", "test")


class Requests:
    """The resources each rule asks for, from the configuration and the job's inputs (a
    Snakemake input function's ``wildcards, input, attempt``)."""

    def __init__(self, config, family):
        self.config, self.family = config, family
        self._activations: dict[str, int] = {}  # by stage: the same for every job

    def gpu_job_resources(
        self, stage: str, epochs: int | None = None, scored: int = 1, passes: int = 0
    ):
        """Resources of a training job, its memory a training job's (``training_memory``).
        ``runtime`` (minutes, doubled on each retry: ``--retries``): ``startup_min``, then
        ``{stage}_s_per_mb`` seconds per MB of question files the job trains on, its
        training split once an epoch (``epochs``: the stage's own by default), and
        ``sizes.EVAL_COST`` of that per MB it predicts: the validation split each epoch,
        the test split and any shifted sets ``scored`` times (a one-shot job scores two
        networks). A job that predicts only (the stability lines) gives ``epochs=0`` and
        its ``passes`` over the validation split."""
        epochs = self.config[stage]["epochs"] if epochs is None else epochs
        estimate = self.config["execution"]["runtime"]
        per_mb = estimate[f"{stage}_s_per_mb"]

        def runtime(wildcards, input, attempt):
            mb = {k: size_of(input[k]) / MB for k in input.keys() if k in SPLITS or
                  k.startswith(SHIFTED_PREFIX)}  # fmt: skip
            once = sum(size for k, size in mb.items() if k not in ("train", "val"))
            predicted = (epochs + passes) * mb.get("val", 0) + scored * once
            trained_mb = epochs * mb.get("train", 0) + EVAL_COST * predicted
            minutes = estimate["startup_min"] + trained_mb * per_mb / 60
            return int(math.ceil(max(minutes, 1) * 2 ** (attempt - 1)))

        return {
            "gpu": self.config["execution"]["gpus_per_job"],
            "mem_mb": self.training_memory(stage),
            "runtime": runtime,
        }

    def visual_memory_bytes(self, path: str) -> int:
        """A training job's images in memory: the features' file, or an index's pixels."""
        if not self.config["features"]["in_memory"] or not os.path.exists(path):
            return 0
        return memory_bytes(path)

    def host_activations(self, stage: str) -> int:
        """Bytes of a training job's activations in host memory: none where
        ``execution.device`` names CUDA, else ``workflow.sizes.activation_bytes``."""
        if self.config["execution"]["device"].startswith("cuda"):
            return 0
        if stage not in self._activations:
            self._activations[stage] = activation_bytes(self.config, stage)
        return self._activations[stage]

    def training_memory(self, stage: str):
        """MB a training job of ``stage`` asks for: execution.mem_mb when set, else
        derived from its starting checkpoint, question files, features, loader workers
        and activations (``training_mem_mb``)."""

        def request(wildcards, input, attempt) -> int:
            if self.config["execution"]["mem_mb"]:
                return self.config["execution"]["mem_mb"] * 2 ** (attempt - 1)
            splits = [input[s] for s in SPLITS if s in input.keys()]
            # theta_0, or the pretrained model the dense job makes it from; none for
            # pre-training.
            start = input.get("theta0", input.get("pretrained"))
            return training_mem_mb(
                size_of(start) if start else 0,
                size_of(*splits),
                self.visual_memory_bytes(input.features),
                self.config["features"]["in_memory"],
                self.config["execution"]["loader_workers"],
                attempt,
                self.host_activations(stage),
            )

        return request

    def model_memory(self, wildcards, input, attempt) -> int:
        """MB of a job that loads and writes a model: a hub id (no local file) counts as
        the family's base model (fp32)."""
        return model_job_mem_mb(size_of(*input) or 4 * self.family.base_parameters, attempt=attempt)

    def speed_memory(self, wildcards, input, attempt) -> int:
        """ticket_speed: one network at a time beside theta_0's file (small ones together,
        ``reporting.timing.INTERLEAVE_BYTES``)."""
        return model_job_mem_mb(size_of(input.theta0), copies=3, attempt=attempt)

    def questions_memory(self, wildcards, input, attempt) -> int:
        """MB of a job that reads question and annotation files."""
        return questions_job_mem_mb(size_of(*input), attempt)

    def index_memory(self, wildcards, input, attempt) -> int:
        """index_images reads the question files (VQA v2), never the images' bytes."""
        splits = [input[s] for s in SPLITS if s in input.keys()]
        return questions_job_mem_mb(size_of(*splits), attempt)

    def costs_memory(self, wildcards, input, attempt) -> int:
        """job_costs counts the question files' records (VQA v2: 389 MiB of JSON)."""
        return questions_job_mem_mb(size_of(*input.questions), attempt)
