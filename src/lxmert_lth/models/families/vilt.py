"""ViLT (Kim et al. 2021): one stream over the question's word pieces and the image's
patches, with no region detector: ``transformers``' ``ViltForQuestionAnswering`` reads
``pixel_values`` and ``pixel_mask`` (``lxmert_lth.data.images``). The published checkpoint,
``dandelin/vilt-b32-mlm`` (ViLT-B/32, pre-trained with masked LM and image-text
matching), reads images resized to a 384-pixel shorter side in 32-pixel patches.

``transformers``' ViLT draws, in every forward pass, the order of each image's patches
(and, for a batch's smaller images, which padding patches fill it up) from torch's
global random stream: the study seeds that stream, so this stays reproducible, but the
draws make a ViLT run's digits depend on every forward pass before them."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxmert_lth.core.errors import InputError
from lxmert_lth.data import datasets
from lxmert_lth.models.families.base import AnsweringPretraining, Family
from lxmert_lth.models.loading import from_pretrained


class Vilt(AnsweringPretraining, Family):
    name = "vilt"
    label = "ViLT"
    model_type = "vilt"
    visual_input = "pixels"
    tiny_arch = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32,
                 "num_hidden_layers": 2, "image_size": 16, "patch_size": 8,
                 "max_position_embeddings": 24, "dropout": 0.0}  # fmt: skip
    prunable_modules = r"^vilt\.(encoder\.layer\.|pooler\.)"
    scopes: Mapping[str, str] = {}  # one stream
    authors_unpruned = None
    layer_pattern = re.compile(r"^vilt\.encoder\.(layer)\.(\d+)\.(.+)$")
    encoders = {"layer": "single-stream"}
    other_modules = {
        "vilt.pooler.": "pooler",
        "vilt.embeddings.patch_embeddings.": "patch embedding",
        "classifier.": "answer head",
    }
    attention_blocks = (("attention.attention.", "attention.output.dense"),)
    answer_head_name = "classifier"
    answer_output = "3"  # Linear, LayerNorm, GELU, Linear
    # ViLT-B/32 (dandelin/vilt-b32-mlm) as ViltForQuestionAnswering with 3,129 answers.
    base_parameters = 117_588_537
    paper_configs = ("configs/paper.yaml", "configs/paper_vilt.yaml")

    def config_class(self):
        from transformers import ViltConfig

        return ViltConfig

    def qa_class(self):
        from transformers import ViltForQuestionAnswering

        return ViltForQuestionAnswering

    def small_config(self, vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping):
        """Images are read as RGB (``feature_dim`` is for the families reading regions)."""
        return self.config_class()(
            vocab_size=vocab_size,
            **self.transformer_sizes(arch),
            num_hidden_layers=arch["num_hidden_layers"],
            image_size=arch["image_size"],
            patch_size=arch["patch_size"],
            num_channels=3,
            num_labels=num_answers,
        )

    def base_config(self, num_answers: int, feature_dim: int = 3):
        return self.config_class()(num_labels=num_answers)

    def image_shape(self, config: Mapping) -> tuple[int, int]:
        """(height, width) of a typical image of the dataset as the model reads it:
        easy-VQA's are square, COCO's mostly 4:3 (640 x 480: 384 x 512 for ViLT-B/32)."""
        images = config["images"]
        div = images["size_divisor"]
        aspect = datasets.of(config).image_aspect
        longest = int(1333 / 800 * images["shortest_edge"])
        short = images["shortest_edge"] // div * div
        long = min(int(images["shortest_edge"] * aspect + 0.5), longest) // div * div
        return short, long

    def visual_positions(self, config: Mapping) -> int:
        """[CLS] and the patches of a typical image (``image_shape``: 12 x 16 patches of
        a COCO image for ViLT-B/32)."""
        patch = config["model"].get("patch_size") or self.base_config(1).patch_size
        short, long = self.image_shape(config)
        return 1 + (short // patch) * (long // patch)

    def visual_input_bytes(self, config: Mapping) -> int:
        """A typical image's pixels: three fp32 channels and an int64 pixel mask."""
        short, long = self.image_shape(config)
        return (3 * 4 + 8) * short * long

    def inputs(self, batch):
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "token_type_ids": batch["token_type_ids"],
            "pixel_values": batch["pixel_values"],
            "pixel_mask": batch["pixel_mask"],
        }

    # Its embeddings return the text's and the kept patches' mask beside the sequence.
    sequence_mask_module = "vilt.embeddings"

    encoder_name = "vilt"
    # dandelin/vilt-b32-mlm has no pooler (its model for masked LM drops it).
    optional_encoder_modules = ("vilt.pooler.",)

    def verification_class(self):
        from transformers import ViltForImagesAndTextClassification

        return ViltForImagesAndTextClassification

    def verification_config(self, config):
        """ViltForImagesAndTextClassification's: two images, a third modality type."""
        from copy import deepcopy

        config = deepcopy(config)
        config.num_images, config.modality_type_vocab_size, config.num_labels = 2, 3, 2
        return config

    def verification_inputs(self, batch):
        return self.inputs(batch)  # pixel_values (B, 2, 3, H, W), pixel_mask (B, 2, H, W)

    def adapt_encoder_state(self, state, model):
        """The right image's modality type starts as the image type, as the original
        ViLT code's NLVR2 set-up does (its third row a copy of the second)."""
        key = "vilt.embeddings.token_type_embeddings.weight"
        if key in state and state[key].shape[0] == 2:
            state[key] = state[key][[0, 1, 1]].clone()

    def logits(self, output):
        return output.logits

    def fresh_answer_head(self, model):
        from torch import nn

        hidden, answers = model.config.hidden_size, model.config.num_labels
        head = nn.Sequential(
            nn.Linear(hidden, hidden * 2),
            nn.LayerNorm(hidden * 2),
            nn.GELU(),
            nn.Linear(hidden * 2, answers),
        )
        head.apply(model._init_weights)
        return head

    def load_pretrained(self, source: str, config_source: str | None = None):
        """A hub id or a ``save_pretrained`` folder of a ViLT (``dandelin/vilt-b32-mlm``,
        or a question-answering checkpoint); its encoder is what theta_0 takes."""
        if str(source).endswith(".pth"):
            raise InputError(f"{source}: ViLT is read from a hub id or a folder")
        return from_pretrained(self.published_class(), source)

    def published_class(self):
        from transformers import ViltForMaskedLM

        return ViltForMaskedLM


VILT = Vilt()
