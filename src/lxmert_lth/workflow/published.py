"""What the project publishes, and whether today's code still gives it.

README.md and docs/results.md carry blocks written by ``tools/update_readme.py`` from real
runs (between ``<!-- NAME: written by ... -->`` and ``<!-- end of NAME -->``). Each block
rests on studies (``BLOCKS``); each study has, in the suite, a small run on the test
configuration whose outputs' digests are committed (``tests/config/digests/STUDY.json``;
the embedded default's are ``tests/config/test.digests.json``) and checked by that run's
test. A block records the fingerprint of its studies' digests when it is written. When a
change moves a study's digits, its test fails until the digests are rewritten, and then
every block resting on that study fails ``stale_blocks`` until it is regenerated: no
published number outlives the code that gave it, and the suite needs none of the
studies' full runs.

The prose around the blocks is held to them too (``unbacked_numbers``): a number with a
decimal point outside the blocks must be one that a block of the page shows (or of
docs/results.md, for the README), to the digits the prose gives, or one it cites from
another publication (``CITED``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxmert_lth.core.schema import PROJECT

DIGESTS = PROJECT / "tests" / "config" / "digests"
DEFAULT_DIGESTS = PROJECT / "tests" / "config" / "test.digests.json"
REGENERATE = (
    "python studies/run_studies.py --all --workdir DIR && python tools/update_readme.py --all DIR"
)


@dataclass(frozen=True)
class Block:
    """A generated block: its marker name, its page, the studies it rests on."""

    name: str
    page: str
    studies: tuple[str, ...]


BLOCKS = (
    Block("headline", "README.md", ("default",)),
    Block("results", "docs/results.md", ("default",)),
    Block("studies", "docs/results.md", ("default", "controls", "controls_late", "authors_code")),
    Block("families", "docs/results.md", ("default", "visualbert", "vilt")),
    Block("granularities", "docs/results.md", ("default", "n_of_m", "heads_neurons")),
    Block("ood", "docs/results.md", ("default", "ood")),
    Block("stability", "docs/results.md", ("default", "stability")),
    # The one-shot kinds' digests are LXMERT's on the test configuration; VisualBERT's
    # and ViLT's models are held by their families' digests.
    Block("one_shot", "docs/results.md", ("default", "visualbert", "vilt", "one_shot")),
    # Statement verification's run from scratch, then question answering's with its tickets.
    Block("tasks", "docs/results.md", ("default", "tasks", "tasks_answering")),
)
# Numbers the prose quotes from other publications, not from this project's runs.
CITED = {
    "72.45": "arXiv 2310.15325, Table 1: dense LXMERT, VQA v2 test-dev",
    "70.72": "arXiv 2310.15325, Table 1: the low-magnitude ticket at 50 %, test-dev",
}
# Whose numbers the prose of a page may quote: its own blocks, and for the README those
# of docs/results.md, which the README's findings summarise.
QUOTES = {"README.md": ("README.md", "docs/results.md"), "docs/results.md": ("docs/results.md",)}
_BLOCK = re.compile(r"<!-- (\w+): written by[^>]*-->(.*?)<!-- end of \1 -->", re.S)
_RECORDED = re.compile(r"<!-- numerics: ([^>]*?) -->")


def digests_path(study: str) -> Path:
    return DEFAULT_DIGESTS if study == "default" else DIGESTS / f"{study}.json"


def fingerprint(study: str) -> str:
    """12 hex digits of the study's committed output digests (names and contents)."""
    outputs = json.loads(digests_path(study).read_text())["outputs"]
    text = json.dumps(outputs, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def numerics_line(name: str) -> str:
    """The line a block records: each of its studies' fingerprint."""
    block = next(b for b in BLOCKS if b.name == name)
    prints = " ".join(f"{s}={fingerprint(s)}" for s in block.studies)
    return f"<!-- numerics: {prints} -->"


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a page, by name."""
    return {m.group(1): m.group(2) for m in _BLOCK.finditer(text)}


def stale_blocks(root: Path = PROJECT) -> list[str]:
    """One line per published block that today's committed digests do not back: made with
    other numerics, recording none, or missing from its page."""
    problems = []
    for block in BLOCKS:
        body = blocks((root / block.page).read_text()).get(block.name)
        if body is None:
            problems.append(f"{block.page}: no block '{block.name}'")
            continue
        found = _RECORDED.search(body)
        if found is None:
            problems.append(
                f"{block.page}: block '{block.name}' records no numerics; regenerate it: "
                f"{REGENERATE}"
            )
            continue
        recorded = dict(p.split("=", 1) for p in found.group(1).split())
        moved = [s for s in block.studies if recorded.get(s) != fingerprint(s)]
        if moved:
            problems.append(
                f"{block.page}: block '{block.name}' was made with other numerics than "
                f"today's ({', '.join(moved)} moved since); regenerate it: {REGENERATE}"
            )
    return problems


_NUMBER = re.compile(r"(?<![\w.`/-])[-+−]?(\d+\.\d+)(?![\w.]*`)")
_SKIP = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)]*\)|<!--.*?-->|arXiv \S+", re.S)


def decimals(text: str) -> list[str]:
    """The numbers with a decimal point in running text (not code, links or comments)."""
    return _NUMBER.findall(_SKIP.sub(" ", text))


def unbacked_numbers(root: Path = PROJECT) -> list[str]:
    """One line per decimal number in a page's prose that no block it may quote shows."""
    problems = []
    for page, sources in QUOTES.items():
        text = (root / page).read_text()
        shown = {n for src in sources for b in blocks((root / src).read_text()).values()
                 for n in decimals(b)}  # fmt: skip
        prose = _BLOCK.sub(" ", text)
        for number in dict.fromkeys(decimals(prose)):
            if number not in CITED and not any(_rounds_to(v, number) for v in shown):
                problems.append(f"{page}: {number} is in no block it quotes")
    return problems


def _rounds_to(value: str, number: str) -> bool:
    """Whether ``value`` (a block's) is ``number`` (the prose's), at the prose's digits,
    halves rounded up as the tables are written."""
    places = Decimal(1).scaleb(-len(number.split(".")[1]))
    return Decimal(value).quantize(places, ROUND_HALF_UP) == Decimal(number)
