"""The interface every model family implements (``lxmert_lth.models.families``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lxmert_lth.data import datasets, tasks

if TYPE_CHECKING:  # the Snakefile reads families' names and patterns without torch
    import torch
    from torch import nn

_ATTENTION = re.compile(r"^\w*att\w*\.")  # attention, visual_attention, lang_self_att, ...


class Family:
    """A vision-and-language model family. Subclasses set the attributes and implement the
    methods; everything model-specific the study needs goes through them."""

    name: str  # model.family in the configuration
    label: str  # in tables and messages
    model_type: str  # transformers' config.model_type, recorded in every checkpoint
    # What it reads of an image: region features (features/regions.h5) or its pixels
    # (features/images.json, lxmert_lth.data.images).
    visual_input: str = "regions"
    # The smallest architecture of the family (hidden 16, two heads, two layers; the
    # ``model`` keys): the tests' networks and tools/numerics_probe.py's.
    tiny_arch: Mapping
    # Anatomy. The default prunable pattern (pruning.prunable_modules when unset): module
    # names whose nn.Linear weights are prunable; the scopes (pruning.scope: one part).
    prunable_modules: str
    scopes: Mapping[str, str] = {}
    # The authors' code's prunable set: every parameter but these (None: not defined).
    authors_unpruned: re.Pattern | None = None
    # Encoder layers: a pattern with groups (encoder, layer index, rest of the name), the
    # encoders' names in order, and the other prunable modules by name prefix.
    layer_pattern: re.Pattern
    encoders: Mapping[str, str]
    other_modules: Mapping[str, str]
    # Head geometry (pruning.granularity heads_neurons), module names relative to an
    # encoder layer: each attention block as (the prefix of its query, key and value, its
    # output projection), each feed-forward block as (its inner layer, its output layer).
    attention_blocks: tuple[tuple[str, str], ...] = (("attention.self.", "attention.output.dense"),)
    feed_forward_blocks: tuple[tuple[str, str], ...] = (("intermediate.dense", "output.dense"),)
    # The answer head: its module name, and its output layer within it.
    answer_head_name: str
    answer_output: str
    # The published base checkpoint's parameter count (memory requests before any file).
    base_parameters: int
    # Its study on VQA v2: the repository's configuration files, each read over the one
    # before (configs/paper.yaml, then the family's overlay); job_costs projects to it.
    paper_configs: tuple[str, ...]

    # --- models and configurations ------------------------------------------------------

    def config_class(self):
        raise NotImplementedError

    def qa_class(self):
        """The question-answering model (theta_0, every trained network)."""
        raise NotImplementedError

    def pretraining_class(self):
        """The model the embedded default pre-trains and a pretrained checkpoint loads as."""
        raise NotImplementedError

    def published_class(self):
        """The class of the published checkpoint a user brings: ``load_pretrained`` reads
        a folder as it (the pre-training model, whose encoder theta_0 takes)."""
        return self.pretraining_class()

    def small_config(self, vocab_size: int, feature_dim: int, num_answers: int, arch: Mapping):
        """The embedded default's architecture (``model`` in the configuration)."""
        raise NotImplementedError

    @staticmethod
    def transformer_sizes(arch: Mapping) -> dict:
        """The configuration keywords every BERT-like family shares, from ``model``."""
        return {
            "hidden_size": arch["hidden_size"],
            "num_attention_heads": arch["num_attention_heads"],
            "intermediate_size": arch["intermediate_size"],
            "max_position_embeddings": arch["max_position_embeddings"],
            "hidden_dropout_prob": arch["dropout"],
            "attention_probs_dropout_prob": arch["dropout"],
        }

    def base_config(self, num_answers: int, feature_dim: int = 2048):
        """The published base architecture (the plan's size before any file exists)."""
        raise NotImplementedError

    def visual_positions(self, config: Mapping) -> int:
        """Positions an image takes in the model (the plan's and costs' estimates)."""
        return datasets.of(config).regions(config)

    def visual_input_bytes(self, config: Mapping) -> int:
        """Bytes one sample's image brings to a batch (memory requests): its regions'
        features and boxes, fp32."""
        of = datasets.of(config)
        return 4 * of.regions(config) * (of.feature_dim(config) + 4)

    def encoder_stacks(self, arch, text: int, visual: int) -> list[tuple[int, int]]:
        """(positions, layers) of each stack of transformer layers that a sample passes
        through (memory requests): here one stream of word pieces and image together."""
        return [(text + visual, arch.num_hidden_layers)]

    def answers_kwargs(self, num_answers: int) -> dict:
        """The configuration keyword that sets the number of answers."""
        raise NotImplementedError

    def num_answers(self, config) -> int:
        raise NotImplementedError

    # --- batches and outputs ------------------------------------------------------------

    def inputs(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The model's keyword arguments from a batch (``lxmert_lth.data.loaders``)."""
        raise NotImplementedError

    # A module whose output's second item is the mask of the whole sequence the layers
    # read (ViLT's embeddings: the text's and the image patches'), caught as it runs.
    sequence_mask_module: str | None = None

    def token_masks(self, inputs: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """(batch, positions) masks, True at real tokens, of the sequences the encoder's
        layers read (one-shot calibration leaves padding out): here the text's."""
        return [inputs["attention_mask"].bool()]

    def logits(self, output) -> torch.Tensor:
        """The answer logits (B, answers) of the question-answering model's output."""
        raise NotImplementedError

    def pretraining_loss(self, out, mlm_labels, matched, batch, answerable, aux_weight):
        """The embedded default's pre-training loss of one batch."""
        raise NotImplementedError

    def check_pretraining(self, recipe: Mapping) -> str | None:
        """A problem with a pre-training recipe for this family, or None."""
        return None

    # --- the answer head ----------------------------------------------------------------

    def answer_head(self, model: nn.Module) -> nn.Module:
        return model.get_submodule(self.answer_head_name)

    def fresh_answer_head(self, model: nn.Module) -> nn.Module:
        """A new answer head of the model's shape, drawn by its own initialisation from
        the current torch random stream."""
        raise NotImplementedError

    # --- anatomy --------------------------------------------------------------------------

    def module_of(self, name: str) -> tuple[str, int, str]:
        """(encoder, layer, part) of a prunable parameter: the part is attention
        (self- and cross-attention with their output projections) or feed-forward; the
        other prunable modules (pooler, ...) are modules of their own."""
        match = self.layer_pattern.match(name)
        if match is None:
            for prefix, module in self.other_modules.items():
                if name.startswith(prefix):
                    return module, 0, module
            raise ValueError(f"{name!r} is in no encoder layer of {self.label}")
        encoder, layer, rest = match.groups()
        part = "attention" if _ATTENTION.match(rest) else "feed-forward"
        return self.encoders[encoder], int(layer), part

    def module_order(self) -> list[str]:
        """Encoders, then the other modules, as tables and figures list them."""
        return [*self.encoders.values(), *self.other_modules.values()]

    # --- statement verification over two images (models.verification) -----------------

    # The encoder's module name (its weights are what a task's model takes from another's),
    # the verification head's, and encoder modules a source may lack (drawn fresh then).
    encoder_name: str
    verification_head_name: str = "classifier"
    optional_encoder_modules: tuple[str, ...] = ()
    # A sample's images read in one sequence (VisualBERT: the pair's regions side by
    # side), not one encoder pass per image with the text (LXMERT, ViLT).
    images_in_one_sequence: bool = False

    def passes(self, images: int, visual: int) -> tuple[int, int]:
        """(encoder passes per sample, visual positions per pass) for a sample of
        ``images`` images of ``visual`` positions each (memory requests)."""
        return (1, images * visual) if self.images_in_one_sequence else (images, visual)

    def verification_class(self):
        """The model of a statement about two images (logits of false and true)."""
        raise NotImplementedError

    def model_class(self, task: str):
        """The family's model of a task (``data.tasks``)."""
        classes = {
            tasks.ANSWERING.name: self.qa_class,
            tasks.VERIFICATION.name: self.verification_class,
        }
        return classes[task]()

    def task_of(self, model) -> str:
        """The task a model of the family is built for, by its class (the embedded
        pre-training's model answers questions too)."""
        for task in tasks.TASKS:
            if isinstance(model, self.model_class(task)):
                return task
        if isinstance(model, self.pretraining_class()):
            return tasks.ANSWERING.name
        raise ValueError(f"{type(model).__name__} is the model of no task of {self.label}")

    def verification_config(self, config):
        """The verification model's configuration from the family's question-answering
        or pretraining one (the same encoder)."""
        return config

    def verification_inputs(self, batch: Mapping[str, torch.Tensor]) -> dict:
        """The verification model's keyword arguments from a batch of pairs (each visual
        input with an image axis of 2 after the batch's)."""
        raise NotImplementedError

    def adapt_encoder_state(self, state: dict, model: nn.Module) -> None:
        """Make a question-answering encoder's weights fit the verification model's."""

    # --- importing a user's checkpoint ----------------------------------------------------

    def load_pretrained(self, source: str, config_source: str | None = None):
        """A pretrained model from a hub id or a ``save_pretrained`` folder."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<model family {self.name}>"


class AnsweringPretraining:
    """For a family whose embedded pre-training scores image question answering alone
    (beside image tagging, which any family can add: ``training.pretrain``), on the
    question-answering model itself, and whose answer count is ``num_labels``
    (VisualBERT, ViLT): put before ``Family`` in the bases."""

    def pretraining_class(self):
        return self.qa_class()

    def answers_kwargs(self, num_answers: int) -> dict:
        return {"num_labels": num_answers}

    def num_answers(self, config) -> int:
        return config.num_labels

    def pretraining_loss(self, out, mlm_labels, matched, batch, answerable, aux_weight):
        """Image question answering on every pair (``check_pretraining``)."""
        from lxmert_lth.models.losses import qa_loss

        rows = {k: batch[k][answerable] for k in ("label_idx", "label_score")}
        return qa_loss(out.logits[answerable], rows)

    def check_pretraining(self, recipe: Mapping) -> str | None:
        on = [k for k in ("mlm_fraction", "mismatch_fraction", "aux_weight") if recipe.get(k)]
        if on:
            return (
                f"pretrain.{on[0]}: {self.label}'s embedded pre-training is image question "
                "answering (and, if asked, image tagging: tag_weight); set mlm_fraction, "
                "mismatch_fraction and aux_weight to 0"
            )
        return None
