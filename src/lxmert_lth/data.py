"""Questions + features -> tensors, and batches of them.

A split is tokenised once and its images' region features are read once from the
HDF5 store into memory; batches are then gathered by index, with no per-sample Python
work on the training hot path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from .features import FeatureStore
from .io import InputError


@dataclass
class EncodedSplit:
    question_ids: list[int]
    input_ids: torch.Tensor  # (N, L) int64
    attention_mask: torch.Tensor  # (N, L) int64
    token_type_ids: torch.Tensor  # (N, L) int64
    image_rows: torch.Tensor  # (N,) int64, row into features/boxes
    label_idx: torch.Tensor  # (N, K) int64, -1 = padding
    label_score: torch.Tensor  # (N, K) float32
    features: torch.Tensor  # (M, R, D) float32
    boxes: torch.Tensor  # (M, R, 4) float32

    def __len__(self) -> int:
        return len(self.question_ids)

    def to(self, device) -> EncodedSplit:
        fields = {k: v.to(device) if torch.is_tensor(v) else v for k, v in vars(self).items()}
        return EncodedSplit(**fields)


def encode_split(
    questions: Sequence[Mapping],
    tokenizer,
    answers: Sequence[str],
    store: FeatureStore,
    max_length: int,
    source: str = "questions",
) -> EncodedSplit:
    """Tokenise questions (at most ``max_length`` word pieces incl. [CLS]/[SEP]),
    map soft labels to answer indices (answers outside the vocabulary are dropped, as in
    the original recipe), and load the features of the split's images."""
    if not questions:
        raise InputError(f"{source}: no questions")
    answer_index = {a: i for i, a in enumerate(answers)}
    enc = tokenizer(
        [q["question"] for q in questions],
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    images = sorted({str(q["image_id"]) for q in questions})
    missing = [i for i in images if i not in store]
    if missing:
        qid = next(q["question_id"] for q in questions if str(q["image_id"]) == missing[0])
        raise InputError(f"{store.path}: image {missing[0]!r} of question {qid} has no features")
    row = {image: r for r, image in enumerate(images)}
    feats, boxes = store.read(images)
    width = max(1, max(len(q["label"]) for q in questions))
    label_idx = torch.full((len(questions), width), -1, dtype=torch.long)
    label_score = torch.zeros((len(questions), width))
    for i, q in enumerate(questions):
        known = [(answer_index[a], s) for a, s in q["label"].items() if a in answer_index]
        for j, (a, s) in enumerate(known):
            label_idx[i, j], label_score[i, j] = a, s
    return EncodedSplit(
        question_ids=[q["question_id"] for q in questions],
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        token_type_ids=enc["token_type_ids"],
        image_rows=torch.tensor([row[str(q["image_id"])] for q in questions]),
        label_idx=label_idx,
        label_score=label_score,
        features=torch.from_numpy(feats),
        boxes=torch.from_numpy(boxes),
    )


def soft_targets(
    label_idx: torch.Tensor, label_score: torch.Tensor, num_answers: int
) -> torch.Tensor:
    """Dense (B, A) soft-score targets from padded label indices."""
    target = torch.zeros(label_idx.shape[0], num_answers + 1, device=label_idx.device)
    target.scatter_(1, torch.where(label_idx < 0, num_answers, label_idx), label_score)
    return target[:, :num_answers]


def batches(
    split: EncodedSplit,
    batch_size: int,
    generator: torch.Generator | None = None,
    start: int = 0,
) -> Iterator[dict[str, torch.Tensor]]:
    """Model inputs per batch; shuffled when a generator is given. ``start`` skips batches."""
    n = len(split)
    device = split.input_ids.device
    order = (
        torch.randperm(n, generator=generator).to(device)
        if generator is not None
        else torch.arange(n, device=device)
    )
    for lo in range(start * batch_size, n, batch_size):
        idx = order[lo : lo + batch_size]
        rows = split.image_rows[idx]
        yield {
            "index": idx,
            "input_ids": split.input_ids[idx],
            "attention_mask": split.attention_mask[idx],
            "token_type_ids": split.token_type_ids[idx],
            "visual_feats": split.features[rows],
            "visual_pos": split.boxes[rows],
            "label_idx": split.label_idx[idx],
            "label_score": split.label_score[idx],
        }


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "visual_feats", "visual_pos")


def model_inputs(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: batch[k] for k in MODEL_INPUTS}
