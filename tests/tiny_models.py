"""The tests' tiny networks of every model family (hidden 16, two heads, random weights):
one architecture per family, shared by the family, granularity and export tests."""

from __future__ import annotations

import torch

from lxmert_lth.models import families
from lxmert_lth.models.modeling import small_config

ARCH = {name: {"family": name, **f.tiny_arch} for name, f in families.FAMILIES.items()}


def small_model(name: str, answers: int = 5, **arch):
    """A family's tiny question-answering network (vocabulary 40, 6 visual features),
    seeded; ``arch`` overrides its architecture keys."""
    family = families.get(name)
    torch.manual_seed(0)
    return family.qa_class()(small_config(40, 6, answers, {**ARCH[name], **arch}))
