"""Style mixing: per-w-layer weights of the three latent sources A, B, C.

StyleGAN's w-layers act at increasing resolution: the first few set pose and shape (coarse), the next ones features
(middle), the rest colour and texture (fine). The performer sets one (A, B, C) weight triple per group; a per-layer
mask, when given, replaces the groups entirely.
"""

from __future__ import annotations

import numpy as np

GROUPS = ("coarse", "middle", "fine")
SOURCES = 3
_ONLY_A = (1.0, 0.0, 0.0)


def layer_groups(num_ws: int) -> dict[str, slice]:
    """The w-layer slices of each group, clipped so small generators still get valid (possibly empty) slices."""
    n = max(int(num_ws), 0)
    return {"coarse": slice(0, min(4, n)), "middle": slice(min(4, n), min(8, n)), "fine": slice(min(8, n), n)}


def normalise_rows(weights: np.ndarray) -> np.ndarray:
    """In place: clip negatives to 0 and make each row sum to 1; a row summing to 0 (or not finite) becomes A only."""
    np.maximum(weights, 0.0, out=weights)
    sums = weights.sum(axis=-1, keepdims=True)
    dead = ~(np.isfinite(sums) & (sums > 0.0))
    np.divide(weights, np.where(dead, 1.0, sums), out=weights)
    weights[dead[..., 0]] = _ONLY_A
    return weights


def mixing_weights(num_ws: int, group_weights: dict[str, tuple[float, float, float]],
                   mask: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Weights [num_ws, 3] whose rows sum to 1. Groups missing from group_weights default to A only."""
    out = np.empty((num_ws, SOURCES)) if out is None else out
    if out.shape != (num_ws, SOURCES):
        raise ValueError(f"out must have shape ({num_ws}, {SOURCES}), got {out.shape}")
    if mask is not None:
        out[...] = check_mask(mask, num_ws)
        return normalise_rows(out)
    unknown = set(group_weights) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown layer group(s) {sorted(unknown)}; groups are {GROUPS}")
    for name, layers in layer_groups(num_ws).items():
        out[layers] = group_weights.get(name, _ONLY_A)
    return normalise_rows(out)


def check_mask(mask, num_ws: int) -> np.ndarray:
    """A per-layer mask as float64 [num_ws, 3], or a ValueError saying what shape was expected."""
    m = np.asarray(mask, dtype=np.float64)
    if m.shape != (num_ws, SOURCES):
        raise ValueError(f"layer mask must have shape ({num_ws}, {SOURCES}), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("layer mask must be finite")
    return m
