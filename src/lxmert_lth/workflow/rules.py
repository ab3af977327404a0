"""What the rules (``rules/*.smk``) read of one configuration: paths, rerun triggers,
inputs, the IMP chain's priorities and the targets; its resource requests are
``workflow.resources.Requests``.

``rules/common.smk`` builds one ``Rules`` from the validated configuration (schema
defaults filled in) and hands its methods to the rules as input functions, params and
resources, so that every decision about the DAG is here, in tested Python, and the rules
stay glue. Nothing here imports torch: the Snakefile's parse reads it.

Params are rerun triggers: Snakemake compares them as written, so every value that
changes a job's result reaches it here, and a value at its default is left out where the
paper's runs were made without it (they keep their params, so nothing reruns).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from snakemake.exceptions import WorkflowError

from lxmert_lth.core.grid import (
    SHIFTED_PREFIX,
    dense_network,
    networks,
    theta0_seed,
)
from lxmert_lth.core.network import (
    DENSE_FOLDER,
    LATE,
    MASK,
    SUBNETWORK_FOLDER,
    THETA0_FILE,
    TRAINED,
    Network,
)
from lxmert_lth.core.options import PruningOptions
from lxmert_lth.core.schema import non_default
from lxmert_lth.data import datasets
from lxmert_lth.pruning import chain, granularities, kinds
from lxmert_lth.workflow import targets
from lxmert_lth.workflow.checks import family_of, prunable_pattern
from lxmert_lth.workflow.resources import SPLITS, Requests

# The benchmark file of every benchmarked job, by the rule's name (the jobs' own paths).
BENCHMARKS = {
    "extract_features": "extract_features.tsv",
    "index_images": "index_images.tsv",
    "pretrain": "pretrain.tsv",
    "prepare_vqa_v2": "prepare_vqa_v2.tsv",
    "convert_features": "convert_features.tsv",
    "import_pretrained": "import_pretrained.tsv",
    "finetune_dense": "seed{seed}/finetune_dense.tsv",
    "retrain": "seed{seed}/retrain_{kind}{sparsity}.tsv",
}


def canonical(value):
    """A configuration value with its mappings' keys sorted: reordering keys in a YAML
    file changes no result and must not rerun anything."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value)}
    return value


