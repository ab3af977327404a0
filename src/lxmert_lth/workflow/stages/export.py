"""Stage of ``rules/export.smk``: any trained network of the study as a standard
``save_pretrained`` directory, whatever layout the study stores it in.

The directory holds ``config.json`` (with the answers as ``id2label``), the full weights
as ``model.safetensors`` (a subnetwork's pruned weights are zeros), the tokenizer, and
``network.json`` (seed, kind, sparsity and the mask's counts), so that
the family's question-answering class's ``from_pretrained(folder)`` (LXMERT's:
``LxmertForQuestionAnswering``; any: ``AutoConfig`` names it) gives the network back.
"""

from __future__ import annotations

import logging

from lxmert_lth.core.io import atomic_path, write_json
from lxmert_lth.core.masks import Mask
from lxmert_lth.core.network import Network
from lxmert_lth.data.tokenization import load_tokenizer
from lxmert_lth.models.modeling import load_checkpoint
from lxmert_lth.pruning.shrink import save_smaller

log = logging.getLogger("lxmert_lth")


def export_network(model: str, tokenizer: str, network: Network, out: str) -> None:
    trained, meta = load_checkpoint(model)
    trained.config.id2label = dict(enumerate(meta.answers))
    trained.config.label2id = {a: i for i, a in enumerate(meta.answers)}
    with atomic_path(out, directory=True) as tmp:
        trained.save_pretrained(tmp)
        load_tokenizer(tokenizer).save_pretrained(tmp)
        write_json(
            tmp / "network.json",
            {**network.row(), "source": model, "prunable": meta.prunable, **meta.extra},
        )
    log.info("%s exported to %s", network.folder, out)


def export_smaller(model: str, mask: str, tokenizer: str, network: Network, out: str) -> None:
    """A heads_neurons subnetwork without its pruned heads and neurons
    (``lxmert_lth.pruning.shrink``: ``load_smaller(out)`` reads it), with its tokenizer."""

    trained, meta = load_checkpoint(model)
    trained.config.id2label = dict(enumerate(meta.answers))
    trained.config.label2id = {a: i for i, a in enumerate(meta.answers)}
    sizes = save_smaller(
        trained.eval(),
        Mask.load(mask)[0],
        out,
        extra={**network.row(), "source": model},
        tokenizer=load_tokenizer(tokenizer),
    )
    log.info("%s: %d of %d parameters kept, exported to %s", network.folder,
             sizes["kept_parameters"], sizes["parameters"], out)  # fmt: skip
