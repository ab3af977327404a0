"""Whole attention heads and feed-forward neurons (``lxmert_lth.pruning.structures``): IMP over
structures ranked by their weights' mean magnitude, on the same levels as single
weights; the high-magnitude mask is the ticket's complement over structures at 100 - s,
the random mask prunes structures in a seeded random order, the shuffled ticket draws
the ticket's count of each block's heads and neurons within that block. A ticket can be
made physically smaller (``lxmert_lth.pruning.shrink``)."""

from __future__ import annotations

from lxmert_lth.models import families
from lxmert_lth.pruning.granularities.base import Granularity, load, weights
from lxmert_lth.pruning.structures import (
    complement_structures,
    heads_neurons_mask,
    shuffle_structures,
)


def geometry(meta) -> tuple:
    """(family, attention heads) of theta_0's metadata: what its heads and neurons are."""

    return families.of_config(meta.config), meta.config["num_attention_heads"]


class HeadsNeurons(Granularity):
    name = "heads_neurons"
    removes_structures = True
    ranks_structures = True

    def params(self, options):
        separate = (
            {"structure_ranking": "separate"} if options.structure_ranking != "shared" else {}
        )
        return {"granularity": self.name, **separate}

    def _how(self, options) -> dict:
        return {"granularity": self.name, "structure_ranking": options.structure_ranking}

    def low(self, shapes, files, sparsity, options, meta):

        family, heads = geometry(meta)
        previous = load(files["previous_mask"]) if files.get("previous_mask") else None
        mask = heads_neurons_mask(weights(files["trained"]), shapes, family, heads, sparsity,
                                  previous, ranking=options.structure_ranking)  # fmt: skip
        return mask, self._how(options) | {"trained": files["trained"]}

    def high(self, network, shapes, files, options, meta, seed):

        family, heads = geometry(meta)
        mask = complement_structures(shapes, family, heads, load(files["low_mask"]))
        return mask, {"granularity": self.name, "complement_of": files["low_mask"]}

    def random(self, network, shapes, files, options, meta, seed):

        family, heads = geometry(meta)
        mask = heads_neurons_mask(None, shapes, family, heads, network.sparsity, seed=seed,
                                  ranking=options.structure_ranking)  # fmt: skip
        return mask, self._how(options)

    def shuffled(self, shapes, files, options, meta, seed):

        family, heads = geometry(meta)
        mask = shuffle_structures(shapes, family, heads, load(files["reference"]), seed)
        return mask, {"granularity": self.name, "shuffled_structures": files["reference"]}
