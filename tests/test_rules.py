"""lxmert_lth.workflow.rules: what rules/common.smk hands the rules, on validated
configurations (the embedded default, its overlays, the paper configuration)."""

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from snakemake.exceptions import WorkflowError

from lxmert_lth.core.network import Network
from lxmert_lth.core.schema import SCHEMA
from lxmert_lth.workflow.plan import load_config
from lxmert_lth.workflow.rules import Rules, canonical

ROOT = Path(__file__).resolve().parents[1]


def rules(*overlays: str, base: str | None = "config.yaml", **changes) -> Rules:
    """The rules' view of config.yaml with overlays of configs/ (or ``base`` alone)."""
    files = [ROOT / base] if base else []
    files += [ROOT / "configs" / f"{o}.yaml" for o in overlays]
    config = load_config(files, SCHEMA)
    for section, values in changes.items():
        config[section] = {**config[section], **values} if isinstance(values, dict) else values
    return Rules(config)


class _Wildcards(dict):
    """Snakemake's wildcards: a mapping whose values are strings, and attributes."""

    def __getattr__(self, name):
        return str(self[name])

    def __getitem__(self, name):
        return str(dict.__getitem__(self, name))


def test_paths_come_from_the_network_identity_and_theta0_has_one_home():
    r = rules()
    assert r.theta0() == "results/seed{seed}/theta0.safetensors"
    assert r.theta0(3) == "results/seed3/theta0.safetensors"
    assert r.dense("model.safetensors") == "results/seed{seed}/dense/model.safetensors"
    assert (
        r.subnetwork("mask.safetensors") == "results/seed{seed}/{kind}{sparsity}/mask.safetensors"
    )
    assert r.theta0_of(_Wildcards(seed=1, kind="low", sparsity=50)) == r.theta0(1)
    assert (
        r.resume_folder(_Wildcards(seed=1, kind="low", sparsity=50))
        == "results/.resume/seed1/low50"
    )
    assert r.first_theta0() == r.theta0(0)


def test_a_shared_dense_network_shares_its_theta0():
    r = rules("authors_code")
    seed = r.study["dense_seed"]
    for s in r.study["seeds"]:
        assert r.theta0_of(_Wildcards(seed=s, kind="low", sparsity=50)) == r.theta0(seed)


def test_params_sort_keys_and_leave_the_papers_defaults_out():
    assert list(canonical({"b": 1, "a": {"d": 1, "c": 2}})) == ["a", "b"]
    assert list(canonical({"b": 1, "a": {"d": 1, "c": 2}})["a"]) == ["c", "d"]
    r = rules()
    assert list(r.config_params("finetune")) == sorted(r.config["finetune"])
    # The paper's runs were made without these: at their values they stay out.
    assert set(r.theta0_params()) == {"prunable_modules", "answer_head"}
    scope = rules("scope/language")
    assert scope.theta0_params()["scope"] == "language"
    controls = rules("controls", results="results")
    assert controls.theta0_params()["late_rewind_step"] == controls.study["late_rewind_step"]
    assert r.numerics_params() == {"cpu_numerics": "portable", "deterministic": True}


def test_each_kind_declares_the_options_its_mask_depends_on():
    r = rules("controls")
    assert r.mask_params(_Wildcards(kind="low")) == {"ranking": "global"}
    assert r.mask_params(_Wildcards(kind="random")) == {"random": "global"}
    assert r.mask_params(_Wildcards(kind="reinit")) == {}
    late = r.mask_params(_Wildcards(kind="late"))
    assert late == {"late_rewind_step": r.study["late_rewind_step"]}
    off = rules(pruning={"enforce_masks": False})
    assert off.mask_params(_Wildcards(kind="high"))["enforce_masks"] is False


def test_a_masks_sources_are_the_files_of_the_chain():
    r = rules("controls", results="results")
    low = r.mask_sources(_Wildcards(seed=0, kind="low", sparsity=20))
    assert low == {
        "trained": "results/seed0/low10/model.safetensors",
        "previous_mask": "results/seed0/low10/mask.safetensors",
    }
    assert r.mask_sources(_Wildcards(seed=0, kind="low", sparsity=10)) == {
        "trained": "results/seed0/dense/model.safetensors"
    }
    assert r.mask_sources(_Wildcards(seed=1, kind="high", sparsity=20)) == {
        "low_mask": "results/seed1/low80/mask.safetensors"
    }
    step = r.study["late_rewind_step"]
    assert r.mask_sources(_Wildcards(seed=2, kind="late", sparsity=50)) == {
        "reference": "results/seed2/low50/mask.safetensors",
        "late": f"results/seed2/dense/step{step}.safetensors",
    }
    assert r.late_output() == {"late": f"results/seed{{seed}}/dense/step{step}.safetensors"}
    assert rules().late_output() == {}


