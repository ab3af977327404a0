"""Statement verification over two images (NLVR2's form, ``data.statements``): LXMERT's
model for it, and the model of any family made from its question-answering or
pretrained one (the same encoder, a fresh head).

``transformers`` has no LXMERT model for two images; :class:`LxmertForVerification`
takes the form of the original LXMERT code's NLVR2 model (airsplay/lxmert,
``src/tasks/nlvr2_model.py``): the statement is encoded with each image in turn, the
two pooled vectors are concatenated, and a two-layer head (Linear 2h -> 2h, GELU,
LayerNorm with eps 1e-12, Linear 2h -> 2) gives the logits of false and true, its weights
drawn by BERT's initialisation. It is a ``PreTrainedModel``, saved and loaded as the
other families' models (safetensors)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import LxmertModel, LxmertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

PAIR = 2  # images per statement


class LxmertForVerification(LxmertPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.lxmert = LxmertModel(config)
        width = PAIR * config.hidden_size
        self.classifier = nn.Sequential(
            nn.Linear(width, width),
            nn.GELU(),  # the exact, erf form, as the original GeLU
            nn.LayerNorm(width, eps=1e-12),
            nn.Linear(width, 2),
        )
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        visual_feats: torch.Tensor,
        visual_pos: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_,
    ) -> SequenceClassifierOutput:
        """``visual_feats`` (B, 2, regions, features) and ``visual_pos`` (B, 2, regions,
        4): each statement is read once with its left image and once with its right."""
        batch = input_ids.shape[0]

        def twice(t):
            return None if t is None else t.repeat_interleave(PAIR, dim=0)

        out = self.lxmert(
            input_ids=twice(input_ids),
            attention_mask=twice(attention_mask),
            token_type_ids=twice(token_type_ids),
            visual_feats=visual_feats.flatten(0, 1),
            visual_pos=visual_pos.flatten(0, 1),
        )
        pooled = out.pooled_output.reshape(batch, PAIR * self.config.hidden_size)
        return SequenceClassifierOutput(logits=self.classifier(pooled))


def verification_model(family, source: nn.Module) -> nn.Module:
    """A family's verification model whose encoder is ``source``'s (a question-answering
    or pretrained model of the family) and whose head, with any encoder module the
    family lets a source lack (``optional_encoder_modules``), is drawn by the model's
    own initialisation from the current torch random stream (seed it first)."""
    model = family.verification_class()(family.verification_config(source.config))
    prefix = f"{family.encoder_name}."
    state = {k: v for k, v in source.state_dict().items() if k.startswith(prefix)}
    family.adapt_encoder_state(state, model)
    missing, unexpected = model.load_state_dict(state, strict=False)
    drawn = (f"{family.verification_head_name}.", *family.optional_encoder_modules)
    lacking = [k for k in missing if not k.startswith(drawn)]
    if lacking or unexpected:
        name = (lacking or unexpected)[0]
        raise ValueError(f"{family.label}: {name} does not match the verification model")
    return model
