"""Tickets across tasks end to end on the test configuration (one seed): statement
verification from scratch beside the finished question-answering run (at 50 %, one level
of pruning), with the answering tickets transferred and its own pre-training tickets;
then the verification tickets and the pre-training tickets retrained on question
answering, and the transfer matrix. Its digests (tests/config/digests/tasks*.json) hold
docs/results.md's tasks block."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import check_study_digests, snakemake, write_config
from lxmert_lth.core.masks import Mask

pytestmark = pytest.mark.slow

KINDS = ["low", "random", "transfer", "pretraining"]
STUDY = {"seeds": [0], "sparsities": [50], "table_sparsity": 50, "kinds": KINDS}
SV, QA = "statement verification", "question answering"


def _mask(results, kind, sparsity=50) -> Mask:
    return Mask.load(results / f"seed0/{kind}{sparsity}/mask.safetensors")[0]


def _same(a: Mask, b: Mask) -> bool:
    return a.tensors.keys() == b.tensors.keys() and all(
        (a.tensors[n] == b.tensors[n]).all() for n in a.tensors
    )


def test_tickets_transfer_between_tasks_and_from_pre_training(run_copy):
    verification = write_config(
        run_copy,
        "verification.yaml",
        results="results-verification",
        dataset={"name": "easy_vqa_statements", "statements_per_image": 2},
        theta0={"answer_head": "random"},
        # One level of pruning, the task's own and the pre-training chain's.
        pruning={"step": 50},
        study={**STUDY, "transfer_from": "results-test"},
    )
    snakemake(run_copy, "--cores", "2", configfile=verification)
    sv, qa = run_copy / "results-verification", run_copy / "results-test"
    # The transferred mask is the answering run's ticket; its own is another.
    assert _same(_mask(sv, "transfer"), _mask(qa, "low"))
    assert not _same(_mask(sv, "low"), _mask(qa, "low"))
    pretraining = _mask(sv, "pretraining")
    assert abs(pretraining.sparsity - 50) < 1
    scores = pd.read_csv(sv / "scores.csv")
    assert sorted(set(scores.kind)) == sorted(["dense", *KINDS])
    check_study_digests("tasks", sv)

    back = write_config(
        run_copy,
        "back.yaml",
        study={
            **STUDY,
            "transfer_from": "results-verification",
            "pretraining_tickets_from": "results-verification",
        },
        compare_tasks={
            QA: {"results": "results-test", "transfer_from": SV},
            SV: {"results": "results-verification", "transfer_from": QA},
        },
    )
    snakemake(run_copy, "--cores", "2", configfile=back)
    # The same pre-training ticket in both tasks; the verification ticket in answering.
    assert _same(_mask(qa, "pretraining"), pretraining)
    assert _same(_mask(qa, "transfer"), _mask(sv, "low"))
    matrix = pd.read_csv(qa / "tasks.csv").set_index("source")
    for source in (f"{QA} ticket", f"{SV} ticket", "pre-training ticket"):
        for target in (QA, SV):
            assert matrix.loc[source, f"{target}: at 50%"] != "–", (source, target)
    check_study_digests("tasks_answering", qa)
