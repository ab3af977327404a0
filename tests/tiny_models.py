"""The tests' tiny networks of every model family (hidden 16, two heads, random weights):
one architecture per family, shared by the family, granularity and export tests."""

from __future__ import annotations

import torch

from lxmert_lth import families
from lxmert_lth.modeling import small_config

ARCH = {
    "lxmert": {"family": "lxmert", "hidden_size": 16, "num_attention_heads": 2,
               "intermediate_size": 32, "l_layers": 2, "x_layers": 1, "r_layers": 1,
               "max_position_embeddings": 24, "dropout": 0.0},
    "visualbert": {"family": "visualbert", "hidden_size": 16, "num_attention_heads": 2,
                   "intermediate_size": 32, "num_hidden_layers": 2,
                   "max_position_embeddings": 24, "dropout": 0.0},
    "vilt": {"family": "vilt", "hidden_size": 16, "num_attention_heads": 2,
             "intermediate_size": 32, "num_hidden_layers": 2, "image_size": 16,
             "patch_size": 8, "max_position_embeddings": 24, "dropout": 0.0},
}  # fmt: skip


def small_model(name: str, answers: int = 5, **arch):
    """A family's tiny question-answering network (vocabulary 40, 6 visual features),
    seeded; ``arch`` overrides its architecture keys."""
    family = families.get(name)
    torch.manual_seed(0)
    return family.qa_class()(small_config(40, 6, answers, {**ARCH[name], **arch}))
