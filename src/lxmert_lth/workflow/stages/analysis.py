"""Stage of ``rules/analysis.smk``: where the masks prune, per module of the model."""

from __future__ import annotations

import logging
from pathlib import Path

from lxmert_lth.core.io import atomic_path
from lxmert_lth.core.network import Network
from lxmert_lth.pruning.anatomy import module_table, plot_module_sparsity, summary
from lxmert_lth.reporting.report import write_markdown

log = logging.getLogger("lxmert_lth")


def module_sparsity(
    mask_files: list[str],
    sparsity: int,
    kinds: list[str],
    out_csv: str,
    out_md: str,
    out_png: str,
    out_pdf: str,
    caption: str,
    out_html: str | None = None,
    family: str | None = None,
) -> None:
    """Every mask's sparsity per module (CSV), the summary at ``sparsity`` (Markdown) and
    its figure."""
    masks = {Network.from_folder("/".join(Path(p).parts[-3:-1])): p for p in mask_files}
    table = module_table(masks, family)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    at = summary(table, sparsity, family)
    write_markdown(out_md, f"{caption}\n\n{at.to_markdown(index=False)}\n", out_html)
    plot_module_sparsity(table, sparsity, kinds, out_png, out_pdf, caption, family)
    log.info("%d masks, %d module rows", len(masks), len(table))
