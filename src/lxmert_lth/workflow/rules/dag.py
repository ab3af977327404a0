"""The DAG's shape: the IMP chain's priorities, the targets of ``rule all`` and the
benchmarked jobs (a mixin of ``Rules``)."""

from __future__ import annotations

import re

from lxmert_lth.core.grid import (
    networks,
)
from lxmert_lth.core.network import (
    Network,
)
from lxmert_lth.pruning import chain, kinds

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

# A one-shot job's, which makes a network as pruned and its retrained twin; and the
# seconds of its calibration and pruning alone, which the job writes beside it (a time
# is no result: nothing in the results folder proper holds one).
ONE_SHOT_BENCHMARK = "seed{seed}/one_shot_{kind}{sparsity}.tsv"
ONE_SHOT_PRUNING = "seed{seed}/one_shot_{kind}{sparsity}.pruning.json"


class Dag:
    ONE_SHOT_BENCHMARK = ONE_SHOT_BENCHMARK
    ONE_SHOT_PRUNING = ONE_SHOT_PRUNING

    def one_shot_cost_files(self) -> tuple[dict[str, str], dict[str, str]]:
        """The one-shot report's records, by network folder: the benchmark files of the
        ticket's chain and of the one-shot jobs (keyed by their retrained networks), and
        the seconds of calibration and pruning of the one-shot networks as pruned."""
        benchmarks, pruning = {}, {}
        for network in chain.fine_tunes(self.study, self.pruning):
            kind = None if network.is_dense else kinds.KINDS[network.kind]
            if kind is None or kind.name not in ("low", "random", *kinds.ONE_SHOT_KINDS):
                continue
            if kind.made_by == "retrain":
                path = BENCHMARKS["retrain"].format(**network.row())
                benchmarks[network.folder] = self.benchfile(path)
            else:
                row = {**network.row(), "kind": kind.method}
                found = benchmarks if kind.trains else pruning
                template = ONE_SHOT_BENCHMARK if kind.trains else ONE_SHOT_PRUNING
                found[network.folder] = self.benchfile(template.format(**row))
        return benchmarks, pruning

    def one_shot_methods(self) -> list[str]:
        """The one-shot methods whose kinds the study asks for (either of the two)."""
        asked = {kinds.KINDS[k].method for k in self.study["kinds"] if k in kinds.ONE_SHOT_KINDS}
        return sorted(asked)

    def chain_priority(self, wildcards) -> int:
        """A fine-tune's level on the longest chain of fine-tunes after it: the IMP chain
        never waits behind the controls."""
        return self.levels.get(Network.from_wildcards(wildcards), 0)

    def kinds_with_weights(self) -> str:
        """The kinds whose retrained weights are kept (a wildcard constraint)."""
        retrained = [k for k in kinds.KINDS.values() if k.made_by == "retrain"]
        if self.study["keep_control_weights"]:
            return "|".join(k.name for k in retrained)
        return "|".join(k.name for k in retrained if not k.control)

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
        """Every network the run trains (the asked ones and the IMP levels they need; a
        one-shot network scored as pruned is not trained)."""
        return sorted(
            n for n in chain.fine_tunes(self.study, self.pruning)
            if n.is_dense or kinds.KINDS[n.kind].trains
        )  # fmt: skip

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
            kind = None if network.is_dense else kinds.KINDS[network.kind]
            if kind is not None and kind.made_by == "one_shot":  # one job, two networks
                row = {**network.row(), "kind": kind.method}
                jobs.append(
                    (f"one-shot {kind.method}", self.benchfile(ONE_SHOT_BENCHMARK.format(**row)))
                )
                continue
            name = "finetune_dense" if network.is_dense else "retrain"
            label = name if network.is_dense else f"retrain {network.kind}"
            jobs.append((label, self.benchfile(BENCHMARKS[name].format(**network.row()))))
        return jobs

    def report_targets(self) -> dict[str, list[str]]:
        """The report rules this run makes, each with its main files: ``rule all``'s
        targets, and the plan's count of report jobs."""
        runs = bool(self.config["compare_runs"])
        targets = {
            "collect_scores": ["scores.csv"],
            "table1": ["table1.md"],
            "figure1": ["figure1.png"],
            "module_sparsity": ["module_sparsity.md"],
            "training_curves": ["curves/curves.pdf"],
            "job_costs": ["benchmarks/costs.md"],
            "ticket_speed": ["benchmarks/speed.md"],
            # Linear mode connectivity, when asked for.
            "stability_report": ["stability.md", "stability_barrier.png"]
            if self.config["stability"]["enabled"]
            else [],
            # Accuracy out of distribution, when the run has shifted sets.
            "figure_ood": ["figure_ood.png", "ood.md"] if self.shifted else [],
            # The paper configuration also compares its numbers with the published ones.
            "compare_with_paper": ["comparison.md"] if self.dataset.published_results else [],
            # Other runs beside this one, when named (compare_runs).
            "compare_runs": ["runs.md"] if runs else [],
            "compare_speeds": ["benchmarks/runs_speed.md"] if runs else [],
            # One-shot pruning against the ticket, when asked for.
            "one_shot_costs": ["benchmarks/one_shot.md", "benchmarks/one_shot.png"]
            if self.one_shot_methods()
            else [],
            # Tickets across tasks, when named (compare_tasks).
            "compare_tasks": ["tasks.md", "tasks.png"] if self.config["compare_tasks"] else [],
        }
        return {rule: [self.res(f) for f in files] for rule, files in targets.items() if files}
