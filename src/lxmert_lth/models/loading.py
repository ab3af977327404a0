"""Loading a user's ``save_pretrained`` folder (or hub id) with ``from_pretrained``, with
errors that name the file: a folder of another model is refused before anything loads,
pickled weights are read with ``weights_only``, and weights of the encoder the file lacks
are refused rather than started at random.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from safetensors import SafetensorError

from lxmert_lth.core.errors import InputError


def from_pretrained(cls, source: str | os.PathLike, **kwargs):
    """``cls.from_pretrained(source)``, with an error that names the file it could not
    read. Pickled weights (``pytorch_model.bin``) are read by ``torch.load`` with
    ``weights_only`` (tensors only, no code); one that holds anything else is refused."""
    _check_model_type(cls, source)
    try:
        model, info = cls.from_pretrained(str(source), output_loading_info=True, **kwargs)
    except pickle.UnpicklingError:
        weights = _weights_file(source)
        raise InputError(
            f"{weights}: refused: not a weights-only PyTorch file (a pickle of tensors only "
            "is read; this one is damaged or holds objects, and is never run). Save the "
            "weights as safetensors (save_pretrained) where the file is trusted, and point "
            "the configuration there"
        ) from None
    except (OSError, RuntimeError, ValueError, EOFError, SafetensorError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"{_weights_file(source)}: cannot load the pretrained model ({message})"
        ) from None
    # Weights of the encoder the file lacks would start at random, silently: refused.
    # The heads around it (pre-training heads, the answer head) the study does not use
    # or makes itself.
    prefix = cls.base_model_prefix + "."
    missing = [k for k in info["missing_keys"] if k.startswith(prefix)]
    if missing:
        raise InputError(
            f"{_weights_file(source)}: {len(missing)} tensors of the {cls.__name__} encoder are "
            f"not in the file and would start at random (first: {missing[0]}); is it a "
            "checkpoint of this model family?"
        )
    return model


class WrongModelType(InputError):
    """A folder that holds another model than the one asked for; ``found`` its
    ``model_type``. The family registry (``lxmert_lth.models.modeling``) names the family
    that saved it."""

    def __init__(self, source, found: str, expected: str, family: str | None = None):
        self.source, self.found, self.expected, self.family = source, found, expected, family
        which = f" (model.family: {family})" if family else ""
        super().__init__(
            f"{source}: holds a {found!r} model{which} (config.json's model_type), not "
            f"{expected!r}: set model.family to the family that saved it"
        )


def _check_model_type(cls, source: str | os.PathLike) -> None:
    """A folder's ``config.json`` names the model it holds: another family's is refused
    before anything is loaded (transformers would load none of its weights, or fail deep
    inside its configuration classes)."""
    config = Path(source) / "config.json"
    if not config.is_file():
        return  # a hub id, or no configuration: transformers says what is missing
    try:
        found = json.loads(config.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as err:
        raise InputError(f"{config}: not a model configuration ({err})") from None
    expected = cls.config_class.model_type
    if found != expected:
        raise WrongModelType(source, found, expected)


def _weights_file(source: str | os.PathLike) -> str:
    """The weights file of a ``save_pretrained`` directory (the directory or hub id when
    it has none)."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = os.path.join(str(source), name)
        if os.path.exists(path):
            return path
    return str(source)
