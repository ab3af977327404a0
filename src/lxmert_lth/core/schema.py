"""The configuration's JSON schema (``schemas/config.schema.yaml``): the one home of every
key's type, default and documentation, read by the options, the checks, the rules'
params and the reference page.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

# The project's folder (the package is installed from it, editable), and its schema.
PROJECT = Path(__file__).resolve().parents[3]
SCHEMA = PROJECT / "schemas" / "config.schema.yaml"


def load_schema(path: Path = SCHEMA) -> dict:
    return yaml.safe_load(Path(path).read_text())


@functools.cache
def defaults(*section: str) -> dict:
    """The schema's defaults of a section's keys, e.g. ``defaults("pruning")`` or
    ``defaults("pruning", "n_of_m")``."""
    node = load_schema()
    for key in section:
        node = node["properties"][key]
    return {k: v["default"] for k, v in node["properties"].items() if "default" in v}


def non_default(section: str, values) -> dict:
    """``values`` less the keys at the schema's default of ``section``: what a job's params
    and a checkpoint's metadata leave out, so that runs made before a key existed keep
    theirs and rerun nothing. :func:`with_defaults` reads them back."""
    base = defaults(section)
    return {k: v for k, v in values.items() if k not in base or base[k] != v}


def with_defaults(section: str, values, keys) -> dict:
    """The ``keys`` of ``section`` from ``values`` (a job's params, written by
    :func:`non_default`), the schema's default where one was left out."""
    base = defaults(section)
    return {k: values.get(k, base[k]) for k in keys}
