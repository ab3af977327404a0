"""What an easy-VQA network has learned to see: its accuracy on the questions whose answer
is a shape, a colour, or yes/no, the last split by what the question names (a shape:
"is there a circle?"; a colour: "is there a red shape?").

    python bench/accuracy_by_question.py RESULTS [NETWORK ...]
    python bench/accuracy_by_question.py RESULTS --pretrained

RESULTS is a run's results folder (``results-vilt``); each NETWORK a folder under it with
``predictions.json`` of the test split (default: ``seedN/dense`` of every seed). With
``--pretrained``, the run's pretrained network (``pretrained/``) answers the validation
split on the CPU, as its pre-training scored itself each epoch (``--max-length``: the
run's ``tokenizer.max_length``, 20 in the embedded configurations). easy-VQA's ten human
answers of a question are all the same, so VQA accuracy is exact match here. A third of
the shape questions is chance (three shapes); "words only" is what the commonest answer
to each question's text among the pre-training questions gets, the most a network that
does not look at the image can. The docs' ViLT results quote these tables.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from lxmert_lth.data.easyvqa import SHAPES, YES_NO

KINDS = ("shape", "colour", "yes/no", "yes/no: shape", "yes/no: colour")


def gold(question: dict) -> str:
    return max(question["label"], key=question["label"].get)


def kinds_of(question: dict) -> tuple[str, ...]:
    answer = gold(question)
    if answer in SHAPES:
        return ("shape",)
    if answer not in YES_NO:
        return ("colour",)
    names_a_shape = bool(set(re.findall(r"[a-z]+", question["question"].lower())) & SHAPES.keys())
    return ("yes/no", "yes/no: shape" if names_a_shape else "yes/no: colour")


def accuracy_by_kind(questions: list[dict], predictions: list[dict]) -> dict[str, float]:
    """Accuracy (%) by the kind of the gold answer (yes/no also by what the question
    names), and overall."""
    predicted = {p["question_id"]: p["answer"] for p in predictions}
    right: dict[str, list[bool]] = defaultdict(list)
    for q in questions:
        for kind in (*kinds_of(q), "all"):
            right[kind].append(predicted[q["question_id"]] == gold(q))
    return {k: 100 * sum(v) / len(v) for k, v in right.items()}


def words_only(questions: list[dict], pretraining: list[dict]) -> list[dict]:
    """The commonest answer to each question's text among the pre-training questions."""
    seen: dict[str, Counter] = defaultdict(Counter)
    for q in pretraining:
        seen[q["question"]][gold(q)] += 1
    fallback = Counter(gold(q) for q in pretraining).most_common(1)[0][0]
    return [
        {"question_id": q["question_id"],
         "answer": seen[q["question"]].most_common(1)[0][0] if q["question"] in seen
         else fallback}
        for q in questions
    ]  # fmt: skip


def pretrained_predictions(results: Path, questions: list[dict], max_length: int) -> list[dict]:
    """The run's pretrained network's answers to ``questions`` (the validation split)."""
    import torch

    from lxmert_lth.data.images import open_store
    from lxmert_lth.data.loaders import encode_split
    from lxmert_lth.data.questions import read_answer_list
    from lxmert_lth.data.tokenization import load_tokenizer
    from lxmert_lth.models import families
    from lxmert_lth.models.loading import from_pretrained
    from lxmert_lth.models.modeling import PRETRAINED_ANSWERS
    from lxmert_lth.training.inference import predict_indices

    torch.manual_seed(0)  # ViLT draws its patches' order in every forward pass
    pretrained = results / "pretrained"
    config = json.loads((pretrained / "config.json").read_text())
    family = families.of_config(config, str(pretrained))
    model = from_pretrained(family.pretraining_class(), pretrained)
    answers = read_answer_list(pretrained / PRETRAINED_ANSWERS)
    store_file = "images.json" if family.visual_input == "pixels" else "regions.h5"
    store = open_store(results / "features" / store_file)
    tokenizer = load_tokenizer(str(pretrained))
    split = encode_split(questions, tokenizer, answers, store, max_length)
    indices = predict_indices(model, split, 512).tolist()
    return [{"question_id": q["question_id"], "answer": answers[i]}
            for q, i in zip(questions, indices, strict=True)]  # fmt: skip


def row(name: str, acc: dict[str, float]) -> str:
    cells = " | ".join(f"{acc.get(k, float('nan')):.1f}" for k in (*KINDS, "all"))
    return f"| {name} | {cells} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("networks", nargs="*")
    parser.add_argument("--pretrained", action="store_true",
                        help="the pretrained network, on the validation split")  # fmt: skip
    parser.add_argument("--max-length", type=int, default=20,
                        help="word pieces a question (the run's tokenizer.max_length)")  # fmt: skip
    args = parser.parse_args()
    split = "val" if args.pretrained else "test"
    questions = json.loads((args.results / "data" / f"{split}.json").read_text())
    pretraining = json.loads((args.results / "data" / "pretrain.json").read_text())
    print(f"| network ({split} split) | {' | '.join(KINDS)} | all |")
    print("|---" * (len(KINDS) + 2) + "|")
    print(row("words only", accuracy_by_kind(questions, words_only(questions, pretraining))))
    if args.pretrained:
        predictions = pretrained_predictions(args.results, questions, args.max_length)
        print(row("pretrained", accuracy_by_kind(questions, predictions)))
        return 0
    networks = args.networks or sorted(
        str(p.relative_to(args.results)) for p in args.results.glob("seed*/dense")
    )
    for network in networks:
        predictions = json.loads((args.results / network / "predictions.json").read_text())
        print(row(network, accuracy_by_kind(questions, predictions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
