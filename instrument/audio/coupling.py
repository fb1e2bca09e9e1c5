"""Visual -> audio latent coupling: the image generator's latent steers the timbre VAE's latent.

`LatentCoupling` is a fixed random projection (seeded, so the same visual latent always makes the same sound)
from the visual latent z [z_dim] to the VAE latent [latent_dim]. The projection matrix has N(0, 1/z_dim) entries,
so a visual z ~ N(0, I) lands on u ~ N(0, I); u is then scaled into the VAE's posterior range:
    latent = latent_mean + latent_std * limit * tanh((offset + amount * scale * u) / limit)
where latent_mean/latent_std are the encoded corpus statistics stored in the model file. amount 0 gives the offset
latent (the posterior mean when offset is 0); the tanh keeps every output within `limit` posterior std of the
mean, smoothly, so a far-out visual latent never leaves the region the decoder was trained on.

`LatentInterpolator` turns visual-rate latents (about 30 Hz, jittery arrival times) into audio-rate latents (one
per hop, 375 per second at 48 kHz / 128): each new visual latent starts a linear glide from wherever the output
is now to the new value, over the measured mean arrival interval. The output is continuous (never steps) and its
per-hop change is bounded by |new - current| * hop_s / interval_s. Time is given, never read from a clock.
"""

from __future__ import annotations

import numpy as np

DEFAULT_Z_DIM = 256
DEFAULT_LIMIT_SIGMA = 3.0


class LatentCoupling:
    """Seeded projection visual z [z_dim] -> VAE latent [latent_dim] in the posterior's range."""

    def __init__(self, latent_mean: np.ndarray, latent_std: np.ndarray, z_dim: int = DEFAULT_Z_DIM,
                 seed: int = 0, limit_sigma: float = DEFAULT_LIMIT_SIGMA) -> None:
        self.latent_mean = np.asarray(latent_mean, dtype=np.float32)  # [latent_dim]
        self.latent_std = np.asarray(latent_std, dtype=np.float32)    # [latent_dim]
        if self.latent_mean.shape != self.latent_std.shape or self.latent_mean.ndim != 1:
            raise ValueError(f"latent_mean {self.latent_mean.shape} and latent_std {self.latent_std.shape} "
                             f"must both be [latent_dim]")
        self.z_dim, self.limit_sigma = int(z_dim), float(limit_sigma)
        rng = np.random.default_rng(seed)
        self.projection = (rng.standard_normal((self.z_dim, len(self.latent_mean))) / np.sqrt(self.z_dim)).astype(
            np.float32)  # [z_dim, latent_dim]

    @classmethod
    def for_model(cls, vae, z_dim: int = DEFAULT_Z_DIM, seed: int = 0, **kwargs) -> "LatentCoupling":
        """Coupling into a TimbreVAE's posterior range (its stored latent_mean / latent_std)."""
        stats = vae.stats()
        return cls(stats["latent_mean"], stats["latent_std"], z_dim, seed, **kwargs)

    @property
    def latent_dim(self) -> int:
        return len(self.latent_mean)

    def __call__(self, z, amount: float = 1.0, offset=0.0, scale: float = 1.0) -> np.ndarray:
        """VAE latent(s) float32 [latent_dim] or [n, latent_dim] for visual z [z_dim] or [n, z_dim].

        amount: 0..1 how much the picture moves the sound; scale: spread in posterior stds per unit of u;
        offset: scalar or [latent_dim] shift from the posterior mean, in posterior stds."""
        z = np.asarray(z, dtype=np.float32)
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"visual latent has shape {z.shape}; expected [..., {self.z_dim}]")
        u = z @ self.projection  # [..., latent_dim], ~N(0, 1) for z ~ N(0, I)
        standard = np.asarray(offset, dtype=np.float32) + np.float32(amount * scale) * u
        return self.unstandardise(standard)

    def unstandardise(self, standard: np.ndarray) -> np.ndarray:
        """Posterior-std units -> VAE latent, soft-limited to +-limit_sigma around the mean."""
        lim = np.float32(self.limit_sigma)
        return (self.latent_mean + self.latent_std * lim * np.tanh(standard / lim)).astype(np.float32)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) [latent_dim]: every output lies strictly inside."""
        span = self.latent_std * np.float32(self.limit_sigma)
        return self.latent_mean - span, self.latent_mean + span


def with_keyframe_timbre(coupled: np.ndarray, keyed: np.ndarray | None, weight: float) -> np.ndarray:
    """The coupled timbre latent moved `weight` (0..1) of the way to the keyframes' timbre `keyed` (sound keyframes:
    weight = the frame's audio_weight times timbre.keyframes); `coupled` itself when there is none."""
    if keyed is None or not weight > 0.0:
        return coupled
    return (coupled + np.float32(min(weight, 1.0)) * (np.asarray(keyed, np.float32) - coupled)).astype(np.float32)


