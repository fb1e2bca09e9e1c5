"""Interpolation on the latent shell: lerp, slerp, projection onto the Gaussian shell, and timed glides.

Why a shell: a standard Gaussian z in `dim` dimensions almost surely has norm close to sqrt(dim), so the generator
only ever saw latents near that sphere; points well inside it (the middle of a straight lerp) give washed-out images.
All functions work on the last axis and broadcast over leading (batch) axes; t broadcasts over the batch.
"""

from __future__ import annotations

import numpy as np

_TINY = 1e-300  # guards divisions by a norm; anything this small is treated as the zero vector
_PARALLEL_SIN = 1e-7  # below this |sin Ω| the arc's plane is rounding noise, so a fixed perpendicular is used
_ARRIVE_SLACK = 1e-9
KINDS = ("slerp", "lerp")


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _col(t) -> np.ndarray:
    """t as a column that broadcasts against [..., dim]."""
    return _f64(t)[..., None]


def _norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(a * a, axis=-1, keepdims=True))


def lerp(a, b, t) -> np.ndarray:
    """Straight-line blend a + t (b - a)."""
    a, b = _f64(a), _f64(b)
    return a + _col(t) * (b - a)


def smoothstep(u) -> np.ndarray:
    """Ease in and out: zero slope at both ends, so a glide starts and lands without a velocity jump."""
    u = np.clip(_f64(u), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def slerp(a, b, t) -> np.ndarray:
    """Great-circle blend of directions with the norms blended linearly (shell points stay on the shell).

    The angle comes from atan2(|b⊥|, a·b), accurate at both poles. For (nearly) antiparallel inputs the arc is not
    unique and a fixed perpendicular is used; a zero input falls back to lerp. Endpoints are returned exactly.
    """
    a, b = np.broadcast_arrays(_f64(a), _f64(b))
    tc = _col(t)
    na, nb = _norm(a), _norm(b)
    ua, ub = a / np.maximum(na, _TINY), b / np.maximum(nb, _TINY)
    cos = np.sum(ua * ub, axis=-1, keepdims=True)
    perp = ub - cos * ua
    sin = _norm(perp)
    p = perp / np.maximum(sin, _TINY)
    if np.any(sin < _PARALLEL_SIN):
        p = np.where(sin < _PARALLEL_SIN, _perpendicular(ua), p)
    angle = tc * np.arctan2(sin, cos)
    out = (np.cos(angle) * ua + np.sin(angle) * p) * ((1.0 - tc) * na + tc * nb)
    out = np.where((na < _TINY) | (nb < _TINY), lerp(a, b, t), out)
    return np.where(tc == 0.0, a, np.where(tc == 1.0, b, out))


def _perpendicular(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to each unit row of u: the axis u points least along, with u's part removed."""
    axis = np.argmin(np.abs(u), axis=-1)[..., None]
    p = -np.take_along_axis(u, axis, axis=-1) * u
    np.put_along_axis(p, axis, np.take_along_axis(p, axis, axis=-1) + 1.0, axis=-1)
    return p / np.maximum(_norm(p), _TINY)


def to_shell(z, out: np.ndarray | None = None) -> np.ndarray:
    """Scale each row to norm sqrt(dim). A zero row becomes the all-ones vector (a fixed shell point)."""
    z = _f64(z)
    n = _norm(z)
    radius = np.sqrt(z.shape[-1])
    scaled = np.multiply(z, radius / np.maximum(n, _TINY), out=out)
    if np.any(n < _TINY):
        scaled[...] = np.where(n < _TINY, 1.0, scaled)
    return scaled


def latent_from_seed(seed: int, dim: int) -> np.ndarray:
    """The shell latent for an integer seed, float64 [dim].

    Uses RandomState(seed).randn like the StyleGAN reference scripts, so "seed 42" is the image people know (the
    mapping network normalises z, so projecting to the shell does not change the image).
    """
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in 0..{2**32 - 1}, got {seed}")
    return to_shell(np.random.RandomState(seed).randn(dim))


class Glide:
    """Timed, eased transitions for a batch of rows, each retargeted independently.

    Progress u runs 0→1 at 1/seconds per second; `seconds` may change mid-flight without a jump because only the
    rate changes, not u itself. The path is slerp or lerp of smoothstep(u).
    """

    def __init__(self, start: np.ndarray, seconds: float = 2.0, kind: str = "slerp"):
        self.start = np.array(start, dtype=np.float64)
        self.target = self.start.copy()
        self.u = np.ones(self.start.shape[:-1])  # 1 = arrived
        self.seconds = float(seconds)
        self.kind = _check_kind(kind)

    @property
    def done(self) -> bool:
        return bool(np.all(self.u >= 1.0))

    def position(self) -> np.ndarray:
        blend = slerp if self.kind == "slerp" else lerp
        moving = blend(self.start, self.target, smoothstep(self.u))
        return np.where((self.u >= 1.0)[..., None], self.target, moving)

    def retarget(self, target: np.ndarray, start: np.ndarray, row=...) -> None:
        """Head a row (an index or slice; all rows by default) from `start`, usually where it is now, to `target`."""
        self.start[row] = start
        self.target[row] = target
        self.u[row] = 0.0

    def set_kind(self, kind: str) -> None:
        """Change the path shape; rows in flight restart from where they are, so nothing jumps."""
        kind = _check_kind(kind)
        if kind == self.kind:
            return
        moving = self.u < 1.0
        self.start[...] = np.where(moving[..., None], self.position(), self.start)
        self.u[...] = np.where(moving, 0.0, self.u)
        self.kind = kind

    def step(self, dt_s: float) -> np.ndarray:
        """Advance every row by dt_s; returns fresh positions."""
        self.u += max(float(dt_s), 0.0) / max(self.seconds, 1e-6)
        self.u[self.u > 1.0 - _ARRIVE_SLACK] = 1.0  # why: ten steps of 0.1 s must finish a 1 s glide despite rounding
        return self.position()


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"glide kind must be one of {KINDS}, got {kind!r}")
    return kind
