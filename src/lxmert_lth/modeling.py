"""Building, loading and saving LXMERT models, and the theta_0 of the lottery ticket.

Checkpoints of the study (theta_0, fine-tuned and retrained networks) are single
safetensors files holding the full ``LxmertForQuestionAnswering`` state dict; the
model's ``LxmertConfig`` and answer vocabulary travel in the file's metadata, so a
checkpoint is self-describing and loads without unpickling anything.
The pretrained model is a ``save_pretrained`` directory, loaded with
``from_pretrained`` exactly as a hub checkpoint (``unc-nlp/lxmert-base-uncased``) is. A
user's model comes in by hub id, local directory, or the original code's
``model_LXRT.pth`` (loaded with ``weights_only``: tensors only, no code), and is imported
once into such a directory.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections import Counter
from collections.abc import Mapping, Sequence

import torch
from tokenizers import BertWordPieceTokenizer, normalizers, pre_tokenizers
from transformers import (
    AutoTokenizer,
    BertTokenizerFast,
    LxmertConfig,
    LxmertForPreTraining,
    LxmertForQuestionAnswering,
)

from .io import InputError, atomic_path, load_tensors, read_json, save_tensors, write_json

log = logging.getLogger("lxmert_lth")

PRETRAINED_ANSWERS = "pretrained_answers.json"  # answer list of the pretrained QA head


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def wordpiece_vocab(texts: Sequence[str], vocab_size: int) -> list[str]:
    """A WordPiece vocabulary of ``texts``, the same list on every run.

    Written here instead of ``BertWordPieceTokenizer.train_from_iterator`` because that
    trainer assigns ids in hash-map order and breaks ties between merges by it
    (huggingface/tokenizers issue 1794), so two runs give two tokenizers and two
    pre-training courses. This vocabulary is the special tokens, every character that
    starts a word, every character that continues one (``##c``), then whole words by
    falling count (ties by spelling) up to ``vocab_size``: any text tokenises without
    [UNK], and the frequent words are single tokens.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    vocab = list(SPECIAL_TOKENS)
    vocab += sorted({w[0] for w in counts})
    vocab += sorted({f"##{c}" for w in counts for c in w[1:]})
    if len(vocab) > vocab_size:
        raise InputError(
            f"tokenizer.vocab_size {vocab_size} is below the {len(vocab)} special tokens and "
            "characters of the questions"
        )
    taken = set(vocab)
    words = sorted((w for w in counts if w not in taken), key=lambda w: (-counts[w], w))
    return vocab + words[: vocab_size - len(vocab)]


def build_tokenizer(texts: Sequence[str], out_dir: str | os.PathLike, vocab_size: int) -> None:
    """A lower-cased WordPiece tokenizer of ``texts``, saved in the standard format."""
    vocab = wordpiece_vocab(texts, vocab_size)
    wordpiece = BertWordPieceTokenizer({t: i for i, t in enumerate(vocab)}, lowercase=True)
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
    pretrained: str | os.PathLike,
    answers: Sequence[str],
    seed: int,
    answer_head: str = "random",
) -> LxmertForQuestionAnswering:
    """Pretrained encoder weights plus an answer head initialised with ``seed``.

    ``answer_head="copy_pretrained"`` then copies the pretrained QA head (what the
    authors' code did): its hidden layers whole, and the output rows of the answers
    whose strings match one of the pretrained answers; the other rows stay random.
    """
    try:
        model = LxmertForQuestionAnswering.from_pretrained(
            str(pretrained), num_qa_labels=len(answers), ignore_mismatched_sizes=True
        )
    except OSError as err:
        raise InputError(f"{pretrained}: cannot load the pretrained LXMERT ({err})") from None
    init_answer_head(model, seed)
    if answer_head == "copy_pretrained":
        copy_pretrained_head(model, pretrained, answers)
    elif answer_head != "random":
        raise InputError(f"answer_head {answer_head!r}: expected 'random' or 'copy_pretrained'")
    return model


def copy_pretrained_head(
    model: LxmertForQuestionAnswering, pretrained: str | os.PathLike, answers: Sequence[str]
) -> int:
    """Copy the pretrained QA head into ``model`` where answers match; returns the count."""
    source = os.path.join(str(pretrained), PRETRAINED_ANSWERS)
    if not os.path.exists(source):
        raise InputError(
            f"{pretrained}: no {PRETRAINED_ANSWERS}: copying the pretrained answer head needs "
            "the pretrained answers (pretrained.answers in the configuration)"
        )
    pretrained_answers = read_json(source)
    head = LxmertForPreTraining.from_pretrained(str(pretrained)).answer_head.state_dict()
    rows = head["logit_fc.3.weight"].shape[0]
    if len(pretrained_answers) != rows:
        raise InputError(
            f"{source}: {len(pretrained_answers)} answers, but the pretrained answer head has "
            f"{rows} outputs"
        )
    index = {a: i for i, a in enumerate(pretrained_answers)}
    ours = [i for i, a in enumerate(answers) if a in index]
    theirs = [index[answers[i]] for i in ours]
    target = model.answer_head.state_dict()
    with torch.no_grad():
        for name, tensor in head.items():
            if not name.startswith("logit_fc.3."):
                target[name].copy_(tensor)
        for name in ("logit_fc.3.weight", "logit_fc.3.bias"):
            target[name][ours] = head[name][theirs]
    log.info("answer head: %d of %d answers copied from pretraining", len(ours), len(answers))
    return len(ours)


