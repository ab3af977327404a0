"""The configuration reference (docs/configuration.md), generated from the schema.

The schema (``schemas/config.schema.yaml``) is the one home of every key's type, default
and documentation (its ``description:``); this module renders it as one Markdown page, so
the page can never say something the schema does not. The suite fails when a key has no
description or the page is stale; regenerate it with

    python -m lxmert_lth.workflow.config_reference --write docs/configuration.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from lxmert_lth.core.schema import PROJECT, SCHEMA, load_schema

PAGE = PROJECT / "docs" / "configuration.md"

# How a reference to a shared definition reads in the table.
_DEF_NAMES = {
    "path": "path",
    "path_or_null": "path or null",
    "count_or_null": "integer ≥ 1, or null (all)",
}


def _resolve(node: Mapping, defs: Mapping) -> dict:
    """A node with its ``$ref`` merged in (the node's own keys win; required lists join)."""
    ref = node.get("$ref")
    if not ref:
        return dict(node)
    base = _resolve(defs[ref.rsplit("/", 1)[-1]], defs)
    merged = {**base, **node}
    merged["properties"] = {**base.get("properties", {}), **node.get("properties", {})}
    merged["required"] = [*base.get("required", []), *node.get("required", [])]
    merged.pop("$ref")
    return merged


def _bounds(node: Mapping) -> str:
    parts = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in node:
            parts.append(f"{sign} {node[key]:g}")
    return " " + ", ".join(parts) if parts else ""


def type_of(node: Mapping, defs: Mapping) -> str:
    """What values a key takes, in words."""
    ref = node.get("$ref", "").rsplit("/", 1)[-1]
    if ref in _DEF_NAMES:
        return _DEF_NAMES[ref]
    node = _resolve(node, defs)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(type_of(option, defs) for option in node["oneOf"])
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(type_of({**node, "type": k}, defs) for k in kind)
    if kind in ("integer", "number"):
        return kind + _bounds(node)
    if kind == "string":
        if "pattern" in node:  # a table cell: its bars escaped
            return "string matching `{}`".format(node["pattern"].replace("|", "\\|"))
        return "string"
    if kind == "boolean":
        return "`true` \\| `false`"
    if kind == "null":
        return "null"
    if kind == "array" and "prefixItems" in node:  # a tuple
        return "[" + ", ".join(type_of(item, defs) for item in node["prefixItems"]) + "]"
    if kind == "array":
        text = f"list of {type_of(node['items'], defs)}"
        if node.get("uniqueItems"):
            text += ", no repeats"
        if node.get("minItems"):
            text += f", at least {node['minItems']}"
        return text
    if kind == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            return f"mapping of labels to {type_of(extra, defs)}"
        return "section"
    raise ValueError(f"schema node of no known type: {node}")


def _value(value) -> str:
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def _accepted(test: Mapping) -> tuple:
    return (test["const"],) if "const" in test else tuple(test["enum"])


def conditional_requirements(schema: Mapping) -> dict[str, str]:
    """Keys the schema's ``if``/``then``/``else`` require, with the condition in words. A
    condition is, per key it tests, the values that key may still take; nested branches
    narrow it (``dataset.name`` not `easy_vqa`, then `vqacp_v2`: just `vqacp_v2`)."""
    found: dict[str, list[str]] = {}

    def condition(branch_if: Mapping, prefix: str) -> tuple[str, tuple]:
        """The key a branch tests and the values (``const`` or ``enum``) that take it."""
        ((section, inner),) = branch_if["properties"].items()
        if "const" in inner or "enum" in inner:  # a key of this section
            return f"{prefix}{section}", _accepted(inner)
        ((key, test),) = inner.get("properties", inner).items()
        return f"{prefix}{section}.{key}", _accepted(test)

    def values(key: str) -> tuple:
        node = schema
        for part in key.split("."):
            node = node["properties"][part]
        return tuple(node["enum"])

    def words(when: Mapping[str, tuple]) -> str:
        parts = []
        for key, left in when.items():
            out = [f"`{v}`" for v in values(key) if v not in left]
            if len(left) == 1:
                parts.append(f"{key} `{left[0]}`")
            elif len(left) <= len(out):
                parts.append(f"{key} one of " + ", ".join(f"`{v}`" for v in left))
            elif len(out) == 1:
                parts.append(f"{key} not {out[0]}")
            else:
                parts.append(f"{key} neither " + " nor ".join(out))
        return " and ".join(parts)

    def collect(node: Mapping, prefix: str, when: Mapping[str, tuple]) -> None:
        text = words(when)
        for key in node.get("required", []):
            if text not in found.setdefault(prefix + key, [text]):
                found[prefix + key].append(text)
        for key, sub in node.get("properties", {}).items():
            collect(sub, f"{prefix}{key}.", when)
        walk(node, prefix, when)

    def walk(node: Mapping, prefix: str, outer: Mapping[str, tuple] | None = None) -> None:
        """The node's if/then/else and those of its allOf, within ``outer``."""
        outer = outer or {}
        for branch in [node, *node.get("allOf", [])]:
            if "if" not in branch:
                continue
            key, taken = condition(branch["if"], prefix)
            possible = outer.get(key, values(key))
            for sub, left in (
                ("then", tuple(v for v in possible if v in taken)),
                ("else", tuple(v for v in possible if v not in taken)),
            ):
                if left:  # a branch no value reaches says nothing
                    collect(branch.get(sub, {}), prefix, {**outer, key: left})

    walk(schema, "")
    return {key: " or ".join(whens) for key, whens in found.items()}


def rows(
    node: Mapping, defs: Mapping, prefix: str, conditional: Mapping[str, str]
) -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default or requirement, description) of a section's keys, depth first."""
    node = _resolve(node, defs)
    required = set(node.get("required", []))
    for key, sub in node.get("properties", {}).items():
        name = prefix + key
        resolved = _resolve(sub, defs)
        if "default" in sub or "default" in resolved:
            default = _value(sub.get("default", resolved.get("default")))
        elif key in required:
            default = "required"
        elif name in conditional:
            default = f"required when {conditional[name]}"
        else:
            default = "optional"
        description = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
        yield name, type_of(sub, defs), default, description
        if "properties" in resolved:
            yield from rows(sub, defs, name + ".", conditional)