def test_the_imp_chain_goes_first_and_only_the_tickets_weights_are_kept_by_default():
    r = rules()
    dense, deepest = (_Wildcards(seed=0), _Wildcards(seed=0, kind="low", sparsity=10))
    control = _Wildcards(seed=0, kind="random", sparsity=10)
    assert r.chain_priority(dense) > r.chain_priority(deepest) > r.chain_priority(control)
    assert r.kinds_with_weights() == "low"
    kept = r.all_kept_models()
    assert len(kept) == 3 * (1 + 9) and all("/dense/" in p or "/low" in p for p in kept)
    everything = rules(study={"keep_control_weights": True})
    assert set(everything.kinds_with_weights().split("|")) >= {"low", "high", "random"}
    assert len(everything.all_kept_models()) == 3 * (1 + 27)
    assert len(r.all_score_files()) == 3 * 28 and len(r.all_mask_files()) == 3 * 27


def test_export_refuses_what_the_study_does_not_train_or_keep():
    r = rules()
    assert r.exported_model(_Wildcards(network="seed0/low50")) == (
        "results/seed0/low50/model.safetensors"
    )
    with pytest.raises(WorkflowError, match="not a network of this study"):
        r.exported_model(_Wildcards(network="seed7/low50"))
    with pytest.raises(WorkflowError, match="controls are not kept"):
        r.exported_model(_Wildcards(network="seed0/random50"))
    with pytest.raises(WorkflowError, match="only a network of whole heads and neurons"):
        r.smaller_inputs(_Wildcards(network="seed0/low50"))
    heads = rules("granularity/heads_neurons")
    with pytest.raises(WorkflowError, match="the dense network has no mask"):
        heads.smaller_inputs(_Wildcards(network="seed0/dense"))


def test_inputs_follow_the_dataset_and_the_family():
    r = rules()
    data = r.training_data()
    assert data["tokenizer"] == "results/tokenizer" and data["features"].endswith("regions.h5")
    assert r.image_index_inputs() == {}
    assert [label for label, _ in r.benchmarked_jobs()][:3] == [
        "extract_features", "pretrain", "finetune_dense"
    ]  # fmt: skip
    vilt = rules("vilt", base=None)
    assert vilt.training_data()["features"] == "results-vilt/features/images.json"
    assert vilt.benchmarked_jobs()[0][0] == "index_images"
    paper = rules("paper", base=None)
    assert paper.training_data()["tokenizer"].endswith("/pretrained")
    assert [label for label, _ in paper.benchmarked_jobs()][:3] == [
        "prepare_vqa_v2", "convert_features", "import_pretrained"
    ]  # fmt: skip
    speed = r.speed_inputs()
    assert len(speed["masks"]) == 27 and speed["questions"] == "results/data/test.json"


def test_memory_requests(tmp_path):
    r = rules(execution={"mem_mb": 3000})
    job = SimpleNamespace(train="none")
    asked = r.requests.training_memory("finetune")
    assert asked(None, job, 1) == 3000 and asked(None, job, 2) == 6000
    (tmp_path / "q.json").write_text("x" * 2**20)
    inputs = [str(tmp_path / "q.json")]
    assert rules().requests.questions_memory(None, inputs, 1) > 0
    resources = rules().requests.gpu_job_resources("finetune")
    assert resources["gpu"] == 1 and callable(resources["mem_mb"])
    runtime = resources["runtime"](None, Inputs(train="missing"), 2)
    assert runtime >= 2


class Inputs(dict):
    """A job's named input files, as Snakemake hands them to a resource function."""

    __getattr__ = dict.__getitem__


def test_a_training_request_counts_activations_unless_they_live_on_a_gpu(tmp_path):
    """On the CPU (device cpu, or auto, which may fall back to it) a training job's
    request holds its activations; where execution.device names CUDA they are the
    device's, and the host's request leaves them out."""
    from lxmert_lth.workflow.sizes import activation_bytes

    (tmp_path / "theta0").write_bytes(b"x" * 2**20)
    job = Inputs(theta0=str(tmp_path / "theta0"), train=str(tmp_path / "q"), features="none")
    asked = {}
    for device in ("cpu", "auto", "cuda", "cuda:1"):
        r = rules(execution={"device": device})
        asked[device] = r.requests.training_memory("finetune")(None, job, 1)
    activations = activation_bytes(rules().config, "finetune")
    assert activations > 0
    assert asked["cpu"] == asked["auto"] and asked["cuda"] == asked["cuda:1"]
    assert asked["cpu"] - asked["cuda"] == pytest.approx(1.25 * activations / 2**20, abs=2)


