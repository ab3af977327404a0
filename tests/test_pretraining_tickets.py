"""Pre-training tickets (study.kinds: pretraining): IMP on the pre-training objectives,
each level from the pretrained weights under the previous level's mask; its masks
fine-tuned by each task from its own theta_0."""

from pathlib import Path

import numpy as np
import pytest
import torch
from test_images import RECIPE, Tok, pretraining_split
from test_rules import _Wildcards, rules

from lxmert_lth.core.errors import ConfigError
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.core.schema import SCHEMA
from lxmert_lth.workflow.plan import load_config

ROOT = Path(__file__).resolve().parents[1]
PRETRAIN = {**RECIPE, "mlm_probability": 0.15, "mlm_fraction": 0.0, "mismatch_fraction": 0.0,
            "aux_weight": 0.0}  # fmt: skip


def _level(tmp_path, previous: Mask | None, sparsity: int):
    from lxmert_lth.pruning.enforcement import prunable_parameter_names
    from lxmert_lth.workflow.stages.pretraining_tickets import continue_and_prune
    from tiny_models import small_model

    _, _, split = pretraining_split(tmp_path)
    model = small_model("vilt")
    names = prunable_parameter_names(model, model_pattern("vilt"))
    params = dict(model.named_parameters())
    start = {n: params[n].detach().clone() for n in names}
    previous = previous or Mask.ones({n: tuple(params[n].shape) for n in names})
    objectives = {"mlm_prob": 0.15, "mlm_fraction": 0.0, "mismatch_fraction": 0.0,
                  "aux_weight": 0.0}  # fmt: skip
    mask, history = continue_and_prune(
        model,
        previous,
        split,
        None,
        Tok(),
        0,
        sparsity,
        PRETRAIN,
        "global",
        objectives,
        progress=False,
    )
    return model, start, previous, mask, history


def model_pattern(family: str) -> str:
    from lxmert_lth.models import families

    return families.get(family).prunable_modules


def test_a_level_trains_under_the_previous_mask_and_prunes_from_it(tmp_path):
    """The previous level's pruned weights are zero from the first step to the last; the
    new mask prunes exactly its share of the prunable weights, every weight the previous
    one pruned among them, the rest by the trained weights' magnitude."""
    _, _, first, _, _ = _level(tmp_path / "a", None, 30)
    model, start, previous, mask, history = _level(tmp_path / "b", None, 30)
    assert previous.num_pruned == 0 and len(history) == 1
    params = dict(model.named_parameters())
    assert any(not torch.equal(params[n], start[n]) for n in start)  # it trained
    count = round(0.3 * mask.num_prunable)
    assert mask.num_pruned == count
    kept = np.concatenate([np.abs(params[n].detach().numpy())[mask.tensors[n]] for n in start])
    cut = np.concatenate([np.abs(params[n].detach().numpy())[~mask.tensors[n]] for n in start])
    assert cut.max() <= kept.min()

    model, _, previous, deeper, _ = _level(tmp_path / "c", mask, 60)
    params = dict(model.named_parameters())
    for name, keep in previous.tensors.items():
        assert not params[name].detach().numpy()[~keep].any()  # held at zero
        assert not (deeper.tensors[name] & ~keep).any()  # nested
    assert deeper.num_pruned == round(0.6 * deeper.num_prunable)


def test_a_level_is_the_same_twice(tmp_path):
    *_, one, _ = _level(tmp_path / "a", None, 50)
    *_, two, _ = _level(tmp_path / "b", None, 50)
    assert all(np.array_equal(one.tensors[n], two.tensors[n]) for n in one.tensors)


def test_the_chain_is_this_runs_own_or_another_runs():
    """The kind's mask at s is the chain's level s of the same seed, under this run's
    results or study.pretraining_tickets_from's; each level reads the one before."""
    from lxmert_lth.pruning import chain

    own = rules(study={"kinds": ["low", "pretraining"], "pretraining_ticket_epochs": 2})
    wildcards = _Wildcards(seed=1, kind="pretraining", sparsity=30)
    assert own.mask_sources(wildcards) == {
        "reference": "results/pretraining/seed1/low30/mask.safetensors"
    }
    assert chain.waits_for(Network(1, "pretraining", 30), own.pruning, own.study) == []
    assert own.mask_params(wildcards) == {"pretraining_ticket_epochs": 2}
    first = own.pretraining_level_inputs(_Wildcards(seed=1, sparsity=10))
    assert "previous_mask" not in first and first["pretrained"] == "results/pretrained"
    third = own.pretraining_level_inputs(_Wildcards(seed=1, sparsity=30))
    assert third["previous_mask"] == "results/pretraining/seed1/low20/mask.safetensors"
    assert own.pretraining_level_params()["recipe"]["epochs"] == 2

    other = rules("transfer_back")
    assert other.mask_sources(wildcards) == {
        "reference": "results-verification/pretraining/seed1/low30/mask.safetensors"
    }


@pytest.mark.parametrize(
    "overlay, message",
    [
        ("study: {kinds: [low, pretraining], pretraining_tickets_from: results/}",
         "this run's own results folder"),
        ("study: {kinds: [low, pretraining]}\npruning: {granularity: heads_neurons}",
         "prunes single weights"),
        ("study: {kinds: [low, pretraining]}\npruning: {ranking: per_tensor, "
         "schedule: remaining}", "schedule original"),
    ],
)  # fmt: skip
def test_a_chain_it_cannot_make_is_refused(tmp_path, overlay, message):
    path = tmp_path / "overlay.yaml"
    path.write_text(overlay + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config([ROOT / "config.yaml", path], SCHEMA)


def test_the_paper_configuration_needs_another_runs_chain(tmp_path):
    path = tmp_path / "overlay.yaml"
    path.write_text("study: {kinds: [low, pretraining]}\n")
    with pytest.raises(ConfigError, match="does not do; name a run"):
        load_config([ROOT / "configs" / "paper.yaml", path], SCHEMA)
