"""Can a small ViLT learn easy-VQA's shapes from pixels, and how fast? A probe of the
visual half of ViLT's pre-training alone, for choosing configs/vilt.yaml's recipe.

    python bench/probe_vilt_shapes.py [--patch 16] [--hidden 64] [--epochs 40]
        [--lr 1e-3] [--shift 0] [--flip] [--seed 0]

easy-VQA's training images each hold one shape (circle, rectangle or triangle); this
trains ``ViltForQuestionAnswering`` of configs/vilt.yaml's size (5 layers, hidden 64,
64 x 64 images read as the workflow reads them, ``lxmert_lth.data.images.Processing``) to
name it from the pixels with one fixed question, on 90 % of the images, and prints the
held-out accuracy per epoch (a third is chance). ``--shift`` moves each training image
by up to that many pixels (the background's colour filling in) and ``--flip`` mirrors
half of them: both keep every easy-VQA answer true. The workflow's pre-training answers
all of easy-VQA's questions (about a third of them about shapes), so its epochs carry
fewer shape steps than this probe's; docs/results.md ("Across model families") has what
the probe found.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from easy_vqa import get_train_image_paths, get_train_questions
from transformers import ViltConfig, ViltForQuestionAnswering

from lxmert_lth.data.images import Processing

SHAPES = ["circle", "rectangle", "triangle"]
SIZE = 64


def images_and_shapes(patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every training image that a question names the shape of, and that shape."""
    shape = {}
    for _, answer, image in zip(*get_train_questions(), strict=True):
        if answer in SHAPES:
            shape[image] = answer
    paths, keys = get_train_image_paths(), sorted(shape)
    processing = Processing(SIZE, patch)
    pixels = torch.from_numpy(np.stack([processing(paths[k]) for k in keys]))
    return pixels, torch.tensor([SHAPES.index(shape[k]) for k in keys])


def augment(x: torch.Tensor, shift: int, flip: bool, rng: np.random.Generator) -> torch.Tensor:
    out = x.clone()
    for j in range(len(x)) if shift else ():
        dy, dx = (int(v) for v in rng.integers(-shift, shift + 1, 2))
        moved = torch.roll(x[j], (dy, dx), (1, 2))
        background = x[j, :, 0, 0][:, None, None]
        rows = slice(0, dy) if dy > 0 else slice(SIZE + dy, SIZE) if dy < 0 else slice(0, 0)
        cols = slice(0, dx) if dx > 0 else slice(SIZE + dx, SIZE) if dx < 0 else slice(0, 0)
        moved[:, rows] = background
        moved[:, :, cols] = background
        out[j] = moved
    if flip:
        mirrored = torch.from_numpy(rng.random(len(x)) < 0.5)[:, None, None, None]
        out = torch.where(mirrored, out.flip(3), out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--shift", type=int, default=0)
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    pixels, labels = images_and_shapes(args.patch)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut = int(0.9 * len(labels))
    train, held_out = order[:cut], order[cut:]
    model = ViltForQuestionAnswering(ViltConfig(
        vocab_size=50, hidden_size=args.hidden, num_attention_heads=4,
        intermediate_size=4 * args.hidden, num_hidden_layers=5, image_size=SIZE,
        patch_size=args.patch, max_position_embeddings=32, num_labels=len(SHAPES),
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))  # fmt: skip
    steps_per_epoch = len(train) // args.batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.05,
        anneal_strategy="linear")  # fmt: skip
    question = torch.tensor([[1, 7, 8, 2]])  # one fixed question: [CLS] what shape [SEP]

    def logits(x):
        mask = torch.ones(len(x), SIZE, SIZE, dtype=torch.long)
        return model(input_ids=question.expand(len(x), -1), pixel_values=x,
                     pixel_mask=mask).logits  # fmt: skip

    print(f"{len(train)} training images, {len(held_out)} held out; {vars(args)}")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        shuffled = train[torch.randperm(len(train))]
        for b in range(steps_per_epoch):
            rows = shuffled[b * args.batch_size : (b + 1) * args.batch_size]
            x = augment(pixels[rows], args.shift, args.flip, rng)
            loss = torch.nn.functional.cross_entropy(logits(x), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            right = (logits(pixels[held_out]).argmax(1) == labels[held_out]).float().mean()
        model.train()
        print(f"epoch {epoch:3d}: held-out shape accuracy {100 * right:5.1f} %  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
