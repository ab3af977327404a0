"""Subnetwork kinds: one declared class per kind, one registry entry each.

A kind says, in one place, which files its mask is made from (``sources``), how the mask
is made from them (``make``), which pruning options it depends on (``params``: the rerun
triggers of its jobs, so that changing one kind's option reruns that kind only), where
its rewound weights come from, whether it is a control of the ticket, and its label and
style in tables and figures (docs/method.md, "What the workflow does" and "The
choices"). The ticket and its direct comparisons (high, random) ask the configuration's
granularity (``lxmert_lth.pruning.granularities``) what they mean there.

A new kind is a class here, its entry in ``KINDS``, its name in the schema's
``study.kinds`` enum and its paragraph in docs/method.md. Nothing here imports torch: the
Snakefile reads the registry to build the DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.network import LATE, MASK, TRAINED, Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.pruning import granularities
from lxmert_lth.pruning.granularities.base import Made, Sources, dense, load, ticket

# Seeds of a subnetwork's own draws: the random mask's, and apart from it the others'.
HIGH_SEED_OFFSET = 300
SHUFFLE_SEED_OFFSET = 500
REINIT_SEED_OFFSET = 700


def draw_seed(network: Network) -> int:
    """The seed of a subnetwork's own draws (its random mask)."""
    return network.seed * 1000 + network.sparsity


def reinit_seed(network: Network) -> int:
    """The seed of a reinitialised ticket's fresh weights."""
    return draw_seed(network) + REINIT_SEED_OFFSET


class Kind:
    """One kind of subnetwork. ``shapes`` are the prunable tensors' shapes, ``files`` the
    sources' paths by role, ``meta`` theta_0's checkpoint metadata."""

    name: ClassVar[str]
    label: ClassVar[str]
    colour: ClassVar[str]
    marker: ClassVar[str]
    # A control of the IMP ticket (its trained weights are kept only when asked).
    control: ClassVar[bool] = True
    # Where its rewound weights come from: theta_0, the dense network's early weights
    # (LATE), or fresh draws of the prunable tensors ("fresh").
    rewind_from: ClassVar[str] = "theta0"
    # The job that makes it: "retrain" (its mask, rewound and retrained: rule
    # retrain_subnetwork) or "one_shot" (pruned from the dense network and scored as
    # pruned and after a short retraining, both by rule one_shot_prune).
    made_by: ClassVar[str] = "retrain"
    # Whether its network is trained (a one-shot network scored as pruned is not).
    trains: ClassVar[bool] = True
    # Its sources are outside this run's networks (``external_folder``: another run's
    # results, or a chain of its own): it waits for none of this run's fine-tunes.
    external: ClassVar[bool] = False

    def external_folder(self, study: Mapping, results: str) -> str | None:
        """The folder its sources are in, when not this run's networks' (``results``)."""
        return None

    @property
    def style(self) -> tuple[str, str]:
        return self.colour, self.marker

    def sources(self, network: Network, options: PruningOptions, study: Mapping) -> Sources:
        """Role -> (network, which of its files: TRAINED, MASK or LATE)."""
        return {"reference": (ticket(network), MASK)}

    def make(
        self, network: Network, shapes: Mapping, files: Mapping[str, str],
        options: PruningOptions, meta,
    ) -> Made:  # fmt: skip
        """The mask and how it was made (written beside it)."""
        raise NotImplementedError

    def params(self, options: PruningOptions, study: Mapping) -> dict:
        """The options its jobs depend on beyond the shared ones."""
        return granularities.of(options).params(options)


class Low(Kind):
    """The IMP ticket: the lowest-magnitude weights (or structures) pruned level by level."""

    name, label, colour, marker, control = "low", "low-magnitude", "tab:blue", "o", False

    def sources(self, network, options, study):
        return granularities.of(options).low_sources(network, options, study)

    def make(self, network, shapes, files, options, meta):
        return granularities.of(options).low(shapes, files, network.sparsity, options, meta)

    def params(self, options, study):
        return granularities.of(options).low_params(options)


