"""Differentiable Augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random transforms are applied to real and generated images before the discriminator, and every
transform is differentiable with respect to the image, so the generator's gradient passes through it. That keeps
D from memorising a small corpus (a few thousand emoji) without leaking the augmentations into G's outputs.

    x = diff_augment(x, "color,translation,cutout", gen)   # x: [batch, C, H, W] in about [-1, 1]

All randomness comes from the `torch.Generator` passed in (drawn on its device, then moved), so a training run
that saves the generator's state resumes with the same augmentations.
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # shift up to 1/8 of the image size in each direction
CUTOUT_RATIO = 0.5  # erase a square half the image size


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' or 'none' -> (); unknown names raise ValueError."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none")
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation {name!r}; choose from {', '.join(POLICIES)} (comma-separated)")
    return names


def _rand(gen: torch.Generator | None, shape: list[int], like: torch.Tensor) -> torch.Tensor:
    device = gen.device if gen is not None else like.device
    return torch.rand(shape, generator=gen, device=device).to(like.device, like.dtype)


def _randint(gen: torch.Generator | None, high: torch.Tensor | int, shape: list[int], like: torch.Tensor,
             low: int = 0) -> torch.Tensor:
    device = gen.device if gen is not None else like.device
    return torch.randint(low, high, shape, generator=gen, device=device).to(like.device)


def rand_brightness(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Add one offset in [-0.5, 0.5) per image."""
    return x + (_rand(gen, [x.shape[0], 1, 1, 1], x) - 0.5)


def rand_saturation(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Scale each pixel's distance from its grey value by a factor in [0, 2) per image."""
    mean = x.mean(dim=1, keepdim=True)  # [B, 1, H, W]
    return (x - mean) * (_rand(gen, [x.shape[0], 1, 1, 1], x) * 2) + mean


def rand_contrast(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Scale each image's distance from its mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=[1, 2, 3], keepdim=True)  # [B, 1, 1, 1]
    return (x - mean) * (_rand(gen, [x.shape[0], 1, 1, 1], x) + 0.5) + mean


def rand_translation(x: torch.Tensor, gen: torch.Generator | None, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by whole pixels (up to `ratio` of its size), filling with zeros (mid grey)."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = _randint(gen, 2 * sy + 1, [b, 1, 1], x) - sy  # [B, 1, 1] shift in pixels
    tx = _randint(gen, 2 * sx + 1, [b, 1, 1], x) - sx
    gy = torch.arange(h, device=x.device).reshape(1, h, 1) - ty + sy  # rows of the padded image to read
    gx = torch.arange(w, device=x.device).reshape(1, 1, w) - tx + sx
    padded = torch.nn.functional.pad(x, [sx, sx, sy, sy])  # [B, C, H + 2 sy, W + 2 sx]
    bi = torch.arange(b, device=x.device).reshape(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[bi, gy, gx].permute(0, 3, 1, 2)  # gather: differentiable in x


def rand_cutout(x: torch.Tensor, gen: torch.Generator | None, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero one square of `ratio` x the image size per image, at a random position (may hang off the edge)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(gen, h + (1 - ch % 2), [b, 1, 1], x)  # centre of the square
    cx = _randint(gen, w + (1 - cw % 2), [b, 1, 1], x)
    ys = torch.arange(h, device=x.device).reshape(1, h, 1)
    xs = torch.arange(w, device=x.device).reshape(1, 1, w)
    y0, x0 = cy - ch // 2, cx - cw // 2  # [B, 1, 1] top-left corner
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)  # [B, H, W]
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...], gen: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order: color (brightness, saturation, contrast), translation, cutout."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for name in names:
        if name == "color":
            x = rand_contrast(rand_saturation(rand_brightness(x, gen), gen), gen)
        elif name == "translation":
            x = rand_translation(x, gen)
        elif name == "cutout":
            x = rand_cutout(x, gen)
    return x