def test_a_time_request_counts_what_the_job_trains_on_and_what_it_predicts(tmp_path):
    """runtime: startup, then s_per_mb for each MB trained on (the training split each
    epoch) and EVAL_COST of it for each MB predicted (validation each epoch, the test split
    and shifted sets once a scored network); doubled on a retry. ViLT's rehearsal jobs
    overran a request that left prediction out."""
    from lxmert_lth.workflow.sizes import EVAL_COST

    job = Inputs(features=str(tmp_path))
    for name, mb in {"train": 4, "val": 2, "test": 3, "shifted_colours": 1}.items():
        (tmp_path / f"{name}.json").write_bytes(b"x" * mb * 2**20)
        job[name] = str(tmp_path / f"{name}.json")
    runtime = {"startup_min": 1, "finetune_s_per_mb": 60, "pretrain_s_per_mb": 60}
    r = rules(execution={"runtime": runtime}, finetune={"epochs": 3})

    def minutes(attempt=1, **options):
        return r.requests.gpu_job_resources("finetune", **options)["runtime"](None, job, attempt)

    first = 1 + 3 * 4 + EVAL_COST * (3 * 2 + 4)
    assert minutes() == math.ceil(first) and minutes(attempt=2) == math.ceil(2 * first)
    # A one-shot job: one epoch of retraining, two networks scored.
    assert minutes(epochs=1, scored=2) == math.ceil(1 + 4 + EVAL_COST * (2 + 2 * 4))
    # A stability line: prediction only, three points over the validation split.
    line = Inputs(val=job["val"], copy0=job["train"])
    asked = r.requests.gpu_job_resources("finetune", epochs=0, passes=3)["runtime"]
    assert asked(None, line, 1) == math.ceil(1 + EVAL_COST * 3 * 2)


def test_each_paper_family_asks_time_in_proportion_to_its_work_per_question(tmp_path):
    """Seconds per MB of questions scale with a question's work (positions x prunable
    weights, as the plan counts it): a family whose question costs more than
    LXMERT-base's asks for at least as much more time."""
    from lxmert_lth.workflow import sizes

    def per_question(*overlays):
        config = rules(*overlays, base=None, results=str(tmp_path)).config
        return config["execution"]["runtime"], sizes.positions(config) * sizes.model_size(
            config
        ).prunable

    lxmert, lxmert_work = per_question("paper")
    for family in ("paper_visualbert", "paper_vilt"):
        runtime, work = per_question("paper", family)
        for stage in ("finetune", "pretrain"):
            key = f"{stage}_s_per_mb"
            assert runtime[key] >= lxmert[key] * work / lxmert_work, family


def test_evalai_files_the_user_dropped_are_inputs(tmp_path):
    r = rules(results=str(tmp_path))
    assert r.server_results() == {}
    (tmp_path / "evalai" / "seed0").mkdir(parents=True)
    (tmp_path / "evalai" / "seed0" / "low50.json").write_text("{}")
    assert r.server_results() == {"seed0/low50": str(tmp_path / "evalai/seed0/low50.json")}
    assert Network.from_folder("seed0/low50") == Network(0, "low", 50)


def test_a_transferred_ticket_takes_the_other_runs_mask_and_waits_for_none_here():
    """The transfer kind's mask is study.transfer_from's ticket of the same seed and
    sparsity; nothing of this run is trained for it."""
    from lxmert_lth.pruning import chain

    r = rules("verification", "transfer")
    wildcards = _Wildcards(seed=1, kind="transfer", sparsity=30)
    assert r.mask_sources(wildcards) == {"reference": "results/seed1/low30/mask.safetensors"}
    network = Network(1, "transfer", 30)
    assert chain.waits_for(network, r.pruning, r.study) == []
    assert r.mask_params(wildcards)["transfer_from"] == "results"


@pytest.mark.parametrize(
    "study, message",
    [
        ("{kinds: [low, transfer]}", "give that run's results folder"),
        ("{kinds: [low, transfer], transfer_from: results-verification/}",
         "this run's own results folder"),
    ],
)  # fmt: skip
def test_a_transfer_without_another_run_is_refused(tmp_path, study, message):
    from lxmert_lth.core.errors import ConfigError

    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(f"study: {study}\n")
    files = [ROOT / "config.yaml", ROOT / "configs" / "verification.yaml", overlay]
    with pytest.raises(ConfigError, match=f"study.transfer_from: .*{message}"):
        load_config(files, SCHEMA)


def test_a_mask_of_another_architecture_does_not_transfer():
    import numpy as np

    from lxmert_lth.core.errors import InputError
    from lxmert_lth.core.masks import Mask
    from lxmert_lth.pruning.kinds import check_fits

    mask = Mask({"a.weight": np.ones((4, 2), bool)})
    check_fits(mask, {"a.weight": (4, 2)}, "m.safetensors")
    with pytest.raises(InputError, match="m.safetensors: its mask does not fit .*'a.weight'"):
        check_fits(mask, {"a.weight": (4, 3)}, "m.safetensors")
    with pytest.raises(InputError, match="first: 'b.weight'"):
        check_fits(mask, {"a.weight": (4, 2), "b.weight": (2, 2)}, "m.safetensors")
