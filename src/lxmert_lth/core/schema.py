"""The configuration's JSON schema (``schemas/config.schema.yaml``): the one home of every
key's type, default and documentation, read by the options, the checks and the reference
page.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# The workflow's own schema, wherever the code is run from.


# The workflow's own schema, wherever the code is run from.
# The project's folder (the package is installed from it, editable).
PROJECT = Path(__file__).resolve().parents[3]
SCHEMA = PROJECT / "schemas" / "config.schema.yaml"


def load_schema(path: Path = SCHEMA) -> dict:
    return yaml.safe_load(Path(path).read_text())
