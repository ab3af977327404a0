"""Lottery-ticket compression of LXMERT for VQA (arXiv 2310.15325), as a library.

The Snakemake workflow's scripts are thin wrappers around these modules.
"""

__version__ = "0.1.0"
