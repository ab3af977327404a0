"""Stages of ``rules/data_*.smk`` (a dataset's own rules): the pretrained model and its
tokenizer (the embedded default makes its own; the paper configuration imports the
user's)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import atomic_path, write_json
from lxmert_lth.data.augment import Augment
from lxmert_lth.data.images import open_store
from lxmert_lth.data.loaders import image_tags, load_split
from lxmert_lth.data.questions import load_questions, read_answer_list
from lxmert_lth.data.tokenization import load_tokenizer, save_wordpiece_tokenizer
from lxmert_lth.models import families
from lxmert_lth.models.modeling import (
    PRETRAINED_ANSWERS,
    load_pretrained,
    new_pretraining_model,
    small_config,
)
from lxmert_lth.runtime.devices import choose_device
from lxmert_lth.training.inference import ComputeClock
from lxmert_lth.training.loop import TrainConfig
from lxmert_lth.training.pretraining import pretrain as pretrain_model

log = logging.getLogger("lxmert_lth")


def build_tokenizer(questions: str, out_dir: str, vocab_size: int) -> None:
    """A WordPiece tokenizer of the pre-training questions (the embedded default's)."""
    texts = [q["question"] for q in load_questions(questions)]
    save_wordpiece_tokenizer(texts, out_dir, vocab_size)


def pretrain(
    inputs: Mapping[str, str],
    out_dir: str,
    model: Mapping,
    recipe: Mapping,
    max_length: int,
    device: str,
) -> None:
    """Pre-train the embedded default's small model (``model``, of its ``family``: masked
    LM, image-text matching and image QA as the family scores them, and image tagging when
    asked) and save it, with its tokenizer and answer list, with ``save_pretrained``."""
    dev = choose_device(device)
    tokenizer, answers, store, data, val = pretraining_data(inputs, max_length, dev)
    config = small_config(len(tokenizer), store.feature_dim, len(answers), model)
    network = new_pretraining_model(config, recipe["seed"]).to(dev)
    history = pretrain_model(
        network,
        data.encoded,
        tokenizer,
        TrainConfig.from_dict(recipe),
        recipe["seed"],
        val=val.encoded,
        **objectives(recipe, data, len(answers)),
    )
    with atomic_path(out_dir, directory=True) as tmp:
        network.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(Path(tmp) / "pretraining_history.json", history)
        write_json(Path(tmp) / PRETRAINED_ANSWERS, list(answers))
    log.info("model compute: %.3f s", ComputeClock.seconds)


def pretraining_data(inputs: Mapping[str, str], max_length: int, device):
    """The pre-training rule's inputs read: (tokenizer, answers, visual store, the
    pre-training split, its validation split)."""
    tokenizer = load_tokenizer(inputs["tokenizer"])
    answers = read_answer_list(inputs["answers"])
    store = open_store(inputs["features"])
    data = load_split(inputs["train"], tokenizer, answers, store, max_length, device)
    val = load_split(inputs["val"], tokenizer, answers, store, max_length, device)
    return tokenizer, answers, store, data, val


def objectives(recipe: Mapping, data, num_answers: int) -> dict:
    """``training.pretraining.pretrain``'s objectives as a ``pretrain`` recipe sets them
    (``data``: the pre-training split, whose images' tags image tagging reads)."""
    tag_weight = recipe.get("tag_weight", 0.0)
    return {
        "mlm_prob": recipe["mlm_probability"],
        "mlm_fraction": recipe["mlm_fraction"],
        "mismatch_fraction": recipe["mismatch_fraction"],
        "aux_weight": recipe["aux_weight"],
        "augment": Augment.from_dict(recipe.get("augment")),
        "tags": image_tags(data.questions, data.encoded, num_answers) if tag_weight else None,
        "tag_weight": tag_weight,
    }


def import_pretrained(
    out_dir: str,
    source: str,
    tokenizer: str | None,
    config: str | None,
    answers: str | None,
    family: str | None = None,
) -> None:
    """The user's pretrained model of ``family`` (hub id, directory, or LXMERT's
    ``model_LXRT.pth``) as a
    ``save_pretrained`` directory, with its tokenizer and, when given, the answer list of
    its QA head (for ``theta0.answer_head: copy_pretrained``)."""
    if tokenizer is None and str(source).endswith(".pth"):
        raise InputError(
            f"{source}: a .pth file holds no tokenizer: set pretrained.tokenizer "
            "(e.g. bert-base-uncased, LXMERT's tokenizer)"
        )
    model = load_pretrained(source, config, family)
    tok = load_tokenizer(tokenizer or source)
    head = read_answer_list(answers) if answers else None
    outputs = families.of_model(model).num_answers(model.config)
    if head is not None and len(head) != outputs:
        raise InputError(
            f"{answers}: {len(head)} answers, but the pretrained answer head of {source} has "
            f"{outputs} outputs"
        )
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if head is not None:
            write_json(Path(tmp) / PRETRAINED_ANSWERS, head)