class Rules:
    """The rules' view of one validated configuration."""

    def __init__(self, config: Mapping):
        self.config = config
        self.results = config["results"]
        self.study = config["study"]
        self.pruning = config["pruning"]
        self.options = PruningOptions.of(self.pruning)
        self.execution = config["execution"]
        self.dataset = datasets.of(config)
        self.family = family_of(config)
        # The labelled split scored locally (easy-VQA's test, VQA v2's minival, VQA-CP's test).
        self.scored = self.dataset.scored
        # The shifted sets every training job scores beside it (dataset.shift, dataset.ood).
        self.shifted = self.dataset.shifted_sets(config["dataset"])
        # The dense fine-tunes write the late-rewinding point only when the late control
        # is asked for (turning it on reruns them, and so the study after them).
        self.writes_late = "late" in self.study["kinds"]
        self.levels = chain.levels(self.study, self.pruning)
        self.requests = Requests(config, self.family)

    # --- paths ------------------------------------------------------------------------
    def res(self, *parts: str) -> str:
        """A path under the results folder."""
        return os.path.join(self.results, *parts)

    def dense(self, name: str) -> str:
        """A file of the dense network of seed {seed}."""
        return self.res(DENSE_FOLDER, name)

    def subnetwork(self, name: str) -> str:
        """A file of the subnetwork {kind}{sparsity} of seed {seed}."""
        return self.res(SUBNETWORK_FOLDER, name)

    def network_file(self, network: Network, name: str) -> str:
        return self.res(network.folder, name)

    def theta0(self, seed="{seed}") -> str:
        """theta_0 of a seed's dense network (the one place its path is made)."""
        return self.res(THETA0_FILE.format(seed=seed))

    def logfile(self, *parts: str) -> str:
        return self.res("logs", *parts)

    def benchfile(self, *parts: str) -> str:
        return self.res("benchmarks", *parts)

    def recordfile(self, *parts: str) -> str:
        """What decided a job's digits (``runtime.numerics.record``): a log, not an output."""
        return self.res("records", *parts)

    def late_file(self) -> str:
        """The dense network after study.late_rewind_step optimizer steps (late control)."""
        return f"step{self.study['late_rewind_step']}.safetensors"

    def late_output(self) -> dict:
        """The late control's rewind point, an output of the dense job only when asked."""
        return {"late": self.dense(self.late_file())} if self.writes_late else {}

    def file_of(self, what: str) -> str:
        """A network's file by what a mask is made from (``core.network``)."""
        names = {TRAINED: "model.safetensors", MASK: "mask.safetensors"}
        return names[what] if what != LATE else self.late_file()

    def resume_folder(self, wildcards) -> str:
        """Resumable training state of a job: beside, never among, its declared outputs."""
        return self.res(".resume", Network.from_wildcards(wildcards).folder)

    # --- rerun triggers (params) ------------------------------------------------------
    def config_params(self, name: str):
        """A configuration section as params, keys sorted."""
        return canonical(self.config[name])

    def dataset_params(self) -> dict:
        """The dataset section as params, without the shifted sets' keys when they make
        none (runs made before them keep their params, so nothing reruns)."""
        params = self.config_params("dataset")
        if params.get("shift") is None:
            params.pop("shift", None)
        if not any((params.get("ood") or {}).values()):
            params.pop("ood", None)
        return params

    def numerics_params(self) -> dict:
        """The numerics of a job that computes with torch (they change its digits); the
        harness pins them before torch loads."""
        return {k: self.execution[k] for k in ("cpu_numerics", "deterministic")}

    def finetune_params(self) -> dict:
        """Everything that changes a fine-tuning result."""
        execution = self.execution
        return {
            "recipe": self.config_params("finetune"),
            "torch_threads": execution["train_threads"],
            "max_length": self.config["tokenizer"]["max_length"],
            "device": execution["device"],
            "precision": execution["precision"],
            "tf32": execution["tf32"],
            "scored_split": self.scored.name,
            "evaluation": self.config_params("evaluation"),
            **self.numerics_params(),
        }

    def theta0_params(self) -> dict:
        """What theta_0 depends on beyond its inputs: which weights are prunable (its
        metadata), the answer head, the family and, for the dense job, the late rewind
        step; the authors' options only when set."""
        params = {
            "prunable_modules": prunable_pattern(self.config),
            "answer_head": self.config["theta0"]["answer_head"],
            **non_default("model", {"family": self.family.name}),
            **non_default("pruning", {k: self.pruning[k] for k in ("prunable_set", "scope")}),
        }
        if self.writes_late:
            params["late_rewind_step"] = self.study["late_rewind_step"]
        return params

    def mask_params(self, wildcards) -> dict:
        """The pruning options a kind's subnetwork depends on: its kind's own
        (``pruning.kinds``), and enforce_masks only when off."""
        params = kinds.get(wildcards.kind).params(self.options, self.study)
        return {**params, **non_default("pruning", {"enforce_masks": self.options.enforce_masks})}

    # --- inputs -----------------------------------------------------------------------
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
        return {
            role: self.network_file(source, self.file_of(what))
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

    # --- the stability analysis (linear mode connectivity) -----------------------------
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

    # --- the IMP chain ----------------------------------------------------------------
    def chain_priority(self, wildcards) -> int:
        """A fine-tune's level on the longest chain of fine-tunes after it: the IMP chain
        never waits behind the controls."""
        return self.levels.get(Network.from_wildcards(wildcards), 0)

    def kinds_with_weights(self) -> str:
        """The kinds whose retrained weights are kept (a wildcard constraint)."""
        if self.study["keep_control_weights"]:
            return "|".join(kinds.KINDS)
        return "|".join(k.name for k in kinds.KINDS.values() if not k.control)

    # --- targets ----------------------------------------------------------------------
    def all_score_files(self) -> list[str]:
        return [self.network_file(n, "scores.json") for n in networks(self.study)]

    def all_mask_files(self) -> list[str]:
        return [
            self.network_file(n, "mask.safetensors") for n in networks(self.study) if not n.is_dense
        ]

    def all_kept_models(self) -> list[str]:
        """The trained weights the study keeps: dense, the tickets, and the controls' when
        study.keep_control_weights (asked for here, so turning it on reruns them)."""
        kept = re.compile(self.kinds_with_weights())
        return [
            self.network_file(n, "model.safetensors")
            for n in networks(self.study)
            if n.is_dense or kept.fullmatch(n.kind)
        ]

    def trained_networks(self) -> list[Network]:
        """Every network the run trains (the asked ones and the IMP levels they need)."""
        return sorted(chain.fine_tunes(self.study, self.pruning))

    @staticmethod
    def network_labels(network: Network) -> dict:
        """A network's labels in the report (its tables sort and filter by them)."""
        return {
            "seed": str(network.seed),
            "kind": network.kind,
            "sparsity": f"{network.sparsity:02d}",
        }

    def benchmarked_jobs(self) -> list[tuple[str, str]]:
        """(label, benchmark file) of every benchmarked job of this run: the data and model
        jobs by rule, the training jobs by rule and kind."""
        pixels = self.family.visual_input == "pixels"
        images = "index_images" if pixels else self.dataset.features_rule
        once = [images if name == "features" else name for name in self.dataset.once]
        jobs = [(name, self.benchfile(BENCHMARKS[name])) for name in once]
        for network in self.trained_networks():
            name = "finetune_dense" if network.is_dense else "retrain"
            label = name if network.is_dense else f"retrain {network.kind}"
            jobs.append((label, self.benchfile(BENCHMARKS[name].format(**network.row()))))
        return jobs
