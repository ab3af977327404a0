"""Building, loading and saving the study's models, and the theta_0 of the lottery ticket.

Checkpoints of the study (theta_0, fine-tuned and retrained networks) are single
safetensors files holding the full question-answering model's state dict; the model's
configuration (whose ``model_type`` names its family, :mod:`lxmert_lth.models.families`) and
answer vocabulary travel in the file's metadata (:mod:`lxmert_lth.core.checkpoints`), so a
checkpoint is self-describing and loads without unpickling anything.
The pretrained model is a ``save_pretrained`` directory, loaded with
``from_pretrained`` exactly as a hub checkpoint (``unc-nlp/lxmert-base-uncased``) is. A
user's model comes in by hub id, local directory, or the original code's
``model_LXRT.pth`` (loaded with ``weights_only``: tensors only, no code), and is imported
once into such a directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import torch

from lxmert_lth.core.checkpoints import CheckpointMeta, CheckpointTensors, compact
from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import save_tensors
from lxmert_lth.core.masks import Mask
from lxmert_lth.data import tasks
from lxmert_lth.data.questions import read_answer_list
from lxmert_lth.models import families
from lxmert_lth.models.loading import WrongModelType, from_pretrained

log = logging.getLogger("lxmert_lth")

PRETRAINED_ANSWERS = "pretrained_answers.json"  # answer list of the pretrained QA head


def small_config(vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping):
    """The embedded default's architecture (``model`` in the configuration; its
    ``family``, LXMERT when unset)."""
    family = families.get(arch.get("family"))
    return family.small_config(vocab_size, feature_dim, num_answers, arch)


def new_pretraining_model(config, seed: int):
    torch.manual_seed(seed)
    return families.of_config(config.to_dict()).pretraining_class()(config)


def init_answer_head(model, seed: int) -> None:
    """Re-initialise the whole answer head from ``seed`` (the paper's random head at
    theta_0), hidden layers included.

    A fresh head is drawn and copied in: ``model._init_weights`` applied to the loaded
    head would leave it as it is, since transformers' initialisers skip every tensor a
    checkpoint filled (``_is_hf_initialized``): the pretrained QA head's layers would
    survive whenever the checkpoint has them."""
    family = families.of_model(model)
    with torch.random.fork_rng(devices=[]):  # the global stream stays as it was
        torch.manual_seed(seed)
        fresh = family.fresh_answer_head(model)
    family.answer_head(model).load_state_dict(fresh.state_dict())


def load_theta0(
    pretrained: str | os.PathLike,
    answers: Sequence[str],
    seed: int,
    answer_head: str,
    family: str | None = None,
):
    """Pretrained encoder weights plus an answer head initialised with ``seed``.

    ``answer_head="copy_pretrained"`` then copies the pretrained QA head as the original
    code's ``load_lxmert_qa`` does (the authors' code's choice): its hidden layers whole,
    the output rows of the answers found among the pretrained answers (after
    :func:`pretrained_answer_form`), and zeros in the rows of the others. ``family`` (the
    configuration's) refuses a pretrained model of another family.
    """
    expected = families.get(family)
    found = families.of_config(_config_dict(pretrained), str(pretrained))
    families.check_family(found, expected, str(pretrained))
    with _naming_family():
        model = from_pretrained(
            found.qa_class(),
            pretrained,
            **found.answers_kwargs(len(answers)),
            ignore_mismatched_sizes=True,
        )
    init_answer_head(model, seed)
    if answer_head == "copy_pretrained":
        copy_pretrained_head(model, pretrained, answers)
    elif answer_head != "random":
        raise InputError(f"answer_head {answer_head!r}: expected 'random' or 'copy_pretrained'")
    return model


def _config_dict(pretrained: str | os.PathLike) -> dict:
    """The configuration of a pretrained model's folder (or hub id) as a dict."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(pretrained)).to_dict()
    except (OSError, ValueError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"{pretrained}: cannot read the model's configuration ({message})"
        ) from None


# The original code's rewrites of an answer before it looks the answer up among the
# pretrained QA head's (``AnswerTable.convert_ans`` in src/pretrain/qa_answer_table.py).
_PRETRAINED_ANSWER_FORMS = {
    "a man": "man", "the man": "man", "a woman": "woman", "the woman": "woman",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "grey": "gray",
}  # fmt: skip


def pretrained_answer_form(answer: str) -> str:
    """An answer as the original code looks it up in the pretrained answer table:
    lower case, one trailing period dropped, one leading "a ", "an " or "the " dropped
    (each test on the result of the one before), then a fixed table of rewrites."""
    if not answer:
        return ""
    answer = answer.lower()
    if answer.endswith("."):
        answer = answer[:-1].strip()
    for article in ("a ", "an ", "the "):
        if answer.startswith(article):
            answer = answer[len(article) :].strip()
    return _PRETRAINED_ANSWER_FORMS.get(answer, answer)


def copy_pretrained_head(model, pretrained: str | os.PathLike, answers: Sequence[str]) -> int:
    """Copy the pretrained QA head into ``model`` as the original code does: hidden
    layers whole, the output rows of the answers it knows, zero rows for the others;
    returns how many answers were found."""
    family = families.of_model(model)
    source = os.path.join(str(pretrained), PRETRAINED_ANSWERS)
    if not os.path.exists(source):
        raise InputError(
            f"{pretrained}: no {PRETRAINED_ANSWERS}: copying the pretrained answer head needs "
            "the pretrained answers (pretrained.answers in the configuration)"
        )
    pretrained_answers = read_answer_list(source)
    with _naming_family():
        loaded = from_pretrained(family.pretraining_class(), pretrained)
    head = family.answer_head(loaded).state_dict()
    output = f"{family.answer_output}." if family.answer_output else ""
    rows = head[f"{output}weight"].shape[0]
    if len(pretrained_answers) != rows:
        raise InputError(
            f"{source}: {len(pretrained_answers)} answers, but the pretrained answer head has "
            f"{rows} outputs"
        )
    index = {a: i for i, a in enumerate(pretrained_answers)}
    forms = [pretrained_answer_form(a) for a in answers]
    ours = [i for i, a in enumerate(forms) if a in index]
    theirs = [index[forms[i]] for i in ours]
    target = family.answer_head(model).state_dict()
    with torch.no_grad():
        for name, tensor in head.items():
            if not name.startswith(output):
                target[name].copy_(tensor)
        for name in (f"{output}weight", f"{output}bias"):
            target[name].zero_()
            target[name][ours] = head[name][theirs]
    log.info("answer head: %d of %d answers copied from pretraining", len(ours), len(answers))
    return len(ours)


# --- importing a user's pretrained model --------------------------------------------


def load_pretrained(source: str | os.PathLike, config_source: str | None = None, family=None):
    """A user's pretrained model of the configuration's family (``lxmert_lth.models.families``):
    a hub id, a ``save_pretrained`` folder, or (LXMERT) an original ``.pth`` file."""
    with _naming_family():
        return families.get(family).load_pretrained(source, config_source)


@contextlib.contextmanager
def _naming_family():
    """A folder of another model family is refused by ``loading``; the registry names the
    family that saved it."""
    try:
        yield
    except WrongModelType as err:
        names = {f.model_type: f.name for f in families.FAMILIES.values()}
        if err.found not in names or err.family:
            raise
        raise WrongModelType(err.source, err.found, err.expected, names[err.found]) from None


def num_parameters(model: torch.nn.Module, names: Sequence[str] | None = None) -> int:
    """Parameters of the model, or of the named parameters only."""
    if names is None:
        return sum(p.numel() for p in model.parameters())
    return sum(model.get_parameter(n).numel() for n in names)


def save_checkpoint(path, model, meta: CheckpointMeta, mask: Mask | None = None) -> None:
    """The model's state dict, with its configuration and ``meta`` as metadata (and its
    task, unless the default: every question-answering checkpoint is as before); with a
    ``mask``, in the compact layout (``lxmert_lth.core.checkpoints``)."""
    task = tasks.get(families.of_model(model).task_of(model))
    meta = replace(meta, config=model.config.to_dict())
    meta = meta.with_extra(**{**meta.extra, **tasks.params(task)})
    if mask is None:
        save_tensors(path, model.state_dict(), meta.to_json())
        return
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    tensors, layout = compact(state, mask.tensors, str(path))
    save_tensors(path, tensors, {**meta.to_json(), **layout})


def fresh_weights(meta: CheckpointMeta, names: Sequence[str], seed: int) -> dict[str, np.ndarray]:
    """The named tensors as the model's own initialisation draws them (``_init_weights``:
    normal(0, initializer_range) for Linear weights), from ``seed``: the ``reinit``
    control's kept weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _model_of(meta, "checkpoint")
    params = dict(model.named_parameters())
    return {n: params[n].detach().numpy().copy() for n in names}


def _model_of(meta: CheckpointMeta, source: str):
    """A new model of a checkpoint's configuration, family and task."""
    family = families.of_config(meta.config, source)
    task = meta.extra.get("task", tasks.DEFAULT.name)  # none: a question-answering model
    if task not in tasks.TASKS:
        raise InputError(f"{source}: task {task!r} is none of {sorted(tasks.TASKS)}")
    return family.model_class(task)(family.config_class().from_dict(meta.config))


def model_from_state(
    state: Mapping[str, torch.Tensor], meta: CheckpointMeta, source: str = "checkpoint"
):
    model = _model_of(meta, source)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise InputError(f"{source}: checkpoint is missing tensor {missing[0]!r}")
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise InputError(f"{source}: checkpoint has unexpected tensor {unexpected[0]!r}")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise InputError(
                f"{source}: tensor {k!r} has shape {tuple(v.shape)}, "
                f"the model expects {tuple(expected[k].shape)}"
            )
    model.load_state_dict(state)
    return model


def load_checkpoint(path, family: str | None = None) -> tuple[torch.nn.Module, CheckpointMeta]:
    """A checkpoint of the study, in either layout, as a model and its metadata; with
    ``family`` (the configuration's), a checkpoint of another family is refused."""
    tensors = CheckpointTensors(path)
    meta = CheckpointMeta.from_json(tensors.metadata, str(path))
    if family is not None:
        families.check_family(
            families.of_config(meta.config, str(path)), families.get(family), str(path)
        )
    state = {k: torch.from_numpy(tensors[k]) for k in tensors}
    return model_from_state(state, meta, str(path)), meta
