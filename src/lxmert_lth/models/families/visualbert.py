"""VisualBERT (Li et al. 2019): one stream, a BERT encoder over the question's word pieces
and the image's region features together; ``transformers``'
``VisualBertForQuestionAnswering`` (region features as ``visual_embeds``; the boxes are
not read). The published VQA checkpoint, ``uclanlp/visualbert-vqa-coco-pre``, reads
2048-d bottom-up-attention features, the ones the paper configuration stores."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxmert_lth.core.errors import InputError
from lxmert_lth.models.families.base import AnsweringPretraining, Family
from lxmert_lth.models.loading import from_pretrained


class VisualBert(AnsweringPretraining, Family):
    name = "visualbert"
    label = "VisualBERT"
    model_type = "visual_bert"
    tiny_arch = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32,
                 "num_hidden_layers": 2, "max_position_embeddings": 24, "dropout": 0.0}  # fmt: skip
    prunable_modules = r"^visual_bert\.(encoder\.layer\.|pooler\.)"
    scopes: Mapping[str, str] = {}  # one stream: no encoder of its own to prune alone
    authors_unpruned = None
    layer_pattern = re.compile(r"^visual_bert\.encoder\.(layer)\.(\d+)\.(.+)$")
    encoders = {"layer": "single-stream"}
    other_modules = {
        "visual_bert.pooler.": "pooler",
        "visual_bert.embeddings.visual_projection.": "visual input",
        "cls.": "answer head",
    }
    answer_head_name = "cls"
    images_in_one_sequence = True
    answer_output = ""  # the head is one Linear layer
    # uclanlp/visualbert-vqa-coco-pre as VisualBertForQuestionAnswering with 3,129 answers.
    base_parameters = 113_856_825
    paper_configs = ("configs/paper.yaml", "configs/paper_visualbert.yaml")

    def config_class(self):
        from transformers import VisualBertConfig

        return VisualBertConfig

    def qa_class(self):
        from transformers import VisualBertForQuestionAnswering

        return VisualBertForQuestionAnswering

    def small_config(self, vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping):
        return self.config_class()(
            vocab_size=vocab_size,
            **self.transformer_sizes(arch),
            num_hidden_layers=arch["num_hidden_layers"],
            visual_embedding_dim=feature_dim,
            num_labels=num_answers,
        )

    def base_config(self, num_answers: int, feature_dim: int = 2048):
        return self.config_class()(visual_embedding_dim=feature_dim, num_labels=num_answers)

    def token_masks(self, inputs):
        """One sequence: the text, then the regions."""
        import torch

        visual = inputs["visual_attention_mask"].bool()
        return [torch.cat([inputs["attention_mask"].bool(), visual], dim=1)]

    def inputs(self, batch):
        import torch

        feats = batch["visual_feats"]
        ones = torch.ones(feats.shape[:2], dtype=torch.long, device=feats.device)
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "token_type_ids": batch["token_type_ids"],
            "visual_embeds": feats,
            "visual_attention_mask": ones,
            "visual_token_type_ids": ones,
        }

    encoder_name = "visual_bert"
    verification_head_name = "cls"

    def verification_class(self):
        from transformers import VisualBertForVisualReasoning

        return VisualBertForVisualReasoning

    def verification_config(self, config):
        from copy import deepcopy

        config = deepcopy(config)
        config.num_labels = 2
        return config

    def verification_inputs(self, batch):
        """VisualBertForVisualReasoning's form: the two images' regions in one visual
        sequence, the left image's of visual token type 0 and the right's of type 1
        (the visual token types' two rows)."""
        import torch

        feats = batch["visual_feats"]  # (B, 2, regions, features)
        b, pair, regions = feats.shape[:3]
        image = torch.arange(pair, device=feats.device).repeat_interleave(regions)
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "token_type_ids": batch["token_type_ids"],
            "visual_embeds": feats.flatten(1, 2),
            "visual_attention_mask": torch.ones(
                b, pair * regions, dtype=torch.long, device=feats.device
            ),  # fmt: skip
            "visual_token_type_ids": image.expand(b, -1),
        }

    def logits(self, output):
        return output.logits

    def fresh_answer_head(self, model):
        from torch import nn

        head = nn.Linear(model.config.hidden_size, model.config.num_labels)
        head.apply(model._init_weights)
        return head

    def load_pretrained(self, source: str, config_source: str | None = None):
        """A hub id or a ``save_pretrained`` folder of a VisualBERT (pre-training or
        question-answering checkpoint); its encoder is what theta_0 takes."""
        if str(source).endswith(".pth"):
            raise InputError(f"{source}: VisualBERT is read from a hub id or a folder")
        return from_pretrained(self.published_class(), source)

    def published_class(self):
        from transformers import VisualBertForPreTraining

        return VisualBertForPreTraining


VISUALBERT = VisualBert()
