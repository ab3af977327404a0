"""Stage of ``rules/one_shot.smk``: one job per (seed, method, sparsity) prunes the seed's
dense fine-tuned network in one shot, scores it as pruned (the kind ``{method}``), then
retrains it briefly under its mask and scores it again (``{method}ft``).

Nothing is rewound: the one-shot methods keep the trained weights (SparseGPT updates
them). The calibration reads ``one_shot.calibration_questions`` training questions drawn
with the seed, in batches of the fine-tuning's size. The seconds the calibration and the
pruning took (wall-clock, as the benchmark files count) are in the pruned network's history, so that
the costs can set them apart from the retraining's.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

from lxmert_lth.core.io import atomic_path, write_json
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.data.loaders import batches as draw_batches
from lxmert_lth.models import families
from lxmert_lth.models import tasks as task_models
from lxmert_lth.pruning import single_weights
from lxmert_lth.pruning.calibration import OneShotOptions, calibrated_mask
from lxmert_lth.pruning.enforcement import MaskEnforcer
from lxmert_lth.pruning.one_shot import magnitude_mask, n_of_m_mask
from lxmert_lth.runtime.devices import autocast, choose_device, configure_cuda
from lxmert_lth.training.inference import soft_accuracy
from lxmert_lth.training.loop import TrainConfig
from lxmert_lth.workflow.stages.finetuning import (
    PreparedNetwork,
    encode_splits,
    finetune,
    prepare_network,
    write_results,
)
from lxmert_lth.workflow.stages.training_job import (
    FinetuneOutputs,
    JobOptions,
    Scoring,
    StartingPoint,
    TrainingData,
)

log = logging.getLogger("lxmert_lth")


@dataclass(frozen=True)
class OneShotOutputs:
    mask: str
    pruned_model: str  # temporary: the retraining's start
    pruned: FinetuneOutputs  # the network as pruned (no weights kept)
    retrained_mask: str
    retrained: FinetuneOutputs
    pruning_seconds: str  # {"s", "cpu_s": calibration and pruning}, beside the benchmark


def one_shot_prune(
    data: TrainingData,
    dense_model: str,
    outputs: OneShotOutputs,
    network: Network,
    settings: Mapping,
    pruning: PruningOptions,
    recipe: dict,
    max_length: int,
    scoring: Scoring,
    options: JobOptions,
) -> None:
    """Prune ``dense_model`` by ``network.kind`` (magnitude, wanda, sparsegpt) to
    ``network.sparsity`` (``settings``: the ``one_shot`` section), score it, retrain it
    for ``settings["retrain_epochs"]`` epochs of ``recipe`` under its mask, score it."""
    device = choose_device(options.device)
    precision = configure_cuda(device, options.precision, options.tf32)
    prepared = prepare_network(StartingPoint(dense_model), data.answers, device)
    splits = encode_splits(data, prepared.meta.answers, max_length, device, options.loading,
                           scoring.task)  # fmt: skip
    cfg = TrainConfig.from_dict(recipe)
    started, cpu_started = time.perf_counter(), time.process_time()
    mask = _prune(prepared.model, prepared.meta.prunable, splits.train.encoded, network,
                  settings, pruning, cfg.batch_size)  # fmt: skip
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    log.info(
        "%s to %d%%: %.1f s of calibration and pruning", network.kind, network.sparsity, seconds
    )
    write_json(outputs.pruning_seconds, {"s": seconds, "cpu_s": cpu_seconds})
    mask.save(outputs.mask, **mask.metadata(prepared.num_prunable, kind=network.kind))
    pruned = PreparedNetwork(prepared.model, prepared.meta, mask,
                             MaskEnforcer(prepared.model, mask), mask.num_pruned,
                             prepared.num_prunable)  # fmt: skip
    with autocast(device, precision):  # scored as the retrained twin is
        val = soft_accuracy(prepared.model, splits.val.encoded, cfg.eval_batch_size)
    history = {"epochs": [], "best_epoch": 0, "best_val_accuracy": val, "steps": 0}
    as_pruned = replace(outputs.pruned, model=outputs.pruned_model)
    write_results(pruned, splits, history, as_pruned, network, scoring, cfg, precision)
    with atomic_path(outputs.retrained_mask) as tmp:  # the same mask, beside its network
        shutil.copyfile(outputs.mask, tmp)
    retrain = {**recipe, "epochs": settings["retrain_epochs"]}
    start = StartingPoint(outputs.pruned_model, outputs.mask)
    twin = Network(network.seed, f"{network.kind}ft", network.sparsity)
    finetune(data, start, outputs.retrained, twin, retrain, max_length, scoring, options,
             splits=splits)  # fmt: skip


def _prune(model, names, train, network: Network, settings, pruning: PruningOptions, batch_size):
    """The keep-mask of ``network.kind`` over the prunable weights ``names``, applied to
    ``model`` in place."""
    method, sparsity = network.kind, network.sparsity
    n_of_m = tuple(pruning.n_of_m) if pruning.granularity == "n_of_m" else None
    params = dict(model.named_parameters())
    if method == "magnitude":
        mask = _magnitude(params, names, sparsity, n_of_m, settings["magnitude"])
        with torch.no_grad():
            for name, keep in mask.tensors.items():
                params[name].mul_(
                    torch.from_numpy(keep).to(params[name].device, params[name].dtype)
                )
        return mask
    batches = _calibration(model, train, settings["calibration_questions"], batch_size,
                           network.seed)  # fmt: skip
    one_shot = OneShotOptions(method, None if n_of_m else sparsity, n_of_m,
                              settings["block_size"], settings["dampening"])  # fmt: skip
    return calibrated_mask(model, batches, names, one_shot)


def _magnitude(params, names, sparsity, n_of_m, ranking: str) -> Mask:
    """Magnitude of the trained weights: over all of them, per output row, or N:M."""
    weights = {n: params[n].detach().cpu() for n in names}
    if n_of_m is not None:
        return Mask({n: n_of_m_mask(w.abs().double(), *n_of_m).numpy() for n, w in weights.items()})
    if ranking == "per_row":
        return Mask(
            {n: magnitude_mask(w, sparsity, per_row=True).numpy() for n, w in weights.items()}
        )
    arrays = {n: w.numpy() for n, w in weights.items()}
    return single_weights.prune_lowest_magnitude(arrays, Mask.ones_like(arrays), sparsity)


def _calibration(model, train, questions: int, batch_size: int, seed: int) -> list[dict]:
    """The model's inputs for ``questions`` training questions drawn with ``seed``."""
    family, task_model = families.of_model(model), task_models.of_model(model)
    gen = torch.Generator().manual_seed(seed)
    taken, out = 0, []
    for batch in draw_batches(train, batch_size, gen):
        if taken >= questions:
            break
        keep = min(questions - taken, batch["input_ids"].shape[0])
        batch = {k: v[:keep] for k, v in batch.items()}
        out.append(task_model.inputs(family, batch))
        taken += keep
    return out
