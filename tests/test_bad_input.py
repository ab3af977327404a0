"""Bad input stops with a clear message and leaves nothing half-written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import SafetensorError
from transformers import LxmertForQuestionAnswering

from conftest import ROOT, snakemake, write_config
from lxmert_lth.core.checkpoints import CheckpointMeta
from lxmert_lth.core.errors import ConfigError, InputError
from lxmert_lth.core.io import TensorFile, atomic_path, read_json, save_tensors, write_json
from lxmert_lth.core.network import Network
from lxmert_lth.data.features import FeatureStore
from lxmert_lth.data.loaders import EncodedSplit, Loading, QuestionSplit
from lxmert_lth.models.modeling import small_config
from lxmert_lth.training.loop import TrainConfig, TrainingDiverged, train_qa
from lxmert_lth.workflow.checks import validate_config
from lxmert_lth.workflow.stages import finetuning
from lxmert_lth.workflow.stages.data import prepare_questions

SCHEMA = ROOT / "schemas" / "config.schema.yaml"
RECIPE = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "warmup_ratio": 0.1, "weight_decay": 0.01,
          "clip_norm": 5.0, "eval_batch_size": 64, "bias_correction": True}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"study": {"sparsities": [25, 55]}}, "55 is off the pruning schedule"),
        ({"study": {"sparsities": [150]}}, "150"),
        ({"study": {"kinds": ["low", "medium"]}}, "medium"),
        ({"study": {"seeds": []}}, "seeds"),
        ({"study": {"table_sparsity": 75, "sparsities": [25, 50]}}, "table_sparsity"),
        ({"pruning": {"random": "per_block"}}, "per_block"),
        ({"finetune": {"lr": -1}}, "lr"),
        # JSON Schema counts 50.0 as an integer; the workflow would look for "low50.0".
        ({"study": {"sparsities": [25, 50.0, 75]}}, "study.sparsities[1]: 50.0 is not an integer"),
        ({"finetune": {"epochs": 1.0}}, "finetune.epochs: 1.0 is not an integer"),
        (
            {"model": {"hidden_size": 30, "num_attention_heads": 4}},
            "model.hidden_size: 30 is not a multiple of model.num_attention_heads (4)",
        ),
        ({"finetune": {"seed": 3}}, "seed"),  # not a fine-tuning key
        # A pattern of the user's own that selects no weight of the family (built on the
        # meta device from the configuration).
        (
            {"pruning": {"prunable_modules": "^visual_bert\\."}},
            "pruning.prunable_modules: prunable pattern '^visual_bert\\\\.' (set linear_weights, "
            "scope all) matches no parameter of LXMERT",
        ),
    ],
)
def test_bad_config_stops_naming_the_key(tmp_path, changes, message):
    """What the Snakefile's validation says of each (in process: the next test runs
    Snakemake on one of them)."""
    cfg = yaml.safe_load(write_config(tmp_path, "bad.yaml", **changes).read_text())
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    assert message in str(err.value)


def test_cuda_asked_of_a_torch_without_cuda_is_said_at_the_configuration_check(tmp_path):
    torch_lib = Path(torch.__file__).parent / "lib"
    if any(p.name.startswith("libtorch_cuda") for p in torch_lib.iterdir()):
        pytest.skip("this torch is the CUDA build")
    cfg = yaml.safe_load(
        write_config(tmp_path, "gpu.yaml", execution={"device": "cuda"}).read_text()
    )
    with pytest.raises(ConfigError) as err:
        validate_config(cfg, SCHEMA)
    said = str(err.value)
    assert said.startswith("execution.device: 'cuda', but the installed torch 2.13.0")
    assert "built without CUDA" in said and "docs/running.md" in said


def test_a_bad_config_stops_the_workflow_before_any_job(tmp_path):
    cfg = write_config(tmp_path, "bad.yaml", study={"sparsities": [25, 55]})
    out = snakemake(tmp_path, "--dry-run", configfile=cfg, check=False)
    assert out.returncode != 0
    said = out.stderr + out.stdout
    assert "invalid configuration: study.sparsities" in said and "55 is off the pruning" in said
    assert not (tmp_path / "results-test").exists()


def test_a_key_given_twice_stops_the_workflow_naming_file_key_and_lines(tmp_path):
    """YAML lets the last of two equal keys win; the workflow refuses the file instead."""
    cfg = write_config(tmp_path, "twice.yaml")
    cfg.write_text(cfg.read_text().replace("study:\n", "study:\n  seeds: [5]\n", 1))
    out = snakemake(tmp_path, "--dry-run", configfile=cfg, check=False)
    said = out.stdout + out.stderr
    assert out.returncode != 0 and f"{cfg}: key 'seeds' is given twice (lines" in said
    assert not (tmp_path / "results-test").exists()


def test_a_users_file_is_not_completed_from_config_yaml(tmp_path):
    """Run where config.yaml lies (the repository root): a file given with --configfile
    is read alone, so a left-out key gets the schema's default or, when it has none, an
    error naming it, never the embedded default's value (seeds [0, 1, 2])."""
    import shutil

    import yaml

    from conftest import ROOT, load_config

    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    config = load_config()
    del config["study"]["seeds"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "--dry-run", configfile=path, check=False)
    assert out.returncode != 0
    said = out.stdout + out.stderr
    assert "invalid configuration: study: 'seeds' is a required property" in said
    assert "Failed validating" not in said  # one line, not the schema dumped


