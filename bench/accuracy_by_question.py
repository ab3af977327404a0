"""What an easy-VQA network has learned to see: its test accuracy on the questions whose
answer is a shape, a colour, or yes/no.

    python bench/accuracy_by_question.py RESULTS [NETWORK ...]

RESULTS is a run's results folder (``results-vilt``); each NETWORK a folder under it with
``predictions.json`` (default: ``seedN/dense`` of every seed). easy-VQA's ten human
answers of a question are all the same, so VQA accuracy is exact match here. A third of
the shape questions is chance (three shapes); the docs' ViLT results quote this table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lxmert_lth.easyvqa import SHAPES, YES_NO


def kind_of(answer: str) -> str:
    if answer in SHAPES:
        return "shape"
    return "yes/no" if answer in YES_NO else "colour"


def accuracy_by_kind(questions: list[dict], predictions: list[dict]) -> dict[str, float]:
    """Accuracy (%) by the kind of the gold answer, and overall."""
    predicted = {p["question_id"]: p["answer"] for p in predictions}
    right: dict[str, list[bool]] = {"shape": [], "colour": [], "yes/no": []}
    for q in questions:
        gold = max(q["label"], key=q["label"].get)
        right[kind_of(gold)].append(predicted[q["question_id"]] == gold)
    table = {k: 100 * sum(v) / len(v) for k, v in right.items() if v}
    every = [r for v in right.values() for r in v]
    return {**table, "all": 100 * sum(every) / len(every)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("networks", nargs="*")
    args = parser.parse_args()
    questions = json.loads((args.results / "data" / "test.json").read_text())
    networks = args.networks or sorted(
        str(p.relative_to(args.results)) for p in args.results.glob("seed*/dense")
    )
    print("| network | shape | colour | yes/no | all |")
    print("|---|---|---|---|---|")
    for network in networks:
        predictions = json.loads((args.results / network / "predictions.json").read_text())
        acc = accuracy_by_kind(questions, predictions)
        cells = " | ".join(f"{acc.get(k, float('nan')):.1f}" for k in ("shape", "colour", "yes/no"))
        print(f"| {network} | {cells} | {acc['all']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
