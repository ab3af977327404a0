"""A ``heads_neurons`` ticket made physically smaller: its pruned attention heads and
feed-forward neurons removed from the weights, so that it computes less, and read back.

In the masked network a pruned head's query, key and value rows are zero and so are its
columns of the output projection, so whatever the head computes (its biases survive) adds
nothing; a pruned neuron's output column is zero likewise. Removing them is therefore
exact up to the order of floating-point sums. Each block keeps its own count: an attention
module's head count and a feed-forward block's width differ from layer to layer, which
``transformers``' configurations cannot say, so the folder holds, beside the weights and
the full model's ``config.json``, ``structure.json``: the kept count of every block. The
loader builds the full model from the configuration, shrinks every block to its count, and
loads the weights strictly. A block whose every head (or neuron) is pruned keeps one, with
its zero output column(s), since a block of none cannot be expressed in these modules.

Layers are cut with ``transformers.pytorch_utils.prune_linear_layer`` (the library's own
tool for pruning heads).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from lxmert_lth.core.errors import InputError
from lxmert_lth.core.io import atomic_path, write_json
from lxmert_lth.core.masks import Mask
from lxmert_lth.models import families
from lxmert_lth.pruning.structures import HEAD, find_structures, pruned_structures

log = logging.getLogger("lxmert_lth")

STRUCTURE_FILE = "structure.json"
LAYOUT = 1


def kept_indices(model, mask: Mask) -> dict[str, dict]:
    """Per block: its kind, the module names it cuts, and the indices it keeps."""
    family = families.of_model(model)
    shapes = {n: tuple(t.shape) for n, t in mask.tensors.items()}
    heads = model.config.num_attention_heads
    structures, _ = find_structures(family, shapes, heads)
    gone = pruned_structures(mask, structures)
    blocks: dict[str, dict] = {}
    for s, pruned in zip(structures, gone, strict=True):
        block = blocks.setdefault(s.block, {"kind": s.kind, "parts": s.parts, "keep": []})
        if not pruned:
            block["keep"].append(s.index)
    for block in blocks.values():
        block["keep"] = block["keep"] or [0]  # a block of none cannot be expressed
    return blocks


def _module(model, weight_name: str):
    return model.get_submodule(weight_name.removesuffix(".weight"))


def _set_module(model, weight_name: str, module) -> None:
    path = weight_name.removesuffix(".weight")
    parent, _, child = path.rpartition(".")
    setattr(model.get_submodule(parent), child, module)


def shrink(model, blocks: Mapping[str, Mapping]) -> None:
    """Cut every block to its kept heads or neurons, in place."""
    from transformers.pytorch_utils import prune_linear_layer

    for block in blocks.values():
        parts = block["parts"]
        if block["kind"] == HEAD:
            *qkv, (out, _, lo, hi) = parts
            d = hi - lo
            rows = torch.tensor([h * d + i for h in block["keep"] for i in range(d)])
            for name, _, _, _ in qkv:
                _set_module(model, name, prune_linear_layer(_module(model, name), rows, dim=0))
            _set_module(model, out, prune_linear_layer(_module(model, out), rows, dim=1))
            attention = model.get_submodule(qkv[0][0].removesuffix(".query.weight"))
            attention.num_attention_heads = len(block["keep"])
            for size in ("all_head_size", "head_size"):  # the families' names for it
                if hasattr(attention, size):
                    setattr(attention, size, len(block["keep"]) * d)
        else:
            (inner, *_), (outer, *_) = parts
            index = torch.tensor(block["keep"])
            _set_module(model, inner, prune_linear_layer(_module(model, inner), index, dim=0))
            _set_module(model, outer, prune_linear_layer(_module(model, outer), index, dim=1))


def counts(blocks: Mapping[str, Mapping]) -> dict[str, dict]:
    """What a loader needs: every block's kind, parts and kept count."""
    return {
        name: {"kind": b["kind"], "parts": [list(p) for p in b["parts"]], "kept": len(b["keep"])}
        for name, b in blocks.items()
    }


def save_smaller(model, mask: Mask, out: str, extra: Mapping | None = None, tokenizer=None) -> dict:
    """The ticket without its pruned heads and neurons, as a folder ``load_smaller``
    reads (with ``tokenizer`` when given); returns the parameter counts before and
    after."""
    from safetensors.torch import save_file

    before = sum(p.numel() for p in model.parameters())
    blocks = kept_indices(model, mask)
    shrink(model, blocks)
    after = sum(p.numel() for p in model.parameters())
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out, directory=True) as tmp:
        model.config.to_json_file(str(Path(tmp) / "config.json"))
        save_file(state, str(Path(tmp) / "model.safetensors"), metadata={"format": "pt"})
        write_json(
            Path(tmp) / STRUCTURE_FILE,
            {"layout": LAYOUT, "blocks": counts(blocks), "parameters": [before, after],
             **(extra or {})},
        )  # fmt: skip
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
    return {"parameters": before, "kept_parameters": after}


def load_smaller(folder: str | Path):
    """A smaller network's folder as its family's question-answering model."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    folder = Path(folder)
    try:
        structure = json.loads((folder / STRUCTURE_FILE).read_text())
    except (OSError, ValueError) as err:
        raise InputError(
            f"{folder / STRUCTURE_FILE}: not a smaller network's file ({err})"
        ) from None
    if structure.get("layout") != LAYOUT:
        raise InputError(
            f"{folder / STRUCTURE_FILE}: layout {structure.get('layout')}, this version "
            f"reads {LAYOUT}"
        )
    config = AutoConfig.from_pretrained(folder)
    family = families.of_config(config.to_dict(), str(folder))
    model = family.qa_class()(config)
    blocks = {
        name: {"kind": b["kind"], "parts": [tuple(p) for p in b["parts"]],
               "keep": list(range(b["kept"]))}
        for name, b in structure["blocks"].items()
    }  # fmt: skip
    shrink(model, blocks)
    state = load_file(str(folder / "model.safetensors"))
    model.load_state_dict(state, strict=True)
    return model.eval()
