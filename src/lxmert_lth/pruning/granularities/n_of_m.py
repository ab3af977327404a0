"""N of every M consecutive weights along a Linear layer's input (``pruning.n_of_m``,
2:4 by default; ``lxmert_lth.pruning.groups.n_of_m_mask``). Its masks prune exactly
100 x (1 - N / M) %, so the ticket is pruned from the dense network in one level and the
study's grid is that one sparsity. The high-magnitude mask keeps the N smallest of each
group (the complement at 2:4), the random mask a random N of each M, the shuffled ticket
moves each of the ticket's groups elsewhere in its matrix."""

from __future__ import annotations

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.pruning.granularities.base import Granularity, dense, load, weights
from lxmert_lth.pruning.groups import n_of_m_mask, random_n_of_m_mask, shuffle_groups


class NOfM(Granularity):
    name = "n_of_m"
    keeps_n_of_m = True

    def params(self, options):
        return {"granularity": self.name, "n_of_m": list(options.n_of_m)}

    def check(self, study, options):

        self.check_options(options)
        n, m = options.n_of_m
        if n >= m:
            raise ConfigError(f"pruning.n_of_m: n = {n} keeps every weight of a group of m = {m}")
        only = options.n_of_m_sparsity
        if only != int(only):
            raise ConfigError(
                f"pruning.n_of_m: {n}:{m} prunes {only:.2f} % of every group, not a whole "
                "percentage (a network's folder names its sparsity in whole percent)"
            )
        if sorted(study["sparsities"]) != [int(only)]:
            raise ConfigError(
                f"study.sparsities: with pruning.granularity n_of_m every group of {m} weights "
                f"keeps {n}, so every mask prunes exactly {int(only)} %: set study.sparsities "
                f"to [{int(only)}] (and study.table_sparsity to {int(only)}), not "
                f"{study['sparsities']}"
            )

    def low_sources(self, network, options, study):  # one level, from the dense network
        return {"trained": (dense(network, study), "trained")}

    def high_sources(self, network, options, study):  # the dense network, reversed
        return {"trained": (dense(network, study), "trained")}

    def _how(self, options) -> dict:
        return {"granularity": self.name, "n_of_m": list(options.n_of_m)}

    def low(self, shapes, files, sparsity, options, meta):

        n, m = options.n_of_m
        mask = n_of_m_mask(weights(files["trained"]), shapes, n, m)
        return mask, self._how(options) | {"trained": files["trained"]}

    def high(self, network, shapes, files, options, meta, seed):

        n, m = options.n_of_m
        mask = n_of_m_mask(weights(files["trained"]), shapes, n, m, largest=False)
        return mask, self._how(options) | {"smallest_of": files["trained"]}

    def random(self, network, shapes, files, options, meta, seed):

        n, m = options.n_of_m
        return random_n_of_m_mask(shapes, n, m, seed), self._how(options)

    def shuffled(self, shapes, files, options, meta, seed):

        mask = shuffle_groups(load(files["reference"]), options.n_of_m[1], seed)
        return mask, {"shuffled_groups": files["reference"]}
