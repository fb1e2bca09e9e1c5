"""Class conditioning of conditional generators (c_dim > 0): the playable class position -> the class vector c.

The parameter table is global while c_dim depends on the model, so the class is played as a *position* 0..1 across
the model's classes: class k sits at k / (c_dim - 1), and a position between two classes blends their one-hot
vectors linearly. A fader therefore reaches every class of any model, a smoothed move glides through the classes
in between, and position 0 (the default, and what a z-log without the field replays) is class 0.

    c = class_weights(0.5, 10)        # [10] float32: 0.5 of class 4, 0.5 of class 5
    class_position(7, 10)             # 0.777..., where class 7 sits
    class_label(0.5, 10)              # 'class 4→5 (50%)', for the HUD
"""

from __future__ import annotations

import math

import numpy as np


def _coordinate(position: float, c_dim: int) -> tuple[int, float]:
    """(lower class, fraction towards the next) of a position, clamped into 0..1."""
    p = float(position)
    p = min(max(p, 0.0), 1.0) if math.isfinite(p) else 0.0
    q = p * (c_dim - 1)
    low = min(int(math.floor(q)), c_dim - 1)
    return low, q - low


def class_weights(position: float, c_dim: int, out: np.ndarray | None = None) -> np.ndarray:
    """The class vector c [c_dim] (float32) for a class position: one-hot at a class, two-class blend between."""
    if c_dim < 1:
        raise ValueError(f"c_dim must be at least 1 for a conditional model, got {c_dim}")
    c = np.zeros(c_dim, np.float32) if out is None else out
    c[...] = 0
    low, frac = _coordinate(position, c_dim)
    c[low] = 1.0 - frac
    if frac > 0:
        c[low + 1] = frac
    return c


def class_position(index: int, c_dim: int) -> float:
    """The position 0..1 at which class `index` is played exactly."""
    if not 0 <= int(index) < c_dim:
        raise ValueError(f"class index must be in 0..{c_dim - 1}, got {index}")
    return int(index) / (c_dim - 1) if c_dim > 1 else 0.0


def class_label(position: float, c_dim: int) -> str:
    """What the HUD shows: 'class 4', or 'class 4→5 (30%)' while between two classes."""
    low, frac = _coordinate(position, c_dim)
    if frac < 0.005 or frac > 0.995:
        return f"class {low + (frac > 0.5)}"
    return f"class {low}→{low + 1} ({frac:.0%})"


def conditioning_text(config) -> str:
    """`instrument models`: 'c_dim 0 (unconditional)' or 'c_dim 10 (conditional: 10 classes, ...)'."""
    c_dim = getattr(config, "c_dim", 0)
    if not c_dim:
        return "c_dim 0 (unconditional)"
    return f"c_dim {c_dim} (conditional: {c_dim} classes, played with class.position)"