class LatentInterpolator:
    """Visual latents at irregular times in, one latent per audio hop out, without steps."""

    def __init__(self, latent_dim: int, hop_s: float = 128 / 48000, initial_interval_s: float = 1 / 30,
                 min_interval_s: float | None = None, max_interval_s: float = 0.5, smoothing: float = 0.2,
                 initial=None) -> None:
        self.hop_s = float(hop_s)
        self.interval_s = float(initial_interval_s)  # running mean of the arrival interval: the glide length
        self.min_interval_s = float(min_interval_s if min_interval_s is not None else 2 * hop_s)
        self.max_interval_s, self.smoothing = float(max_interval_s), float(smoothing)
        self.current = np.zeros(latent_dim) if initial is None else np.array(initial, np.float64)  # [latent_dim]
        if self.current.shape != (latent_dim,):
            raise ValueError(f"initial latent has shape {self.current.shape}; expected ({latent_dim},)")
        self._start = self.current.copy()   # glide origin
        self._target = self.current.copy()  # newest visual latent
        self._t0_s = 0.0                    # glide start time
        self._last_arrival_s: float | None = None
        self._last_step_s = -np.inf          # time of the last hop handed out

    def push(self, latent, t_s: float) -> None:
        """A new visual-rate latent [latent_dim] that arrived at time t_s (seconds, any monotonic base)."""
        latent = np.asarray(latent, dtype=np.float64)
        if latent.shape != self.current.shape:
            raise ValueError(f"latent has shape {latent.shape}; expected {self.current.shape}")
        if self._last_arrival_s is not None:  # the first glide keeps the initial interval
            gap_s = min(max(t_s - self._last_arrival_s, self.min_interval_s), self.max_interval_s)
            self.interval_s += self.smoothing * (gap_s - self.interval_s)
        # glide from where the output is at the later of arrival and the last hop played: continuous either way
        t0_s = max(float(t_s), self._last_step_s)
        self._start = self._at(t0_s) if self._last_arrival_s is not None else self.current.copy()  # from `initial`
        self._target, self._t0_s, self._last_arrival_s = latent.copy(), t0_s, float(t_s)

    def _at(self, t_s: float) -> np.ndarray:
        frac = min(max((t_s - self._t0_s) / max(self.interval_s, 1e-9), 0.0), 1.0)
        return self._start + frac * (self._target - self._start)

    def step(self, t_s: float) -> np.ndarray:
        """The latent float32 [latent_dim] for the hop starting at audio time t_s."""
        self.current[:] = self._at(t_s)
        self._last_step_s = max(self._last_step_s, float(t_s))
        return self.current.astype(np.float32)

    def block(self, t_start_s: float, n_hops: int) -> np.ndarray:
        """Latents float32 [n_hops, latent_dim] for hops at t_start_s + k * hop_s."""
        return np.stack([self.step(t_start_s + k * self.hop_s) for k in range(n_hops)])
