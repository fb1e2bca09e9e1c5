"""Laying an `EditTrack` out one output frame at a time, and sampling the source logs' rows there.

`plan_frames` says per output frame which source rows show, with which dissolve weight and how black (a `FramePlan`);
`check_ranges` makes sure those rows exist; `render_rows` samples and blends them into the conformed rows (z by
slerp, continuous fields by lerp, discrete ones from the nearer side). Pure arrays: no files are read or written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from instrument.latent.interp import slerp
from instrument.record.edit import Blank, ConformError, Dissolve, EditTrack, Shot

_LERPED = ("t", "wall_time", "psi", "params", "mix", "audio", "audio_weight", "directions")  # continuous fields blend linearly
_PICKED = ("noise_seed", "cutoff", "noise_mode", "has_audio", "direction_layers")  # discrete: from the nearer side


@dataclass
class FramePlan:
    """Per output frame: side a (and b while dissolving) as (item index, source row position), b's weight, black."""
    item_a: np.ndarray             # [frames] int, -1 = nothing shown
    pos_a: np.ndarray              # [frames] float source row
    item_b: np.ndarray             # [frames] int, -1 = no second side
    pos_b: np.ndarray
    weight_b: np.ndarray           # [frames] 0 = all a, 1 = all b
    black: np.ndarray              # [frames] 0 = picture, 1 = black

    @classmethod
    def empty(cls, n: int) -> "FramePlan":
        return cls(np.full(n, -1), np.zeros(n), np.full(n, -1), np.zeros(n), np.zeros(n), np.zeros(n))


# ---- laying out frames -------------------------------------------------------------------------------------------
def plan_frames(items: list) -> FramePlan:
    """One entry per output frame; dissolves overwrite the frames around their cut; gaps hold the nearest latent."""
    starts, total = [], 0
    for item in items:
        starts.append(total)
        total += 0 if isinstance(item, Dissolve) else item.frames
    plan = FramePlan.empty(total)
    for i, item in enumerate(items):
        span = slice(starts[i], starts[i] + getattr(item, "frames", 0))
        if isinstance(item, Shot):
            plan.item_a[span], plan.pos_a[span] = i, item.position(np.arange(item.frames))
        elif isinstance(item, Blank):
            plan.black[span] = 1.0
    for i, item in enumerate(items):
        if isinstance(item, Dissolve):
            _lay_dissolve(plan, items, starts, i)
    _hold_through_black(plan)
    return plan


def _lay_dissolve(plan: FramePlan, items: list, starts: list[int], i: int) -> None:
    """Blend outgoing into incoming over [cut - before, cut + after); a gap or the track's end side is black."""
    d, cut = items[i], starts[i]
    n = d.before + d.after
    frames = np.arange(cut - d.before, cut + d.after)
    if n == 0:
        return
    if frames[0] < 0 or frames[-1] >= len(plan.black):
        raise ConformError(f"dissolve ({d.where}) spans frames {frames[0]}..{frames[-1]} but the timeline has "
                           f"0..{len(plan.black) - 1}; shorten it")
    w_in = (np.arange(n) + 0.5) / n                   # incoming weight ramps up across the transition
    out = _neighbour(items, starts, i - 1, frames)
    inc = _neighbour(items, starts, i + 1, frames)
    if out and inc:
        plan.item_a[frames], plan.pos_a[frames] = out
        plan.item_b[frames], plan.pos_b[frames] = inc
        plan.weight_b[frames], plan.black[frames] = w_in, 0.0
    elif out or inc:
        plan.item_a[frames], plan.pos_a[frames] = out or inc
        plan.item_b[frames], plan.weight_b[frames] = -1, 0.0
        plan.black[frames] = w_in if out else 1.0 - w_in
    else:
        plan.black[frames] = 1.0


def _neighbour(items: list, starts: list[int], j: int, frames: np.ndarray):
    """(item index, source positions) of shot j over timeline `frames` (its handles included), or None."""
    if not 0 <= j < len(items) or not isinstance(items[j], Shot):
        return None
    return j, items[j].position(frames - starts[j])


def _hold_through_black(plan: FramePlan) -> None:
    """Frames showing nothing take the last shown frame's latent (or the first one's before any picture)."""
    shown = plan.item_a >= 0
    if not shown.any():
        raise ConformError("the edit's first video track shows no clip; nothing to conform")
    last = np.maximum.accumulate(np.where(shown, np.arange(len(shown)), -1))
    source = np.where(last >= 0, last, np.argmax(shown))
    for name in ("item_a", "pos_a", "item_b", "pos_b", "weight_b"):
        column = getattr(plan, name)
        column[:] = column[source]


def check_ranges(plan: FramePlan, edit: EditTrack, rows: dict[int, np.ndarray]) -> list[dict]:
    """Every shot's rows (handles included) must exist in its log; returns the clips for the header."""
    clips = []
    for i, shot in enumerate(edit.items):
        if not isinstance(shot, Shot):
            continue
        pos = np.concatenate([plan.pos_a[plan.item_a == i], plan.pos_b[plan.item_b == i]])
        lo, hi = (int(np.floor(pos.min())), int(np.ceil(pos.max()))) if len(pos) else (0, -1)
        if lo < 0 or hi >= len(rows[i]):
            raise ConformError(f"clip '{shot.name}' ({shot.where}) wants rows {lo}..{hi} but '{shot.log.name}' "
                               f"has {len(rows[i])}")
        clips.append({"name": shot.name, "log": str(shot.log), "rows": [lo, hi], "speed": shot.speed,
                      "frames": shot.frames})
    return clips


# ---- sampling the logs -------------------------------------------------------------------------------------------
def blend_rows(a: np.ndarray, b: np.ndarray, w) -> np.ndarray:
    """Rows a→b at weight w [n]: z by slerp per source, continuous fields by lerp, discrete from the nearer."""
    w = np.asarray(w, dtype=np.float64)
    out = a.copy()
    out["z"] = slerp(a["z"], b["z"], w[:, None])
    for name in (f for f in _LERPED if f in a.dtype.names):
        wide = w.reshape((-1,) + (1,) * (a[name].ndim - 1))
        out[name] = a[name] + wide * (b[name].astype(np.float64) - a[name])
    near_b = w >= 0.5
    for name in (f for f in _PICKED if f in a.dtype.names):
        out[name] = np.where(near_b, b[name], a[name])
    return out


def sample(rows: dict[int, np.ndarray], item: np.ndarray, pos: np.ndarray, dtype) -> np.ndarray:
    """Rows at fractional positions: floor and ceil blended by the fraction (exact rows where it is 0)."""
    out = np.zeros(len(item), dtype)
    for i in np.unique(item[item >= 0]):
        mask = item == i
        lo = np.floor(pos[mask]).astype(np.int64)
        hi = np.minimum(lo + 1, len(rows[i]) - 1)
        out[mask] = blend_rows(rows[i][lo], rows[i][hi], pos[mask] - lo)
    return out


def render_rows(plan: FramePlan, rows: dict[int, np.ndarray], dtype, rate: float) -> np.ndarray:
    a = sample(rows, plan.item_a, plan.pos_a, dtype)
    b_item = np.where(plan.item_b >= 0, plan.item_b, plan.item_a)
    b_pos = np.where(plan.item_b >= 0, plan.pos_b, plan.pos_a)
    out = blend_rows(a, sample(rows, b_item, b_pos, dtype), plan.weight_b)
    out["index"] = np.arange(len(out))
    out["t"] = np.arange(len(out)) / rate             # timeline time; the source's t is meaningless after a cut
    return out
