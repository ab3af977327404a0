"""LXMERT (Tan & Bansal 2019): two streams, a language encoder, an object-relationship
(vision) encoder and a cross-modality encoder, reading region features and their boxes;
``transformers``' ``LxmertForQuestionAnswering`` and ``LxmertForPreTraining``."""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Mapping

from lxmert_lth.core.errors import InputError
from lxmert_lth.models.families.base import Family
from lxmert_lth.models.loading import from_pretrained

log = logging.getLogger("lxmert_lth")


class Lxmert(Family):
    name = "lxmert"
    label = "LXMERT"
    model_type = "lxmert"
    tiny_arch = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32,
                 "l_layers": 2, "x_layers": 1, "r_layers": 1, "max_position_embeddings": 24,
                 "dropout": 0.0}  # fmt: skip
    prunable_modules = r"^lxmert\.(encoder\.(layer|r_layers|x_layers)\.|pooler\.)"
    scopes = {
        "language": r"^lxmert\.encoder\.layer\.",
        "vision": r"^lxmert\.encoder\.r_layers\.",
        "cross_modality": r"^lxmert\.encoder\.x_layers\.",
    }
    # The authors' code prunes every parameter but the embeddings, the visual input's
    # bias, LayerNorm and box projection, and the answer head's output bias (their
    # state-dict indices 0-4, 6-12 and the last).
    authors_unpruned = re.compile(
        r"^lxmert\.embeddings\.|^lxmert\.encoder\.visn_fc\.(visn_fc\.bias|visn_layer_norm\.|box_)"
        r"|^answer_head\.logit_fc\.3\.bias$"
    )
    layer_pattern = re.compile(r"^lxmert\.encoder\.(layer|r_layers|x_layers)\.(\d+)\.(.+)$")
    encoders = {"layer": "language", "r_layers": "vision", "x_layers": "cross-modality"}
    other_modules = {
        "lxmert.pooler.": "pooler",
        "lxmert.encoder.visn_fc.": "visual input",
        "answer_head.": "answer head",
    }
    # Self-attention in every encoder; the cross-modality layers' cross-attention (one
    # block, both directions) and their two self-attentions and feed-forward blocks.
    attention_blocks = (
        ("attention.self.", "attention.output.dense"),
        ("visual_attention.att.", "visual_attention.output.dense"),
        ("lang_self_att.self.", "lang_self_att.output.dense"),
        ("visn_self_att.self.", "visn_self_att.output.dense"),
    )
    feed_forward_blocks = (
        ("intermediate.dense", "output.dense"),
        ("lang_inter.dense", "lang_output.dense"),
        ("visn_inter.dense", "visn_output.dense"),
    )
    answer_head_name = "answer_head"
    answer_output = "logit_fc.3"
    base_parameters = 213_930_297  # LXMERT-base with 3,129 answers
    paper_configs = ("configs/paper.yaml",)

    def config_class(self):
        from transformers import LxmertConfig

        return LxmertConfig

    def qa_class(self):
        from transformers import LxmertForQuestionAnswering

        return LxmertForQuestionAnswering

    def pretraining_class(self):
        from transformers import LxmertForPreTraining

        return LxmertForPreTraining

    def small_config(self, vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping):
        return self.config_class()(
            vocab_size=vocab_size,
            **self.transformer_sizes(arch),
            l_layers=arch["l_layers"],
            x_layers=arch["x_layers"],
            r_layers=arch["r_layers"],
            visual_feat_dim=feature_dim,
            visual_pos_dim=4,
            num_qa_labels=num_answers,
            task_obj_predict=False,
            visual_obj_loss=False,
            visual_attr_loss=False,
            visual_feat_loss=False,
        )

    def base_config(self, num_answers: int, feature_dim: int = 2048):
        return self.config_class()(num_qa_labels=num_answers, visual_feat_dim=feature_dim)

    def encoder_stacks(self, arch, text: int, visual: int) -> list[tuple[int, int]]:
        """Language and vision layers on their own streams; a cross-modality layer holds
        about two layers' activations on each stream (cross- and self-attention)."""
        cross = 2 * arch.x_layers
        return [(text, arch.l_layers + cross), (visual, arch.r_layers + cross)]

    def answers_kwargs(self, num_answers: int) -> dict:
        return {"num_qa_labels": num_answers}

    def num_answers(self, config) -> int:
        return config.num_qa_labels

    def inputs(self, batch):
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "token_type_ids": batch["token_type_ids"],
            "visual_feats": batch["visual_feats"],
            "visual_pos": batch["visual_pos"],
        }

    def token_masks(self, inputs):
        """The language stream's text, and the vision stream's regions (all real)."""
        import torch

        feats = inputs["visual_feats"]
        regions = torch.ones(feats.shape[:2], dtype=torch.bool, device=feats.device)
        return [inputs["attention_mask"].bool(), regions]

    def logits(self, output):
        return output.question_answering_score

    def pretraining_loss(self, out, mlm_labels, matched, batch, answerable, aux_weight):
        """Image-text matching + masked LM + the VQA loss on the answerable pairs.

        The QA term is the fine-tuning loss (soft-score BCE): with a hard-label
        cross-entropy the small model learned to answer far more slowly. An objective with
        no target in the batch contributes zero (``transformers``' own sum would be NaN)."""
        import torch.nn.functional as F

        from lxmert_lth.models.losses import qa_loss

        loss = aux_weight * F.cross_entropy(out.cross_relationship_score, matched)
        labels = mlm_labels.reshape(-1)
        if (labels != -100).any():
            logits = out.prediction_logits.reshape(labels.shape[0], -1)
            loss = loss + aux_weight * F.cross_entropy(logits, labels)
        if answerable.any():
            rows = {k: batch[k][answerable] for k in ("label_idx", "label_score")}
            loss = loss + qa_loss(out.question_answering_score[answerable], rows)
        return loss

    encoder_name = "lxmert"

    def verification_class(self):
        from lxmert_lth.models.verification import LxmertForVerification

        return LxmertForVerification

    def verification_inputs(self, batch):
        return self.inputs(batch)

    def fresh_answer_head(self, model):
        head = type(model.answer_head)(model.config, model.config.num_qa_labels)
        head.apply(model._init_weights)
        return head

    def load_pretrained(self, source: str, config_source: str | None = None):
        """A hub id, a ``save_pretrained`` folder, or the original code's ``model_LXRT.pth``
        (whose architecture ``config_source`` gives: LXMERT-base when absent)."""
        if str(source).endswith(".pth"):
            config = self.config_class()
            config = config.from_pretrained(config_source) if config_source else config()
            return model_from_original(source, config)
        return from_pretrained(self.published_class(), source)


# --- the original code's checkpoint (airsplay/lxmert's model_LXRT.pth) -------------------

# The original code's names -> transformers' (its modules were named after the original).
_ORIGINAL_NAMES = [
    (re.compile(r"^module\."), ""),  # saved from nn.DataParallel
    (re.compile(r"^bert\."), "lxmert."),
    (re.compile(r"\.gamma$"), ".weight"),  # LayerNorm of old BERT code
    (re.compile(r"\.beta$"), ".bias"),
]


def original_state_dict(path) -> dict:
    """The tensors of an original ``model_LXRT.pth`` under ``transformers`` names."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except pickle.UnpicklingError:
        # Never torch's own message: it advises loading with weights_only=False, which
        # would run whatever code the file holds.
        raise InputError(
            f"{path}: refused: not a weights-only PyTorch file (a pickle of tensors only is "
            "read; this one is damaged or holds objects, and is never run)"
        ) from None
    except (RuntimeError, EOFError, ValueError) as err:
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


def model_from_original(path, config):
    """LXMERT's original ``model_LXRT.pth`` as an ``LxmertForPreTraining``."""
    from transformers import LxmertForPreTraining

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


LXMERT = Lxmert()
