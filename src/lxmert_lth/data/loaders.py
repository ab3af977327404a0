"""Questions + images -> tensors, and batches of them.

A split is tokenised once. Its images are read through a visual store: region features
(``features.FeatureStore``, HDF5) for the families that read regions, or image files
(``images.ImageStore``) for those that read pixels. They are either read once into
memory (small data: batches are then gathered by index on the device, with no
per-sample Python work), or read lazily per batch (VQA v2: 30+ GiB of features, 200k
JPEG files) by data-loader workers that each open the store themselves, so no process
holds or copies the data set. Both modes give the same batches in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from lxmert_lth.core.errors import InputError, UserError
from lxmert_lth.data.tasks import ANSWERING, Task


@dataclass
class EncodedSplit:
    question_ids: list[int]
    input_ids: torch.Tensor  # (N, L) int64
    attention_mask: torch.Tensor  # (N, L) int64
    token_type_ids: torch.Tensor  # (N, L) int64
    # (N,) int64, row into ``visual`` (in memory) or the store; (N, k) for k images a
    # sample (a statement's pair), whose inputs then have an image axis after the batch's.
    image_rows: torch.Tensor
    label_idx: torch.Tensor  # (N, K) int64, -1 = padding
    label_score: torch.Tensor  # (N, K) float32
    # The split's images in memory, as the store loads them (region features and boxes,
    # or pixels and sizes); None: read per batch from ``store``.
    visual: dict[str, torch.Tensor] | None
    store: object  # features.FeatureStore or images.ImageStore: how batches are made
    loader_workers: int = 0
    device: str = "cpu"  # where batches go

    def __len__(self) -> int:
        return len(self.question_ids)

    @property
    def lazy(self) -> bool:
        return self.visual is None

    @property
    def num_images(self) -> int:
        return self.store.num_images(self.visual)

    def images(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's visual inputs of these image rows (in memory)."""
        return per_sample(lambda flat: self.store.gather(self.visual, flat), rows)

    def to(self, device) -> EncodedSplit:
        """In memory: every tensor moves; lazy: tensors stay on the CPU for the loader
        workers and each batch moves when it is made."""
        fields = dict(vars(self), device=str(device))
        if not self.lazy:
            fields = {k: v.to(device) if torch.is_tensor(v) else v for k, v in fields.items()}
            fields["visual"] = {k: v.to(device) for k, v in self.visual.items()}
        return EncodedSplit(**fields)


@dataclass(frozen=True)
class Loading:
    """How a split's images are read: in memory, or per batch by ``workers`` processes.
    Both give the same batches in the same order, so neither changes a result."""

    in_memory: bool = True
    workers: int = 0


@dataclass(frozen=True)
class QuestionSplit:
    """A question file's records (for scoring and submission files) and its tensors."""

    questions: list[dict]
    encoded: EncodedSplit


