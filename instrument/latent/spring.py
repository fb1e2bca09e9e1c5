"""A damped spring pulling latents towards their targets (Akten's "physical interpolation"), frame-rate independent.

The motion is x'' = -k (x - target) - 2 ζ sqrt(k) x'. Over a span in which the target is constant this linear system
has a closed-form solution, so each call advances the state with the exact 2×2 propagator instead of a numerical
integrator: it is unconditionally stable for any stiffness, damping ratio and frame time.

Time advances on a fixed grid of `substep_s` (1 ms): a call consumes only whole substeps and carries the remainder to
the next call. Why: a target that changes between calls then always takes effect on the same grid instant whatever the
frame rate, and 1 s stepped at 30 Hz or at 240 Hz ends in the same state up to float rounding.
"""

from __future__ import annotations

import math

import numpy as np

SUBSTEP_S = 1e-3
_GRID_SLACK = 1e-6  # substeps; absorbs float rounding so 60 × (1/30 s) counts as 2000 substeps, not 1999


def propagator(tau_s: float, stiffness: float, damping_ratio: float) -> tuple[float, float, float, float]:
    """Exact map (e, v) -> (m00 e + m01 v, m10 e + m11 v) of the error e = x - target over tau_s seconds.

    With C and S the decaying even/odd solutions, M = [[C + ζω S, S], [-ω² S, C - ζω S]] covers the under-damped
    (cos/sin), critically damped (1/τ) and over-damped (cosh/sinh) cases alike.
    """
    omega = math.sqrt(max(stiffness, 0.0))
    zeta = max(damping_ratio, 0.0)
    c, s = _even_odd(tau_s, omega, zeta)
    return c + zeta * omega * s, s, -omega * omega * s, c - zeta * omega * s


def _even_odd(tau_s: float, omega: float, zeta: float) -> tuple[float, float]:
    """C(τ) and S(τ) for the three damping regimes, written to avoid overflow and cancellation."""
    decay = zeta * omega
    if zeta < 1.0:
        wd = omega * math.sqrt(1.0 - zeta * zeta)
        envelope = math.exp(-decay * tau_s)
        sinc = tau_s if wd * tau_s < 1e-12 else math.sin(wd * tau_s) / wd
        return envelope * math.cos(wd * tau_s), envelope * sinc
    wh = omega * math.sqrt(zeta * zeta - 1.0)
    slow = math.exp((wh - decay) * tau_s)  # the slower-decaying mode, ≤ 1
    fast = math.exp((-wh - decay) * tau_s)
    if wh * tau_s < 0.5:  # why: (slow - fast) / 2wh cancels badly near critical damping; expm1 keeps it exact
        odd = tau_s * fast if wh == 0.0 else fast * math.expm1(2.0 * wh * tau_s) / (2.0 * wh)
    else:
        odd = (slow - fast) / (2.0 * wh)
    return 0.5 * (slow + fast), odd


class SpringDamper:
    """Positions and velocities of a batch of latents, each pulled towards its own target by the same spring."""

    def __init__(self, position: np.ndarray, velocity: np.ndarray | None = None, substep_s: float = SUBSTEP_S):
        if substep_s <= 0:
            raise ValueError(f"substep_s must be positive, got {substep_s}")
        self.substep_s = float(substep_s)
        self.x = np.array(position, dtype=np.float64)
        self.v = np.zeros_like(self.x)
        self._e = np.empty_like(self.x)  # work arrays: no allocation per step
        self._w = np.empty_like(self.x)
        self._pending = 0.0  # carried time, in substeps, not yet integrated
        self.reset(position, velocity)

    @property
    def pending_s(self) -> float:
        """Time given to `step` but not yet integrated (always less than one substep)."""
        return max(self._pending, 0.0) * self.substep_s

    def reset(self, position: np.ndarray, velocity: np.ndarray | None = None) -> None:
        """Place the state (e.g. where a glide left the latent) without touching the carried remainder."""
        self.x[...] = position
        self.v[...] = 0.0 if velocity is None else velocity

    def kick(self, impulse: np.ndarray | float) -> None:
        """Add an instantaneous change of velocity (broadcast over the batch)."""
        self.v += impulse

    def step(self, target: np.ndarray, dt_s: float, stiffness: float, damping_ratio: float) -> np.ndarray:
        """Advance by dt_s on the substep grid; returns the position array (owned by the spring: copy to keep)."""
        self._pending += max(float(dt_s), 0.0) / self.substep_s
        whole = math.floor(self._pending + _GRID_SLACK)
        if whole <= 0:
            return self.x
        self._pending -= whole
        self._advance(np.asarray(target, dtype=np.float64), whole * self.substep_s, stiffness, damping_ratio)
        return self.x

    def _advance(self, target: np.ndarray, tau_s: float, stiffness: float, damping_ratio: float) -> None:
        m00, m01, m10, m11 = propagator(tau_s, stiffness, damping_ratio)
        e, w = self._e, self._w
        np.subtract(self.x, target, out=e)
        np.multiply(self.v, m01, out=w)
        np.multiply(e, m00, out=self.x)
        self.x += w
        self.x += target
        np.multiply(self.v, m11, out=self.v)
        np.multiply(e, m10, out=w)
        self.v += w