# --- importing a user's pretrained LXMERT -------------------------------------------

# The original code's names -> transformers' (its modules were named after the original).
_ORIGINAL_NAMES = [
    (re.compile(r"^module\."), ""),  # saved from nn.DataParallel
    (re.compile(r"^bert\."), "lxmert."),
    (re.compile(r"\.gamma$"), ".weight"),  # LayerNorm of old BERT code
    (re.compile(r"\.beta$"), ".bias"),
]


def original_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of an original ``model_LXRT.pth`` under ``transformers`` names."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        raise InputError(
            f"{path}: not a weights-only PyTorch state dict ({str(err).splitlines()[0]})"
        ) from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise InputError(f"{path}: expected a dict of tensor name -> tensor")
    renamed = {}
    for name, tensor in state.items():
        new = name
        for pattern, repl in _ORIGINAL_NAMES:
            new = pattern.sub(repl, new)
        renamed[new] = tensor
    return renamed


def _model_from_original(path, config: LxmertConfig) -> LxmertForPreTraining:
    state = original_state_dict(path)
    model = LxmertForPreTraining(config)
    expected = model.state_dict()
    missing = sorted(k for k in expected if k.startswith("lxmert.") and k not in state)
    if missing:
        raise InputError(f"{path}: checkpoint is missing tensor {missing[0]!r}")
    usable = {}
    for name, tensor in state.items():
        if name not in expected:
            continue
        if tensor.shape != expected[name].shape:
            raise InputError(
                f"{path}: tensor {name!r} has shape {tuple(tensor.shape)}, the model "
                f"configuration expects {tuple(expected[name].shape)}"
            )
        usable[name] = tensor
    model.load_state_dict(usable, strict=False)
    ignored = sorted(set(state) - set(usable))
    log.info("%s: %d tensors loaded, %d ignored %s", path, len(usable), len(ignored), ignored[:5])
    return model


def import_pretrained(
    source: str,
    out_dir: str | os.PathLike,
    tokenizer_source: str | None = None,
    config_source: str | None = None,
    answers_path: str | None = None,
) -> None:
    """Import a pretrained LXMERT into a ``save_pretrained`` directory (with its tokenizer
    and, when given, the answer list of its QA head).

    ``source`` is a hub id, a local directory, or an original ``.pth`` file; for the
    latter ``config_source`` (hub id or directory with a config.json) gives the
    architecture, LXMERT-base when absent.
    """
    if str(source).endswith(".pth"):
        config = LxmertConfig.from_pretrained(config_source) if config_source else LxmertConfig()
        model = _model_from_original(source, config)
    else:
        try:
            model = LxmertForPreTraining.from_pretrained(str(source))
        except OSError as err:
            raise InputError(f"{source}: cannot load the pretrained LXMERT ({err})") from None
    if tokenizer_source is None and str(source).endswith(".pth"):
        raise InputError(
            f"{source}: a .pth file holds no tokenizer: set pretrained.tokenizer "
            "(e.g. bert-base-uncased, LXMERT's tokenizer)"
        )
    tok_source = tokenizer_source or source
    try:
        tokenizer = load_tokenizer(tok_source)
    except (OSError, ValueError) as err:
        raise InputError(f"{tok_source}: cannot load the tokenizer ({err})") from None
    answers = None
    if answers_path:
        answers = read_json(answers_path)
        if isinstance(answers, dict) and isinstance(answers.get("answers"), list):
            answers = answers["answers"]
        if isinstance(answers, list) and answers and isinstance(answers[0], dict):
            answers = [a.get("ans") for a in answers]  # LXMERT's all_ans.json
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise InputError(f"{answers_path}: expected a JSON list of answer strings")
        rows = model.config.num_qa_labels
        if len(answers) != rows:
            raise InputError(
                f"{answers_path}: {len(answers)} answers, but the pretrained answer head of "
                f"{source} has {rows} outputs"
            )
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if answers is not None:
            write_json(os.path.join(tmp, PRETRAINED_ANSWERS), answers)


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
