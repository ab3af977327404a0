"""Building, loading and saving LXMERT models, and the theta_0 of the lottery ticket.

Checkpoints of the study (theta_0, fine-tuned and retrained networks) are single
safetensors files holding the full ``LxmertForQuestionAnswering`` state dict; the
model's ``LxmertConfig`` and answer vocabulary travel in the file's metadata, so a
checkpoint is self-describing and loads without unpickling anything.
The pretrained model is a ``save_pretrained`` directory, loaded with
``from_pretrained`` exactly as a hub checkpoint (``unc-nlp/lxmert-base-uncased``) is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from tokenizers import BertWordPieceTokenizer
from transformers import (
    AutoTokenizer,
    BertTokenizerFast,
    LxmertConfig,
    LxmertForPreTraining,
    LxmertForQuestionAnswering,
)

from .io import InputError, atomic_path, load_tensors, save_tensors


def build_tokenizer(texts: Sequence[str], out_dir: str | os.PathLike, vocab_size: int) -> None:
    """Train a lower-cased WordPiece tokenizer on ``texts``; save it in the standard format."""
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=1, show_progress=False
    )
    tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer)
    with atomic_path(out_dir, directory=True) as tmp:
        tokenizer.save_pretrained(tmp)


def load_tokenizer(path: str | os.PathLike):
    """A tokenizer by hub id or local directory (``AutoTokenizer``)."""
    return AutoTokenizer.from_pretrained(str(path))


def small_config(
    vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping
) -> LxmertConfig:
    """An LXMERT configuration for the embedded default (sizes from ``config.yaml``)."""
    return LxmertConfig(
        vocab_size=vocab_size,
        hidden_size=arch["hidden_size"],
        num_attention_heads=arch["num_attention_heads"],
        intermediate_size=arch["intermediate_size"],
        l_layers=arch["l_layers"],
        x_layers=arch["x_layers"],
        r_layers=arch["r_layers"],
        max_position_embeddings=arch["max_position_embeddings"],
        hidden_dropout_prob=arch.get("dropout", 0.1),
        attention_probs_dropout_prob=arch.get("dropout", 0.1),
        visual_feat_dim=feature_dim,
        visual_pos_dim=4,
        num_qa_labels=num_answers,
        task_obj_predict=False,
        visual_obj_loss=False,
        visual_attr_loss=False,
        visual_feat_loss=False,
    )


def new_pretraining_model(config: LxmertConfig, seed: int) -> LxmertForPreTraining:
    torch.manual_seed(seed)
    return LxmertForPreTraining(config)


def init_answer_head(model: LxmertForQuestionAnswering, seed: int) -> None:
    """Re-initialise the answer head from ``seed`` (the paper's random head at theta_0)."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model.answer_head.apply(model._init_weights)
    torch.random.set_rng_state(gen_state)


def theta0_from_pretrained(
    pretrained: str | os.PathLike, answers: Sequence[str], seed: int
) -> LxmertForQuestionAnswering:
    """Pretrained encoder weights plus an answer head initialised with ``seed``."""
    try:
        model = LxmertForQuestionAnswering.from_pretrained(
            str(pretrained), num_qa_labels=len(answers), ignore_mismatched_sizes=True
        )
    except OSError as err:
        raise InputError(f"{pretrained}: cannot load the pretrained LXMERT ({err})") from None
    init_answer_head(model, seed)
    return model


def save_checkpoint(
    path, model: LxmertForQuestionAnswering, answers: Sequence[str], **meta
) -> None:
    save_tensors(
        path,
        model.state_dict(),
        {"config": model.config.to_dict(), "answers": list(answers), **meta},
    )


def model_from_state(
    state: Mapping[str, torch.Tensor], meta: Mapping, source: str = "checkpoint"
) -> LxmertForQuestionAnswering:
    if "config" not in meta:
        raise InputError(f"{source}: no 'config' in the checkpoint metadata")
    config = LxmertConfig.from_dict(meta["config"])
    model = LxmertForQuestionAnswering(config)
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


def load_checkpoint(path) -> tuple[LxmertForQuestionAnswering, list[str], dict]:
    state, meta = load_tensors(path)
    model = model_from_state(state, meta, str(path))
    return model, meta.get("answers", []), meta