class High(Kind):
    name, label, colour, marker = "high", "high-magnitude", "tab:orange", "s"

    def sources(self, network, options, study):
        return granularities.of(options).high_sources(network, options, study)

    def make(self, network, shapes, files, options, meta):
        seed = draw_seed(network) + HIGH_SEED_OFFSET
        return granularities.of(options).high(network, shapes, files, options, meta, seed)

    def params(self, options, study):
        return granularities.of(options).high_params(options)


class Random(Kind):
    name, label, colour, marker = "random", "random", "tab:green", "^"

    def sources(self, network, options, study):
        return granularities.of(options).random_sources(network, options, study)

    def make(self, network, shapes, files, options, meta):
        granularity = granularities.of(options)
        return granularity.random(network, shapes, files, options, meta, draw_seed(network))

    def params(self, options, study):
        return {"random": options.random, **super().params(options, study)}


class OneShot(Kind):
    """The ticket's sparsity pruned in one shot from the dense network."""

    name, label, colour, marker = "oneshot", "one-shot magnitude", "tab:purple", "D"

    def sources(self, network, options, study):
        return {"trained": (dense(network, study), TRAINED)}

    def make(self, network, shapes, files, options, meta):
        one_shot = replace(options, schedule="original")
        low = granularities.of(options).low
        mask, how = low(shapes, files, network.sparsity, one_shot, meta)
        return mask, how | {"one_shot": True}

    def params(self, options, study):
        return {"ranking": options.ranking, **super().params(options, study)}


class Shuffled(Kind):
    """The ticket with its pruning moved at random, keeping what the granularity keeps."""

    name, label, colour, marker = "shuffled", "shuffled ticket", "tab:brown", "v"

    def make(self, network, shapes, files, options, meta):
        seed = draw_seed(network) + SHUFFLE_SEED_OFFSET
        return granularities.of(options).shuffled(shapes, files, options, meta, seed)


class Reinit(Kind):
    """The ticket's mask on fresh draws of the prunable weights."""

    name, label, colour, marker = "reinit", "reinitialised ticket", "tab:pink", "P"
    rewind_from = "fresh"

    def make(self, network, shapes, files, options, meta):
        how = {"mask_of": files["reference"], "reinit_seed": reinit_seed(network)}
        return load(files["reference"]), how

    def params(self, options, study):
        return {}


class Late(Kind):
    """The ticket's mask on the dense network's weights after a few steps."""

    name, label, colour, marker = "late", "late-rewound ticket", "tab:cyan", "X"
    rewind_from = LATE

    def sources(self, network, options, study):
        return {"reference": (ticket(network), MASK), "late": (dense(network, study), LATE)}

    def make(self, network, shapes, files, options, meta):
        return load(files["reference"]), {"mask_of": files["reference"], "late": files["late"]}

    def params(self, options, study):
        return {"late_rewind_step": study["late_rewind_step"]}


class Transfer(Kind):
    """Another task's ticket over this run's theta_0 (Gan et al., AAAI 2022): the mask of
    ``study.transfer_from``'s IMP ticket of the same seed and sparsity, rewound to this
    run's theta_0 (the same pretrained encoder, this task's head) and retrained here."""

    name, label, colour, marker = "transfer", "transferred ticket", "tab:olive", "*"
    external = True

    def external_folder(self, study, results):
        return study["transfer_from"]

    def make(self, network, shapes, files, options, meta):
        return fitting_mask(files["reference"], shapes)

    def params(self, options, study):
        return {"transfer_from": study["transfer_from"]}


class Pretraining(Kind):
    """A pre-training ticket (Gan et al., AAAI 2022): the mask of IMP on the pre-training
    objectives (``rules/pretraining_tickets.smk``: continued pre-training from the
    pretrained weights, prune, rewind to them, repeat) of the same seed and sparsity,
    over this run's theta_0 and retrained on its task. The chain is this run's own
    (``{results}/pretraining``) or another run's (``study.pretraining_tickets_from``)."""

    name, label, colour, marker = "pretraining", "pre-training ticket", "navy", "h"
    external = True

    def external_folder(self, study, results):
        return pretraining_folder(study, results)

    def make(self, network, shapes, files, options, meta):
        return fitting_mask(files["reference"], shapes)

    def params(self, options, study):
        return {"pretraining_ticket_epochs": study["pretraining_ticket_epochs"]}


