"""The stage of ``rules/pretraining_tickets.smk``: one level of a pre-training ticket's IMP
chain (Gan et al., AAAI 2022, "Playing Lottery Tickets with Vision and Language").

Level ``s`` starts from the pretrained model (the run's own pre-training's, heads and
all) under the previous level's mask (everything at the first), continues pre-training
on the pre-training objectives with the mask kept at zero, and prunes the
lowest-magnitude surviving weights of the trained network to ``s`` percent. Only the
mask is kept: the next level rewinds to the pretrained weights, as every level of the
chain does, and each task fine-tunes the mask from its own theta_0 (the kind
``pretraining``, ``lxmert_lth.pruning.kinds``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import read_json, write_json
from lxmert_lth.core.masks import Mask, check_shapes
from lxmert_lth.models import families
from lxmert_lth.models.loading import from_pretrained
from lxmert_lth.models.modeling import num_parameters
from lxmert_lth.pruning.enforcement import MaskEnforcer, prunable_parameter_names
from lxmert_lth.pruning.single_weights import prune_lowest_magnitude
from lxmert_lth.runtime.devices import choose_device
from lxmert_lth.training.inference import ComputeClock
from lxmert_lth.training.loop import TrainConfig
from lxmert_lth.training.pretraining import pretrain
from lxmert_lth.workflow.stages.pretraining import objectives, pretraining_data

log = logging.getLogger("lxmert_lth")


def pretraining_level(
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    seed: int,
    sparsity: int,
    recipe: Mapping,
    pruning: Mapping,
    max_length: int,
    device: str,
) -> None:
    """Level ``sparsity`` of seed ``seed``'s pre-training ticket: continued pre-training
    (``recipe``: the run's pre-training recipe at the chain's epochs, data drawn from
    ``seed``) under ``inputs["previous_mask"]`` (none at the first level), then the mask
    of ``sparsity`` percent (``pruning``: its prunable modules and ranking) written to
    ``outputs["mask"]``, the epochs' record to ``outputs["history"]``."""
    dev = choose_device(device)
    tokenizer, answers, _, data, val = pretraining_data(inputs, max_length, dev)
    network = _pretrained_network(inputs["pretrained"]).to(dev)
    names = prunable_parameter_names(network, pruning["prunable_modules"])
    shapes = {n: tuple(p.shape) for n, p in network.named_parameters() if n in names}
    previous = _previous_mask(inputs.get("previous_mask"), shapes)
    mask, history = continue_and_prune(
        network, previous, data.encoded, val.encoded, tokenizer, seed, sparsity, recipe,
        pruning["ranking"], objectives(recipe, data, len(answers)),
    )  # fmt: skip
    how = {"kind": "pretraining", "seed": seed, "ranking": pruning["ranking"],
           "previous_mask": inputs.get("previous_mask")}  # fmt: skip
    mask.save(outputs["mask"], **mask.metadata(num_parameters(network), **how))
    write_json(outputs["history"], history)
    log.info("level %d: %d of %d pruned; model compute %.3f s", sparsity, mask.num_pruned,
             mask.num_prunable, ComputeClock.seconds)  # fmt: skip


def continue_and_prune(
    network, previous: Mask, data, val, tokenizer, seed: int, sparsity: int,
    recipe: Mapping, ranking: str, objectives: Mapping, progress: bool = True,
) -> tuple[Mask, list[dict]]:  # fmt: skip
    """``network`` (pretrained) rewound under ``previous``, pre-trained on ``data`` (by
    ``objectives``: ``stages.pretraining.objectives`` of the run's recipe) with
    the mask kept at zero, then pruned to ``sparsity`` percent of ``previous``'s prunable
    weights by magnitude (``ranking``); returns the mask and the epochs' record."""
    log.info("level %d: from %d of %d prunable weights pruned", sparsity,
             previous.num_pruned, previous.num_prunable)  # fmt: skip
    history = pretrain(
        network,
        data,
        tokenizer,
        TrainConfig.from_dict(recipe),
        seed,
        val=val,
        progress=progress,
        enforcer=MaskEnforcer(network, previous),  # the rewind: pretrained x mask
        **objectives,
    )
    params = dict(network.named_parameters())
    trained = {n: params[n].detach().cpu().numpy() for n in previous.tensors}
    return prune_lowest_magnitude(trained, previous, sparsity, ranking), history


def _pretrained_network(folder: str):
    """The run's pretrained model with its pre-training heads, as pre-training saved it."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise InputError(f"{path}: missing (a pre-training ticket starts from the run's "
                         "own pretrained model)")  # fmt: skip
    family = families.of_config(read_json(path), folder)
    return from_pretrained(family.pretraining_class(), folder)


def _previous_mask(path: str | None, shapes: Mapping[str, tuple]) -> Mask:
    """The previous level's mask (everything kept at the first level)."""
    if not path:
        return Mask.ones(shapes)
    mask = Mask.load(path)[0]
    check_shapes(mask, shapes, "the pretrained model's prunable weights")
    return mask
