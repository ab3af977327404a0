"""Single weights (the paper): the IMP ticket prunes the lowest-magnitude weights of
what is left, the high-magnitude mask is the complement of the ticket at 100 - s, the
random mask draws the same count of weights, the shuffled ticket each tensor's count.
Only here do the authors' code's options apply (ranking, schedule, high, random;
docs/method.md, "The authors' code")."""

from __future__ import annotations

import numpy as np

from lxmert_lth.core.masks import Mask, num_to_prune
from lxmert_lth.pruning import single_weights
from lxmert_lth.pruning.granularities.base import Granularity, dense, load, ticket, weights


class Unstructured(Granularity):
    name = "unstructured"
    single_weights = True

    def params(self, options):
        return {}

    def low_params(self, options):
        """The ranking, and the authors' schedule when chosen (the paper's adds nothing)."""
        schedule = options.schedule == "remaining"
        return {"ranking": options.ranking} | (
            {"schedule": "remaining", "step": options.step} if schedule else {}
        )

    def high_params(self, options):
        return {"high": "authors"} if options.high == "authors" else {}

    def low_sources(self, network, options, study):
        if options.schedule == "remaining":  # every level from the dense network
            return {"trained": (dense(network, study), "trained")}
        return super().low_sources(network, options, study)

    def high_sources(self, network, options, study):
        if options.high == "authors":  # from the ticket at the same sparsity
            return {"low_mask": (ticket(network), "mask")}
        return super().high_sources(network, options, study)

    def random_sources(self, network, options, study):
        if options.random == "global":
            return {}
        return {"reference": (ticket(network), "mask")}

    def low(self, shapes, files, sparsity, options, meta):
        trained = weights(files["trained"])
        how = {"ranking": options.ranking, "trained": files["trained"]}
        if options.schedule == "remaining":
            mask, steps = single_weights.remaining_schedule_mask(
                trained, shapes, sparsity, options.step, options.ranking
            )
            return mask, how | {"schedule": "remaining", "step": options.step, "steps": steps}
        previous = load(files["previous_mask"]) if files.get("previous_mask") else None
        mask = single_weights.prune_lowest_magnitude(
            trained, previous or Mask.ones(shapes), sparsity, options.ranking
        )
        return mask, how

    def high(self, network, shapes, files, options, meta, seed):
        if options.high == "authors":
            return single_weights.authors_high_mask(load(files["low_mask"]), seed), {
                "high": "authors",
                "from": files["low_mask"],
            }
        return load(files["low_mask"]).complement(), {"complement_of": files["low_mask"]}

    def random(self, network, shapes, files, options, meta, seed):

        mode = options.random
        if mode == "coin_flip":
            return single_weights.coin_flip_mask(load(files["reference"]), seed), {"mode": mode}
        if mode == "per_layer":
            counts = load(files["reference"]).per_tensor_pruned()
        else:
            total = sum(int(np.prod(s)) for s in shapes.values())
            counts = num_to_prune(total, network.sparsity)
        return single_weights.random_mask(shapes, counts, seed=seed), {"mode": mode}

    def shuffled(self, shapes, files, options, meta, seed):
        counts = load(files["reference"]).per_tensor_pruned()
        return single_weights.random_mask(shapes, counts, seed), {"shuffled": files["reference"]}