class OneShotPruned(Kind):
    """The dense fine-tuned network of the same seed pruned in one shot by ``method``
    (``lxmert_lth.pruning.one_shot``; docs/method.md, "One-shot pruning") and kept as it
    is: not rewound, not retrained. Its twin ``{name}ft`` is the same network after a
    short retraining under its mask (``one_shot.retrain_epochs``)."""

    method: ClassVar[str]
    made_by = "one_shot"
    rewind_from = "pruned"
    trains = False

    def sources(self, network, options, study):
        return {"trained": (dense(network, study), TRAINED)}

    def make(self, network, shapes, files, options, meta):
        raise NotImplementedError(f"{self.name}: made by rule one_shot_prune")

    def params(self, options, study):
        return {"method": self.method, **super().params(options, study)}


def _one_shot_kinds(method: str, label: str, colour: str, marker: str) -> tuple[Kind, Kind]:
    """A one-shot method's two kinds: as pruned, and retrained (``{method}ft``)."""
    pruned = type(method.title(), (OneShotPruned,), {
        "name": method, "label": label, "colour": colour, "marker": marker, "method": method,
    })()  # fmt: skip
    retrained = type(f"{method.title()}Retrained", (OneShotPruned,), {
        "name": f"{method}ft", "label": f"{label} + retraining", "colour": colour,
        "marker": marker, "method": method, "trains": True,
    })()  # fmt: skip
    return pruned, retrained


# Each one-shot method: its label, colour and marker (each kind's colour its own; a
# method's retrained twin shares it, drawn dashed).
ONE_SHOT_METHODS = {
    "magnitude": ("trained magnitude", "goldenrod", "v"),
    "wanda": ("Wanda", "tab:gray", ">"),
    "sparsegpt": ("SparseGPT", "tab:red", "<"),
}


def pretraining_folder(study: Mapping, results: str) -> str:
    """Where the pre-training tickets' chain is: ``PRETRAINING_FOLDER`` of this run's
    results, or of ``study.pretraining_tickets_from``'s."""
    return f"{study.get('pretraining_tickets_from') or results}/{PRETRAINING_FOLDER}"


PRETRAINING_FOLDER = "pretraining"


def fitting_mask(path: str, shapes: Mapping) -> Made:
    """A mask made elsewhere, as it is, once it fits this run's prunable weights."""
    mask = load(path)
    check_fits(mask, shapes, path)
    return mask, {"mask_of": path}


def check_fits(mask, shapes: Mapping, source: str) -> None:
    """A mask of another run prunes exactly this run's prunable tensors, shape for shape."""
    theirs = {name: tuple(t.shape) for name, t in mask.tensors.items()}
    ours = {name: tuple(shape) for name, shape in shapes.items()}
    if theirs != ours:
        name = sorted(set(theirs) ^ set(ours) or [n for n in ours if ours[n] != theirs[n]])[0]
        raise InputError(
            f"{source}: its mask does not fit this run's prunable weights (first: {name!r}, "
            f"{theirs.get(name)} there, {ours.get(name)} here): a mask taken from elsewhere must "
            "come from the same model family and architecture"
        )


# In the order of tables and figures.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Low(),
        High(),
        Random(),
        OneShot(),
        Shuffled(),
        Reinit(),
        Late(),
        Transfer(),
        Pretraining(),
        *(k for m, style in ONE_SHOT_METHODS.items() for k in _one_shot_kinds(m, *style)),
    )
}
# The controls of the ticket that retrain_subnetwork makes (the one-shot kinds are made
# by their own rule).
CONTROL_KINDS = tuple(
    name for name, kind in KINDS.items() if kind.control and kind.made_by == "retrain"
)
ONE_SHOT_KINDS = tuple(name for name, kind in KINDS.items() if kind.made_by == "one_shot")


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(KINDS)
        raise KeyError(f"{name!r} is not a kind of subnetwork (known: {known})") from None
