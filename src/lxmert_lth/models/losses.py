"""The question-answering loss of the original LXMERT VQA fine-tuning
(``src/tasks/vqa.py`` of airsplay/lxmert): binary cross-entropy with logits against the
soft scores, averaged and multiplied by the number of answers.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from lxmert_lth.data.loaders import soft_targets


def qa_loss(logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Soft-score BCE, averaged then scaled by the number of answers."""
    target = soft_targets(batch["label_idx"], batch["label_score"], logits.shape[1])
    return dense_qa_loss(logits, target)


def dense_qa_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``qa_loss`` against dense (B, A) soft targets (image tagging's, too)."""
    return F.binary_cross_entropy_with_logits(logits, target) * logits.shape[1]
