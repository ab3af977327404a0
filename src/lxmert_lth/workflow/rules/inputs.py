"""The rules' inputs: what each job reads, as files of the DAG (a mixin of ``Rules``)."""

from __future__ import annotations

import os

from snakemake.exceptions import WorkflowError

from lxmert_lth.core.grid import (
    SHIFTED_PREFIX,
    dense_network,
    networks,
    previous_level,
    theta0_seed,
)
from lxmert_lth.core.network import (
    Network,
)
from lxmert_lth.pruning import chain, granularities, kinds
from lxmert_lth.workflow import targets
from lxmert_lth.workflow.resources import SPLITS


class Inputs:
    def visual_input(self) -> str:
        """What the family reads of every image: region features, or an index of the
        image files for a family that reads pixels."""
        if self.family.visual_input == "pixels":
            return self.res("features/images.json")
        return self.res("features/regions.h5")

    def features_to_check(self) -> dict:
        """The region features the preparation checks every question's image against
        (a family that reads pixels: its image index, made from the questions, does)."""
        if self.family.visual_input == "pixels":
            return {}
        return {"features": self.res("features/regions.h5")}

    def image_index_inputs(self) -> dict:
        """The questions' image files under the dataset's folder (none where the images
        ship with the dataset's package)."""
        folder = self.dataset.image_folder(self.config)
        if folder is None:
            return {}
        splits = {s: self.res(f"data/{s}.json") for s in SPLITS}
        return {**splits, "folder": folder}

    def preparation_files(self) -> dict:
        """What the easy-VQA preparation writes for the dataset: its splits and answers,
        and the files pre-training reads (``Dataset.pretraining_files``)."""
        fixed = {s: self.res(f"data/{s}.json") for s in (*SPLITS, "answers")}
        names = {"train": "pretrain", "val": "pretrain_val", "answers": "pretrain_answers"}
        own = {names[k]: self.res(path) for k, path in self.dataset.pretraining_files.items()}
        return {**{k: v for k, v in own.items() if v not in fixed.values()}, **fixed}

    def pretraining_data(self) -> dict:
        """The pretrain rule's inputs: its question files and answers, and the images
        and tokenizer."""
        files = {k: self.res(path) for k, path in self.dataset.pretraining_files.items()}
        return {**files, "features": self.visual_input(), "tokenizer": self.res("tokenizer")}

    def pretraining_level_inputs(self, wildcards) -> dict:
        """A level of the pre-training tickets' chain: the pre-training data, the
        pretrained model and the previous level's mask (none at the first)."""
        inputs = {**self.pretraining_data(), "pretrained": self.res("pretrained")}
        previous = previous_level(int(wildcards.sparsity), self.options.step)
        if previous > 0:
            inputs["previous_mask"] = self.pretraining_mask(int(wildcards.seed), previous)
        return inputs

    def pretraining_mask(self, seed: int, sparsity: int) -> str:
        """This run's pre-training ticket of ``seed`` at ``sparsity``."""
        folder = kinds.pretraining_folder({}, self.results)
        return os.path.join(folder, Network(seed, "low", sparsity).folder, "mask.safetensors")

    def shifted_files(self) -> dict:
        """The shifted sets' question files, keyed as the data and training rules name them."""
        return {SHIFTED_PREFIX + n: self.res(f"data/shifted/{n}.json") for n in self.shifted}

    def training_data(self) -> dict:
        return {
            **{s: self.res(f"data/{s}.json") for s in SPLITS},
            **self.shifted_files(),
            "answers": self.res("data/answers.json"),
            "features": self.visual_input(),
            # The embedded default trains its own tokenizer; VQA v2 uses the pretrained one's.
            "tokenizer": self.res(self.dataset.tokenizer),
        }

    def question_files(self) -> dict:
        """The question/answer files named in the configuration, and the shifted sets'
        (``dataset.ood``; inputs: edits rerun)."""
        return self.dataset.question_files(self.config["dataset"])

    @staticmethod
    def local_paths(*values) -> list:
        """The values that are local files or directories (hub ids are not inputs)."""
        return [v for v in values if v and os.path.exists(v)]

    def server_results(self, wildcards=None) -> dict:
        """EvalAI result files the user dropped in {results}/evalai/seedS/NETWORK.json, by
        network folder."""
        found = {}
        for network in networks(self.study):
            path = self.res("evalai", f"{network.folder}.json")
            if os.path.exists(path):
                found[network.folder] = path
        return found

    def study_network(self, network: Network, target: str) -> Network:
        return targets.study_network(network, self.study, self.pruning, target)

    def dense_training_data(self, wildcards) -> dict:
        """finetune_dense's data, for a dense network of the study."""
        self.study_network(Network(int(wildcards.seed)), f"seed{wildcards.seed}/dense")
        return self.training_data()

    def mask_sources(self, wildcards) -> dict:
        """The files the mask of subnetwork {kind}{sparsity} is made from."""
        network = Network.from_wildcards(wildcards)
        self.study_network(network, network.folder)
        sources = chain.mask_sources(network, self.pruning, self.study)
        folder = kinds.get(network.kind).external_folder(self.study, self.results) or self.results
        return {
            role: os.path.join(folder, source.folder, self.file_of(what))
            for role, (source, what) in sources.items()
        }

    def theta0_of(self, wildcards) -> str:
        """theta_0 of a subnetwork: its dense network's (study.dense_seed: the shared one)."""
        return self.theta0(theta0_seed(Network.from_wildcards(wildcards), self.study))

    def first_theta0(self) -> str:
        """A theta_0 the run makes (the first seed's dense network's): the model's size."""
        return self.theta0(dense_network(self.study["seeds"][0], self.study).seed)

    def exported_model(self, wildcards) -> str:
        """The trained weights of the network to export (the controls' only if kept)."""
        network = Network.from_folder(wildcards.network)
        self.study_network(network, f"export/{network.folder}")
        if network.kind in kinds.CONTROL_KINDS and not self.study["keep_control_weights"]:
            raise WorkflowError(
                f"{network.folder}: the trained weights of the controls are not kept; set "
                "study.keep_control_weights: true (its job then runs again) to export it"
            )
        return self.network_file(network, "model.safetensors")

    def smaller_inputs(self, wildcards) -> dict:
        """A heads_neurons subnetwork's trained weights and mask (export_smaller)."""
        if not granularities.of(self.options).removes_structures:
            raise WorkflowError(
                f"export/{wildcards.network}-smaller: only a network of whole heads and "
                "neurons can be made smaller (pruning.granularity heads_neurons, not "
                f"{self.options.granularity})"
            )
        network = Network.from_folder(wildcards.network)
        self.study_network(network, f"export/{network.folder}-smaller")
        if network.is_dense:
            raise WorkflowError(
                f"export/{wildcards.network}-smaller: the dense network has no mask"
            )
        return {
            "model": self.exported_model(wildcards),
            "mask": self.network_file(network, "mask.safetensors"),
        }

    def speed_inputs(self, wildcards=None) -> dict:
        """ticket_speed: theta_0 and every mask of the first seed, the scores, and what a
        network needs to answer the scored split."""
        seed = self.study["seeds"][0]
        data = self.training_data()
        return {
            "theta0": self.first_theta0(),
            "masks": [
                self.network_file(n, "mask.safetensors")
                for n in networks(self.study)
                if n.seed == seed and not n.is_dense
            ],
            "scores": self.res("scores.csv"),
            "questions": data[self.scored.name],
            **{k: data[k] for k in ("answers", "features", "tokenizer")},
        }
