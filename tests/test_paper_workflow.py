"""The paper configuration's whole DAG on fixtures in the real formats, on the CPU:
official VQA v2 JSONs, bottom-up-attention TSVs and an original model_LXRT.pth."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

import paper_fixtures as fx
from conftest import ROOT, snakemake
from lxmert_lth.core.io import read_json

pytestmark = pytest.mark.slow
RESULTS = "results-paper"
NETWORKS = ["dense", "low50", "high50", "random50"]


def paper_test_config(folder) -> dict:
    """configs/paper.yaml pointed at the fixtures, sized for a CPU test."""
    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    model = fx.write_pretrained(folder / "model")
    config["dataset"]["official"] = {
        **fx.write_official(folder / "vqa"),
        "min_answer_count": 2,
        "minival_images": fx.MINIVAL_IMAGES,
    }
    config["features"]["tsv"] = list(fx.write_tsvs(folder / "tsv"))
    config["pretrained"] = {
        "source": model["pth"],
        "tokenizer": model["tokenizer"],
        "config": model["config"],
        "answers": model["answers"],
    }
    config["theta0"] = {"answer_head": "copy_pretrained"}
    config["finetune"].update(epochs=1, batch_size=8, lr=1.0e-3, eval_batch_size=16)
    config["pruning"]["step"] = 50
    config["study"].update(seeds=[0], sparsities=[50])
    config["execution"].update(device="cpu", train_threads=1, loader_workers=1)
    return config


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("paper")
    config = workdir / "paper-test.yaml"
    config.write_text(yaml.safe_dump(paper_test_config(workdir / "inputs"), sort_keys=False))
    snakemake(workdir, "--cores", "2", configfile=config)
    return workdir, config


def test_paper_dag_runs_on_the_fixtures(paper_run):
    workdir, _ = paper_run
    res = workdir / RESULTS
    test_ids = [q["question_id"] for q in read_json(res / "data/test.json")]
    assert len(test_ids) == 3 * len(fx.TEST_IMAGES)
    for network in NETWORKS:
        # predictions.json is the EvalAI submission: every test2015 question, once.
        submission = read_json(res / f"seed0/{network}/predictions.json")
        assert sorted(e["question_id"] for e in submission) == sorted(test_ids)
        scores = read_json(res / f"seed0/{network}/scores.json")
        assert scores["split"] == "val" and 0 <= scores["overall"] <= 100
        assert scores["n_overall"] == 3 * fx.MINIVAL_IMAGES
    log = (res / "logs/seed0/finetune_dense.log").read_text()
    assert "answers copied from pretraining" in log
    table = (res / "table1.md").read_text()
    assert "minival" in table and "no EvalAI result files" in table
    comparison = pd.read_csv(res / "comparison.csv")
    dense_dev = comparison[(comparison.kind == "dense") & (comparison.split == "test-dev")]
    assert dense_dev.set_index("metric").paper["overall"] == 72.45
    assert dense_dev.reproduced.isna().all()  # no EvalAI results yet
    minival = comparison[(comparison.split == "minival") & (comparison.kind == "low")]
    assert minival.paper.tolist() == [67.44] and minival.reproduced.notna().all()


def test_evalai_results_fill_table1(paper_run, tmp_path):
    workdir, config = paper_run
    res = workdir / RESULTS
    for i, network in enumerate(NETWORKS):
        path = res / "evalai" / "seed0" / f"{network}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        dev = {"yes/no": 80.0 + i, "number": 40.0, "others": 50.0, "overall": 60.0 + i}
        path.write_text(json.dumps([{"test-dev": dev}, {"test-standard": dev}]))
    dry = snakemake(workdir, "--cores", "2", "--dry-run", configfile=config)
    planned = {line.split()[0] for line in dry.stdout.splitlines() if line.startswith("table1")}
    planned |= {line.split()[0] for line in dry.stdout.splitlines() if line.startswith("compare")}
    assert planned == {"table1", "compare_with_paper"}
    assert "finetune_dense" not in dry.stdout
    snakemake(workdir, "--cores", "2", configfile=config)
    table = pd.read_csv(res / "table1.csv", dtype=str)
    assert table["test-dev Overall"].tolist() == ["60.00", "61.00", "62.00", "63.00"]
    assert table["test-std Other"].tolist() == ["50.00"] * 4
    comparison = pd.read_csv(res / "comparison.csv")
    row = comparison[(comparison.kind == "dense") & (comparison.split == "test-dev")]
    assert row.set_index("metric").difference["overall"] == pytest.approx(60.0 - 72.45)


def test_lxmert_format_plans_the_same_dag(tmp_path):
    config = paper_test_config(tmp_path / "inputs")
    config["dataset"]["format"] = "lxmert"
    config["dataset"]["lxmert"] = fx.write_lxmert(tmp_path / "lxmert")
    path = tmp_path / "lxmert.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(tmp_path, "--dry-run", "--cores", "2", configfile=path)
    assert "prepare_vqa_v2" in dry.stdout and "trainval_ans2label.json" in dry.stdout
