"""Where a mask prunes: LXMERT's modules, the counts per module, the overlap with random."""

import numpy as np
import pytest
from transformers import LxmertConfig, LxmertForQuestionAnswering

from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.pruning.anatomy import module_of, module_rows, summary
from lxmert_lth.pruning.enforcement import prunable_parameter_names
from lxmert_lth.pruning.single_weights import random_mask

PATTERN = r"^lxmert\.(encoder\.(layer|r_layers|x_layers)\.|pooler\.)"


@pytest.fixture(scope="module")
def shapes():
    config = LxmertConfig(vocab_size=50, hidden_size=16, num_attention_heads=2,
                          intermediate_size=32, l_layers=2, x_layers=1, r_layers=1,
                          visual_feat_dim=8, num_qa_labels=3)  # fmt: skip
    model = LxmertForQuestionAnswering(config)
    params = dict(model.named_parameters())
    return {n: tuple(params[n].shape) for n in prunable_parameter_names(model, PATTERN)}


def test_every_prunable_weight_has_its_module(shapes):
    modules = {name: module_of(name) for name in shapes}
    assert module_of("lxmert.encoder.layer.1.attention.self.query.weight") == (
        "language", 1, "attention")  # fmt: skip
    assert module_of("lxmert.encoder.layer.0.intermediate.dense.weight")[2] == "feed-forward"
    assert module_of("lxmert.encoder.x_layers.0.visual_attention.att.key.weight") == (
        "cross-modality", 0, "attention")  # fmt: skip
    assert module_of("lxmert.encoder.x_layers.0.lang_self_att.output.dense.weight")[2] == (
        "attention")  # fmt: skip
    assert module_of("lxmert.encoder.x_layers.0.visn_output.dense.weight")[2] == "feed-forward"
    assert module_of("lxmert.pooler.dense.weight") == ("pooler", 0, "pooler")
    found = {(e, p) for e, _, p in modules.values()}
    for encoder in ("language", "vision", "cross-modality"):
        assert {(encoder, "attention"), (encoder, "feed-forward")} <= found
    # Prunable in the authors' code: modules of their own.
    assert module_of("answer_head.logit_fc.0.bias") == ("answer head", 0, "answer head")
    assert module_of("lxmert.encoder.visn_fc.visn_fc.weight")[0] == "visual input"
    with pytest.raises(ValueError, match="embeddings"):
        module_of("lxmert.embeddings.word_embeddings.weight")


def test_module_counts_add_up_and_overlap_is_measured(shapes):
    total = sum(int(np.prod(s)) for s in shapes.values())
    low = random_mask(shapes, total // 2, seed=1)
    rows = module_rows(Network(0, "low", 50), low, random=low)
    assert sum(r["num_prunable"] for r in rows) == total
    assert sum(r["num_pruned"] for r in rows) == low.num_pruned
    assert all(r["overlap_with_random_percent"] == 100.0 for r in rows)  # itself
    everything_kept = Mask.ones(shapes)
    rows = module_rows(Network(0, "low", 50), low, random=everything_kept)
    assert all(r["overlap_with_random_percent"] == 0.0 for r in rows)
    assert all(r["overlap_with_random_percent"] is None
               for r in module_rows(Network(0, "high", 50), low))  # fmt: skip


def test_summary_weighs_modules_by_their_size(shapes):
    import pandas as pd

    total = sum(int(np.prod(s)) for s in shapes.values())
    rows = []
    for seed in (0, 1):
        low = random_mask(shapes, total // 2, seed=seed)
        rows += module_rows(Network(seed, "low", 50), low, random=low)
    table = summary(pd.DataFrame(rows), 50)
    assert list(table.encoder[:2]) == ["language", "language"]
    assert table["low pruned also by random (%)"].eq(100.0).all()
    assert table["low sparsity (%)"].between(30, 70).all()
