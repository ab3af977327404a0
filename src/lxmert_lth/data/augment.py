"""Random shifts and mirror images of a pre-training batch's pixels (``pretrain.augment``),
in a module of its own: validating a configuration asks ``Augment.from_dict`` whether a
recipe augments, without importing what reading images needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Augment:
    """Random shifts and mirror images of a batch's pixels, for a pre-training that learns
    to see from few images (``pretrain.augment``): each image moves by up to ``shift``
    pixels along each axis (its edge pixels fill what it uncovers) and, when ``flip``, is
    mirrored left to right with probability 1/2, within its own pixels (``pixel_mask``).

    Every draw comes from the generator the caller passes (the pre-training's CPU
    generator, in batch order), so a batch is augmented the same on every device."""

    shift: int = 0
    flip: bool = False

    @classmethod
    def from_dict(cls, options: Mapping | None) -> Augment | None:
        """The ``augment`` section of a pre-training recipe, or None when it changes
        nothing (then no draw is made, so a recipe without it keeps its digits)."""
        augment = cls(**(options or {}))
        return augment if augment.shift or augment.flip else None

    def __call__(self, images: Mapping, generator) -> dict:
        """``pixel_values`` (B, 3, H, W) augmented, image by image (``pixel_mask`` says
        each image's own height and width; it is unchanged)."""
        import torch
        import torch.nn.functional as F

        values, mask = images["pixel_values"], images["pixel_mask"]
        n, s = values.shape[0], self.shift
        moves = torch.randint(-s, s + 1, (n, 2), generator=generator).tolist()
        mirror = (torch.rand(n, generator=generator) < 0.5).tolist()
        heights = mask[:, :, 0].sum(1).tolist()
        widths = mask[:, 0, :].sum(1).tolist()
        out = values.clone()
        draws = zip(moves, mirror, heights, widths, strict=True)
        for i, ((dy, dx), flip, h, w) in enumerate(draws):
            image = values[i, :, :h, :w]
            if s:
                padded = F.pad(image[None], (s, s, s, s), mode="replicate")[0]
                image = padded[:, s - dy : s - dy + h, s - dx : s - dx + w]
            if self.flip and flip:
                image = image.flip(-1)
            out[i, :, :h, :w] = image
        return {**images, "pixel_values": out}