def test_results_path_that_is_a_file_is_named(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    cfg = write_config(tmp_path, "bad.yaml", results="taken")
    out = snakemake(tmp_path, "--dry-run", configfile=cfg, check=False)
    assert out.returncode != 0
    assert "results: 'taken' is a file, not a folder" in out.stderr + out.stdout


def test_missing_easy_vqa_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "easy_vqa", None)  # import easy_vqa -> ImportError
    out = {k: str(tmp_path / f"{k}.json") for k in ("train", "val", "test", "pretrain", "answers")}
    with pytest.raises(InputError, match="pip install easy-vqa"):
        prepare_questions(out, {"name": "easy_vqa", "val_fraction": 0.1, "split_seed": 0,
                                "min_answer_count": 1,
                                "max_questions": dict.fromkeys(out)})  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def tiny_split(n=32, nan=False) -> EncodedSplit:
    g = torch.Generator().manual_seed(0)
    feats = torch.rand(4, 2, 6, generator=g)
    if nan:
        feats[0, 0, 0] = float("nan")
    return EncodedSplit(
        question_ids=list(range(n)),
        input_ids=torch.randint(5, 30, (n, 5), generator=g),
        attention_mask=torch.ones(n, 5, dtype=torch.long),
        token_type_ids=torch.zeros(n, 5, dtype=torch.long),
        image_rows=torch.arange(n) % 4,
        label_idx=torch.randint(0, 3, (n, 1), generator=g),
        label_score=torch.ones(n, 1),
        visual={"visual_feats": feats, "visual_pos": torch.rand(4, 2, 4, generator=g)},
        store=FeatureStore,  # in memory: only its gather
    )


def tiny_model():
    arch = dict(
        hidden_size=16,
        num_attention_heads=2,
        intermediate_size=16,
        l_layers=1,
        x_layers=1,
        r_layers=1,
        max_position_embeddings=8,
        dropout=0.0,
    )
    torch.manual_seed(0)
    return LxmertForQuestionAnswering(small_config(30, 6, 3, arch))


def test_nan_loss_stops_training():
    cfg = TrainConfig.from_dict(RECIPE)
    with pytest.raises(TrainingDiverged, match="loss is nan at epoch 0"):
        train_qa(tiny_model(), tiny_split(nan=True), tiny_split(), cfg, seed=0, progress=False)


