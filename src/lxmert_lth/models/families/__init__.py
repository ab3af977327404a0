"""Model families: the one seam between the study and a vision-and-language model.

The study (IMP, rewinding, the controls, the reports) is the same for every model; what
differs is in one module per family, behind :class:`Family`: building the model (and its
configuration for the embedded default), loading a pretrained checkpoint, the inputs a
batch carries and the logits the model returns, the answer head, the anatomy (encoders,
attention and feed-forward parts, layers, the default prunable pattern, the scopes), the
size for memory requests and the plan, and the embedded default's pre-training loss.

A checkpoint records its family through its configuration's ``model_type`` (transformers'
own field, in every checkpoint's metadata), so a network is always rebuilt by the family
that made it, and a checkpoint of another family is refused with a message naming both.

Adding a family: a module here with a ``Family`` subclass, an entry in ``FAMILIES``, its
architecture keys in the schema (``model``), and a configuration under ``configs/``
(docs/development.md, "Extending").
"""

from __future__ import annotations

from collections.abc import Mapping

from lxmert_lth.core.errors import InputError
from lxmert_lth.models.families.base import Family
from lxmert_lth.models.families.lxmert import LXMERT
from lxmert_lth.models.families.vilt import VILT
from lxmert_lth.models.families.visualbert import VISUALBERT

FAMILIES: dict[str, Family] = {f.name: f for f in (LXMERT, VISUALBERT, VILT)}
DEFAULT = LXMERT.name


def get(name: str | None) -> Family:
    """The family of a configuration's ``model.family`` (LXMERT when unset)."""
    try:
        return FAMILIES[name or DEFAULT]
    except KeyError:
        raise InputError(
            f"model.family: {name!r} is not a model family (known: {', '.join(FAMILIES)})"
        ) from None


def of_config(config: Mapping, source: str = "checkpoint") -> Family:
    """The family of a model configuration (a checkpoint's ``config`` metadata)."""
    model_type = config.get("model_type")
    for family in FAMILIES.values():
        if family.model_type == model_type:
            return family
    raise InputError(f"{source}: model type {model_type!r} is of no known model family")


def of_model(model) -> Family:
    return of_config({"model_type": model.config.model_type}, type(model).__name__)


def check_family(found: Family, expected: Family, source: str) -> None:
    """Refuse a checkpoint of another family than the configuration's."""
    if found is not expected:
        raise InputError(
            f"{source}: a {found.label} checkpoint, but the configuration's model.family is "
            f"{expected.name!r} ({expected.label}): set model.family: {found.name}, or give a "
            f"{expected.label} checkpoint"
        )


__all__ = ["FAMILIES", "Family", "get", "of_config", "of_model", "check_family"]
