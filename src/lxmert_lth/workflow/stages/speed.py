"""Stage of rule ``ticket_speed``: each subnetwork's speed on this machine's CPU against
the dense network's, beside its accuracy (a compute job: it loads every network).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from lxmert_lth.core.network import Network
from lxmert_lth.data import tasks
from lxmert_lth.data.images import open_store
from lxmert_lth.data.loaders import encode_split
from lxmert_lth.data.questions import read_answer_list
from lxmert_lth.data.tasks import Task
from lxmert_lth.data.tokenization import load_tokenizer
from lxmert_lth.pruning import granularities
from lxmert_lth.reporting.report import write_table
from lxmert_lth.reporting.speed import plot, with_accuracy
from lxmert_lth.reporting.timing import measure


def ticket_speed(
    theta0: str,
    masks: Mapping[str, str],
    scores_csv: str,
    data: Mapping[str, str],
    outputs: Mapping[str, str],
    granularity: str,
    max_length: int,
    split: str,
    questions: int,
    threads: int,
    repeats: int = 5,
    task: Task = tasks.DEFAULT,
) -> None:
    """Each subnetwork's CPU speed against the dense network's, beside its accuracy
    (``lxmert_lth.reporting.speed``)."""
    import torch

    torch.set_num_threads(threads)
    first = task.read(data["questions"])[:questions]
    split_data = encode_split(
        first,
        load_tokenizer(data["tokenizer"]),
        read_answer_list(data["answers"]),
        open_store(data["features"]),
        max_length,
        data["questions"],
        task=task,
    )
    networks = {Network.from_folder(folder): path for folder, path in masks.items()}
    speeds = measure(theta0, networks, granularity, split_data, repeats=repeats)
    table = with_accuracy(speeds, pd.read_csv(scores_csv))
    removed = granularities.get(granularity).removes_structures
    caption = (
        f"Speed on this machine's CPU (one thread; the first {len(first)} {task.noun}s of the "
        f"{split} split in batches of 32) of theta_0 under each mask of the first seed, "
        f"{'its pruned structures removed' if removed else 'masked'}"
        f" (granularity {granularity}), against the dense network; accuracy is the "
        "network's mean over seeds."
    )
    write_table(table.round(3), outputs["csv"], outputs["md"], caption)
    plot(table, outputs["png"], outputs["pdf"], f"Accuracy vs. CPU speed-up ({granularity})")
