"""The memory each job asks Snakemake (and SLURM) for, derived from what it loads.

A training job holds, at its peak on the CPU, about six fp32 copies of its model
(weights, gradients, AdamW's two moments, the best weights so far, and the transient copy
of loading or of the mask maths), its question files as Python objects, and its region
features when they are read into memory; on a GPU most of that lives on the device, so
the request is generous there. The other jobs hold a model or two, or their question
files. ``bench/bench_job_memory.py`` and ``bench/rehearse_paper.py`` measure the jobs at
LXMERT-base's size against these requests (peaks as proportional set sizes: pages shared
between a job and its loader workers counted once, as a cgroup charges them); every
request doubles on a retry (``--retries``).
"""

from __future__ import annotations

import math

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
) -> int:
    """A fine-tuning or retraining job: its starting checkpoint (theta_0: the full
    model), its question files, and its features if held in memory."""
    mb = (
        RUNTIME_MB
        + MODEL_COPIES * checkpoint_bytes / MB
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