def missing_descriptions(schema: Mapping) -> list[str]:
    """Every key without a ``description:`` (the suite requires one for each)."""
    defs = schema.get("$defs", {})
    return [name for name, _, _, text in rows(schema, defs, "", {}) if not text]


def render(schema: Mapping) -> str:
    """docs/configuration.md."""
    defs = schema.get("$defs", {})
    conditional = conditional_requirements(schema)
    lines = [
        "# Configuration reference",
        "",
        "<!-- generated from schemas/config.schema.yaml by "
        "`python -m lxmert_lth.workflow.config_reference --write docs/configuration.md`; "
        "do not edit by hand -->",
        "",
        " ".join(schema["description"].split()),
        "",
        "A file given with `--configfile` is read alone (several are read in turn, each "
        "over the one before); `config.yaml` is read only when none is given. A key left "
        "out gets the default below. *Required when* names the setting that asks for a "
        "key; a section's keys are listed after it, as `section.key`.",
        "",
        "Sections: " + ", ".join(f"[`{k}`](#{k})" for k in schema["properties"]) + ".",
    ]
    for section, node in schema["properties"].items():
        resolved = _resolve(node, defs)
        description = " ".join(str(node.get("description", "")).split())
        required = section in schema.get("required", [])
        need = "required" if required else conditional.get(section)
        lines += ["", f"## {section}", ""]
        if need == "required":
            description += " Required."
        elif need:
            description += f" Required when {need}."
        else:
            description += " Optional."
        lines.append(description)
        if "properties" not in resolved:
            lines += ["", f"Type: {type_of(node, defs)}."]
            continue
        lines += ["", "| key | type | default | what it does |", "|---|---|---|---|"]
        for name, kind, default, text in rows(node, defs, section + ".", conditional):
            lines.append(f"| `{name}` | {kind} | {default} | {text} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, help="write the page here")
    group.add_argument("--check", type=Path, help="exit 1 if this page is stale")
    args = parser.parse_args(argv)
    page = render(load_schema(args.schema))
    if args.write:
        args.write.write_text(page)
    elif args.check:
        if not args.check.exists() or args.check.read_text() != page:
            print(f"{args.check} is stale: run with --write {args.check}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
