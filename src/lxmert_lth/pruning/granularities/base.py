"""What every granularity answers (``Granularity``), and the defaults most share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from lxmert_lth.core.checkpoints import CheckpointTensors
from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.grid import check_levels, dense_network, previous_level
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.core.schema import defaults

# Sources: role -> (network, which of its files: kinds.TRAINED or kinds.MASK).
Sources = dict[str, tuple["Network", str]]
Made = tuple["Mask", dict]  # a mask and how it was made (written beside it)

# The authors' code's choices of how single weights are ranked and drawn, at their
# paper-text values: with whole structures or N:M groups they have no meaning.
SINGLE_WEIGHT_OPTIONS = {"ranking": "global", "schedule": "original", "high": "complement",
                         "random": "global"}  # fmt: skip


def dense(network: Network, study: Mapping) -> Network:

    return dense_network(network.seed, study)


def ticket(network: Network, sparsity: int | None = None) -> Network:
    """The IMP ticket of a network's seed (at its sparsity, or another)."""

    return Network(network.seed, "low", network.sparsity if sparsity is None else sparsity)


def load(path: str) -> Mask:

    return Mask.load(path)[0]


def weights(path: str):

    return CheckpointTensors(path)


class Granularity:
    """One granularity. ``shapes`` are the prunable tensors' shapes, ``files`` the
    sources' paths by role, ``meta`` theta_0's checkpoint metadata, ``seed`` a
    subnetwork's own seed (``pruning.kinds`` keeps the offsets that keep draws apart)."""

    name: ClassVar[str]
    # Whether a ticket can be made physically smaller (rule export_smaller) and is
    # timed that way (rule ticket_speed).
    removes_structures: ClassVar[bool] = False
    # Whether the authors' single-weight options (SINGLE_WEIGHT_OPTIONS) apply, and
    # whether pruning.structure_ranking does.
    single_weights: ClassVar[bool] = False
    ranks_structures: ClassVar[bool] = False
    # Whether pruning.n_of_m applies.
    keeps_n_of_m: ClassVar[bool] = False

    # --- the configuration ---------------------------------------------------------
    def params(self, options: PruningOptions) -> dict:
        """The options its masks depend on, beyond each kind's own: the rerun triggers
        of every mask job (none for unstructured, so that the paper's runs keep theirs)."""
        return {"granularity": self.name}

    def low_params(self, options: PruningOptions) -> dict:
        """The rerun triggers of a ticket's mask job."""
        return self.params(options)

    def high_params(self, options: PruningOptions) -> dict:
        """The rerun triggers of a high-magnitude mask's job."""
        return self.params(options)

    def check(self, study: Mapping, options: PruningOptions) -> None:
        """Raise ConfigError for a study this granularity cannot run: by default its
        options are checked and every sparsity must be an IMP level."""

        self.check_options(options)
        check_levels(study, options)

    def check_options(self, options: PruningOptions) -> None:
        """The single-weight options only where single weights are ranked, the
        structure ranking only where structures are."""

        for key, value in SINGLE_WEIGHT_OPTIONS.items():
            if not self.single_weights and getattr(options, key) != value:
                raise ConfigError(
                    f"pruning.{key}: {getattr(options, key)!r} ranks or draws single weights; "
                    f"with pruning.granularity {self.name} leave it {value!r}"
                )
        if not self.ranks_structures and options.structure_ranking != "shared":
            raise ConfigError(
                "pruning.structure_ranking: heads and neurons are ranked only with "
                f"pruning.granularity heads_neurons, not {self.name}"
            )
        group = defaults("pruning", "n_of_m")
        if not self.keeps_n_of_m and options.n_of_m != (group["n"], group["m"]):
            n, m = options.n_of_m
            raise ConfigError(
                f"pruning.n_of_m: {n} of every {m} are kept only with pruning.granularity "
                f"n_of_m, not {self.name}; leave it out"
            )

    # --- the kinds' sources --------------------------------------------------------
    def low_sources(self, network: Network, options: PruningOptions, study: Mapping) -> Sources:
        """IMP: a level is pruned from the previous level's trained network and mask."""

        prev = previous_level(network.sparsity, options.step)
        if prev == 0:
            return {"trained": (dense(network, study), "trained")}
        previous = ticket(network, prev)
        return {"trained": (previous, "trained"), "previous_mask": (previous, "mask")}

    def high_sources(self, network: Network, options: PruningOptions, study: Mapping) -> Sources:
        """The complement of the ticket at 100 - s."""
        return {"low_mask": (ticket(network, 100 - network.sparsity), "mask")}

    def random_sources(self, network: Network, options: PruningOptions, study: Mapping) -> Sources:
        return {}

    # --- the masks -----------------------------------------------------------------
    def low(self, shapes: Mapping, files: Mapping[str, str], sparsity: int,
            options: PruningOptions, meta) -> Made:  # fmt: skip
        """The ticket at ``sparsity`` from ``files["trained"]`` (and, for a level of IMP,
        ``files["previous_mask"]``; without it, in one shot from those weights)."""
        raise NotImplementedError

    def high(self, network: Network, shapes: Mapping, files: Mapping[str, str],
             options: PruningOptions, meta, seed: int) -> Made:  # fmt: skip
        raise NotImplementedError

    def random(self, network: Network, shapes: Mapping, files: Mapping[str, str],
               options: PruningOptions, meta, seed: int) -> Made:  # fmt: skip
        raise NotImplementedError

    def shuffled(self, shapes: Mapping, files: Mapping[str, str], options: PruningOptions,
                 meta, seed: int) -> Made:  # fmt: skip
        """The ticket (``files["reference"]``) with its pruning moved at random, keeping
        what this granularity keeps."""
        raise NotImplementedError
