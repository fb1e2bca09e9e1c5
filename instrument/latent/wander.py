"""Smooth, deterministic wander noise added around a latent trajectory.

Each dimension is a sum of a few sinusoids whose frequencies (around 1 cycle per wander cycle) and phases are drawn
once from a seeded generator. Why sinusoids and not filtered random noise: the output is a pure function of the
seed and the accumulated phase, so it is smooth to every order, bounded, and replays exactly for the same dt sequence.
"""

from __future__ import annotations

import math

import numpy as np

PARTIALS = 4
FREQ_SPREAD = (0.5, 1.5)  # partial frequencies, as multiples of the wander speed


class Wander:
    """Offsets of shape `shape` (e.g. [3 sources, z_dim]); unit variance per component before `amount` scales them.

    With per-component standard deviation `amount`, a [dim] offset has norm ≈ amount · sqrt(dim), i.e. `amount` is
    a fraction of the shell radius. Every component is bounded by amount · sqrt(2 · partials).
    """

    def __init__(self, shape: tuple[int, ...], seed: int | np.random.SeedSequence, partials: int = PARTIALS):
        rng = np.random.default_rng(seed)
        full = tuple(shape) + (partials,)
        self._freq_2pi = 2.0 * math.pi * rng.uniform(*FREQ_SPREAD, size=full)  # radians per wander cycle
        self._phase = rng.uniform(0.0, 2.0 * math.pi, size=full)
        self._gain = math.sqrt(2.0 / partials)  # each sinusoid has variance 1/2
        self._work = np.empty(full)
        self.shape = tuple(shape)
        self.cycles = 0.0  # accumulated speed_hz · dt_s; why: a speed change alters the rate, never the position

    @property
    def bound(self) -> float:
        """Largest possible |component| per unit of amount."""
        return self._gain * self._freq_2pi.shape[-1]

    def step(self, dt_s: float, speed_hz: float, amount: float) -> np.ndarray:
        """Advance the noise by dt_s at speed_hz and return a fresh offset array scaled by amount."""
        self.cycles += max(float(speed_hz), 0.0) * max(float(dt_s), 0.0)
        return self.offset(amount)

    def offset(self, amount: float) -> np.ndarray:
        """The offset at the current phase; exactly zero when amount is 0."""
        if amount == 0.0:
            return np.zeros(self.shape)
        w = self._work
        np.multiply(self._freq_2pi, self.cycles, out=w)
        w += self._phase
        np.sin(w, out=w)
        return w.sum(axis=-1) * (self._gain * float(amount))