def test_diverged_finetune_job_writes_nothing(tmp_path, monkeypatch):
    def diverge(*args, **kwargs):
        raise TrainingDiverged("loss is nan at epoch 0, step 3")

    model = tiny_model()
    ckpt = tmp_path / "theta0.safetensors"
    meta = CheckpointMeta(model.config.to_dict(), ["a", "b", "c"], 0, [], 1000)
    save_tensors(ckpt, model.state_dict(), meta.to_json())
    write_json(tmp_path / "answers.json", {"answers": ["a", "b", "c"]})
    split = QuestionSplit([], tiny_split())
    monkeypatch.setattr(finetuning, "train_qa", diverge)
    monkeypatch.setattr(
        finetuning, "encode_splits", lambda *a, **k: finetuning.Splits(split, split, split)
    )
    out = tmp_path / "out"
    outputs = finetuning.FinetuneOutputs(*(str(out / f"{k}.x") for k in "mpsh"))
    data = finetuning.TrainingData("", "", "", str(tmp_path / "answers.json"), "", "")
    options = finetuning.JobOptions("cpu", "fp32", False, Loading(), None, 0)
    with pytest.raises(TrainingDiverged):
        finetuning.finetune(
            data, finetuning.StartingPoint(str(ckpt)), outputs, Network(0), RECIPE, 5,
            finetuning.Scoring("test"), options,
        )  # fmt: skip
    assert not out.exists() or list(out.iterdir()) == []


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert read_json(target) == {"a": 1}


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"),  # the OS's, as h5py and open() raise it
     SafetensorError("Error while serializing: IoError(No space left on device)")],
)  # fmt: skip
def test_a_disk_that_fills_during_a_write_is_one_line_naming_file_and_free_space(tmp_path, error):
    """What the OS or safetensors raises when the disk fills mid-write becomes one line (a
    UserError: the job prints it alone) naming the file and the space left; nothing
    partial stays. Inner writes (a file inside a folder being written) say it once."""
    from lxmert_lth.core.errors import UserError
    from lxmert_lth.core.io import DiskFull

    target = tmp_path / "model"
    with pytest.raises(DiskFull) as err:
        with atomic_path(target, directory=True) as folder:
            with atomic_path(folder / "model.safetensors") as tmp:
                tmp.write_bytes(b"half")
                raise error
    said = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in said
    assert said.startswith(f"{folder / 'model.safetensors'}: the disk filled while writing it (")
    assert "MiB free there now); nothing partial is left" in said
    assert list(tmp_path.iterdir()) == []


def test_unreadable_checkpoint_is_named(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 16)
    with pytest.raises(InputError, match="bad.safetensors"):
        TensorFile(str(bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_a_killed_writers_leftover_is_replaced_and_outputs_follow_the_umask(tmp_path, umask):
    """safetensors files too (the library writes a private 0600 file and renames it),
    inside save_pretrained-like folders as well."""
    import numpy as np

    from lxmert_lth.core.io import save_tensors

    target = tmp_path / "scores.json"
    (tmp_path / ".scores.json.partial").write_text("half, from a job killed by SIGKILL")
    old = os.umask(umask)
    try:
        write_json(target, {"a": 1})
        save_tensors(tmp_path / "mask.safetensors", {"w": np.ones(3, dtype=np.float32)})
        with atomic_path(tmp_path / "model", directory=True) as tmp:
            (tmp / "config.json").write_text("{}")
            save_tensors(tmp / "model.safetensors", {"w": np.ones(3, dtype=np.float32)})
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.safetensors", "model",
                                                          "scores.json"]  # fmt: skip
    files = [target, tmp_path / "mask.safetensors", tmp_path / "model" / "config.json",
             tmp_path / "model" / "model.safetensors"]  # fmt: skip
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o777 & ~umask


def test_two_runs_on_one_results_folder_are_refused(tmp_path):
    """Two clones (two working directories, two Snakemake locks) with the same absolute
    results folder: the second is refused, naming the folder and who holds it; the lock
    dies with its process."""
    from lxmert_lth.core.io import lock_results

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom lxmert_lth.core.io import lock_results\n"
         f"lock_results({str(tmp_path)!r})\nprint('held', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=f"results: {tmp_path} is being written by another"):
            lock_results(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    os.close(lock_results(tmp_path))  # free again once the holder is gone
