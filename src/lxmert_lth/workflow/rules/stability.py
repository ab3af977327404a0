"""The stability analysis' paths, pairs and inputs (linear mode connectivity; a mixin
of ``Rules``)."""

from __future__ import annotations

import os

from lxmert_lth.core.grid import (
    dense_network,
    theta0_seed,
)
from lxmert_lth.core.network import (
    Network,
)
from lxmert_lth.pruning import chain
from lxmert_lth.workflow import targets


class Stability:
    STABILITY = "seed{seed}/{network}/stability/{rewind}"

    def stability_file(self, name: str, pair: tuple[Network, str] | None = None) -> str:
        """A file of the stability pair {network} from {rewind} of seed {seed}."""
        folder = self.STABILITY
        if pair is not None:
            network, rewind = pair
            folder = folder.format(seed=network.seed, network=network.name, rewind=rewind)
        return self.res(folder, name)

    def stability_pairs(self) -> list[tuple[Network, str]]:
        return chain.stability_pairs(self.study, self.config["stability"])

    def pair_network(self, wildcards) -> Network:
        """The network of a stability pair of the study (lxmert_lth.workflow.targets)."""
        w = wildcards
        target = self.STABILITY.format(seed=w.seed, network=w.network, rewind=w.rewind)
        orders, order = self.config["stability"]["orders"], getattr(w, "order", None)
        folder = f"seed{w.seed}/{w.network}"
        return targets.stability_pair(
            target, folder, w.rewind, self.stability_pairs(), orders, order
        )

    def copy_inputs(self, wildcards) -> dict:
        """A copy's start: theta_0 (and the dense network's step-K weights when it starts
        there) and, for a subnetwork, its kept mask."""
        network = self.pair_network(wildcards)
        files = {"theta0": self.theta0(theta0_seed(network, self.study))}
        if wildcards.rewind.startswith("step"):
            dense = dense_network(network.seed, self.study)
            files["late"] = self.network_file(dense, self.late_file())
        if not network.is_dense:
            files["mask"] = self.network_file(network, "mask.safetensors")
        return files

    def line_inputs(self, wildcards) -> dict:
        """The two copies' weights, the mask (a subnetwork's) and the validation split."""
        network = self.pair_network(wildcards)
        orders = self.config["stability"]["orders"]
        copies = {
            f"copy{i}": self.stability_file(
                f"order{o}/model.safetensors", (network, wildcards.rewind)
            )
            for i, o in enumerate(orders)
        }
        data = self.training_data()
        files = {**copies, **{k: data[k] for k in ("val", "answers", "features", "tokenizer")}}
        files["theta0"] = self.theta0(theta0_seed(network, self.study))  # its memory's measure
        if not network.is_dense:
            files["mask"] = self.network_file(network, "mask.safetensors")
        return files

    def all_lines(self) -> list[str]:
        return [self.stability_file("line.json", pair) for pair in self.stability_pairs()]

    def copy_resume_folder(self, wildcards) -> str:
        network = self.pair_network(wildcards)
        pair = (network, wildcards.rewind)
        folder = os.path.relpath(self.stability_file(f"order{wildcards.order}", pair), self.results)
        return self.res(".resume", folder)