def per_sample(fetch, rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """``fetch`` (image rows -> visual inputs) for one image a sample (rows (B,)) or k
    (rows (B, k)): read together, so that pixels are padded to one size, then given an
    image axis (B, k, ...)."""
    if rows.dim() == 1:
        return fetch(rows)
    return {k: v.unflatten(0, tuple(rows.shape)) for k, v in fetch(rows.flatten()).items()}


def load_split(
    path,
    tokenizer,
    answers: Sequence[str],
    store,
    max_length: int,
    device,
    loading: Loading = Loading(),  # noqa: B008 (a frozen dataclass)
    task: Task = ANSWERING,
) -> QuestionSplit:
    """Read a file of the task's records and encode it for the model on ``device``."""
    questions = task.read(path)
    encoded = encode_split(
        questions,
        tokenizer,
        answers,
        store,
        max_length,
        str(path),
        in_memory=loading.in_memory,
        loader_workers=loading.workers,
        task=task,
    )
    return QuestionSplit(questions, encoded.to(device))


def encode_split(
    questions: Sequence[Mapping],
    tokenizer,
    answers: Sequence[str],
    store,
    max_length: int,
    source: str = "questions",
    in_memory: bool = True,
    loader_workers: int = 0,
    task: Task = ANSWERING,
) -> EncodedSplit:
    """Tokenise the records' text (at most ``max_length`` word pieces incl. [CLS]/[SEP]),
    map soft labels to answer indices (answers outside the vocabulary are dropped, as in
    the original recipe), and load the split's images from ``store`` (``in_memory``) or
    point at them there (read per batch by ``loader_workers`` processes)."""
    if not questions:
        raise InputError(f"{source}: no {task.noun}s")
    answer_index = {a: i for i, a in enumerate(answers)}
    enc = tokenizer(
        [q[task.text_key] for q in questions],
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    per_record = [task.image_ids(q) for q in questions]
    images = sorted({i for ids in per_record for i in ids})
    missing = [i for i in images if i not in store]
    if missing:
        at = next(k for k, ids in enumerate(per_record) if missing[0] in ids)
        qid = questions[at][task.id_key]
        raise InputError(f"{store.path}: image {missing[0]!r} of {task.noun} {qid} is not in it")
    if in_memory:
        row = {image: r for r, image in enumerate(images)}
        visual = store.load(images)
    else:
        row = dict(zip(images, store.rows(images).tolist(), strict=True))
    image_rows = torch.tensor([[row[i] for i in ids] for ids in per_record])
    labels = [task.scores(q) for q in questions]
    width = max(1, max(len(label) for label in labels))
    label_idx = torch.full((len(questions), width), -1, dtype=torch.long)
    label_score = torch.zeros((len(questions), width))
    for i, label in enumerate(labels):
        known = [(answer_index[a], s) for a, s in label.items() if a in answer_index]
        for j, (a, s) in enumerate(known):
            label_idx[i, j], label_score[i, j] = a, s
    return EncodedSplit(
        question_ids=[q[task.id_key] for q in questions],
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        token_type_ids=enc["token_type_ids"],
        image_rows=image_rows[:, 0] if task.images_per_sample == 1 else image_rows,
        label_idx=label_idx,
        label_score=label_score,
        visual=visual if in_memory else None,
        store=store,
        loader_workers=loader_workers,
    )


def soft_targets(
    label_idx: torch.Tensor, label_score: torch.Tensor, num_answers: int
) -> torch.Tensor:
    """Dense (B, A) soft-score targets from padded label indices."""
    target = torch.zeros(label_idx.shape[0], num_answers + 1, device=label_idx.device)
    target.scatter_(1, torch.where(label_idx < 0, num_answers, label_idx), label_score)
    return target[:, :num_answers]


def image_tags(questions: Sequence[Mapping], split: EncodedSplit, num_answers: int):
    """(images, answers) targets of image tagging (``training.pretrain``): for each image
    row of ``split`` (in memory), the best soft score of each answer of its open questions
    (``answer_type`` other than yes/no): what is in the image, with no question asked."""
    is_open = torch.tensor([q["answer_type"] != "yes/no" for q in questions])
    target = soft_targets(
        split.label_idx.cpu()[is_open], split.label_score.cpu()[is_open], num_answers
    )
    tags = torch.zeros(split.num_images, num_answers)
    rows = split.image_rows.cpu()[is_open, None].expand(-1, num_answers)
    tags.scatter_reduce_(0, rows, target, "amax")
    return tags.to(split.device)


def _text_fields(split: EncodedSplit, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "index": idx,
        "input_ids": split.input_ids[idx],
        "attention_mask": split.attention_mask[idx],
        "token_type_ids": split.token_type_ids[idx],
        "label_idx": split.label_idx[idx],
        "label_score": split.label_score[idx],
    }


_FAILED = "failed"  # a batch that could not be read: its UserError


class _LazyBatches(torch.utils.data.Dataset):
    """Item = one whole batch (a tensor of question indices): its text tensors and its
    images, read from the store by the worker that makes it."""

    def __init__(self, split: EncodedSplit):
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = self.split.image_rows[idx]
        try:
            images = per_sample(lambda flat: self.split.store.batch(flat.numpy()), rows)
            return {**_text_fields(self.split, idx), **images}
        except UserError as err:
            # Handed to the main process as it is: raised in a loader worker, torch would
            # wrap its one line in "Caught InputError in DataLoader worker process 0" and
            # the worker's traceback.
            return {_FAILED: err}


def batches(
    split: EncodedSplit,
    batch_size: int,
    generator: torch.Generator | None = None,
    start: int = 0,
    drop_last: bool = False,
) -> Iterator[dict[str, torch.Tensor]]:
    """Model inputs per batch; shuffled when a generator is given. ``start`` skips batches;
    ``drop_last`` leaves out a short last batch (training, as the original recipe)."""
    n = len(split)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    end = n - n % batch_size if drop_last else n
    chunks = [order[lo : lo + batch_size] for lo in range(start * batch_size, end, batch_size)]
    if split.lazy:
        yield from _lazy_batches(split, chunks)
        return
    for idx in chunks:
        idx = idx.to(split.input_ids.device)
        yield {**_text_fields(split, idx), **split.images(split.image_rows[idx])}


def _lazy_batches(split: EncodedSplit, chunks: list[torch.Tensor]):
    device = torch.device(split.device)
    loader = torch.utils.data.DataLoader(
        _LazyBatches(split),
        sampler=chunks,
        batch_size=None,
        num_workers=split.loader_workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if split.loader_workers else None,
    )
    for batch in loader:
        if _FAILED in batch:
            raise batch[_FAILED]
        # Features travel in their stored type (float16 at half the bytes); cast here.
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        yield {k: v.float() if v.is_floating_point() else v for k, v in batch.items()}
