"""STFT framing shared by analysis, the latent-timbre synth and RTPGHI.

Conventions (used everywhere in instrument.audio):
- frame n covers samples [n*hop, n*hop + n_fft) of the *padded* timeline, where the signal is padded
  with n_fft//2 zeros on the left (so frame n is centred on original sample n*hop);
- spectra are "time-invariant" phase: the FFT is taken of the windowed frame rolled so that the window
  centre is at index 0, so phase is measured relative to the frame centre (what PGHI's relations use);
- log-magnitude is log(|X| + LOG_EPS), shape [frames, bins] with bins = n_fft//2 + 1.
Synthesis uses the canonical dual window w / sum_k w(t - k*hop)^2, so analysis followed by synthesis
with the true phase is the identity away from the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_EPS = 1e-7  # floor inside log(|X| + eps); about -140 dB relative to a full-scale sinusoid bin
HANN_LAMBDA_PER_L2 = 0.25645  # Gaussian-equivalent lambda of a Hann window, in units of L^2 samples^2


@dataclass(frozen=True)
class SpectralConfig:
    sample_rate_hz: int = 48000
    n_fft: int = 1024
    hop: int = 128
    window: str = "hann"

    def __post_init__(self) -> None:
        if self.window != "hann":
            raise ValueError(f"SpectralConfig.window={self.window!r} is not supported; use 'hann'")
        if self.n_fft % self.hop or self.n_fft // self.hop < 4:
            raise ValueError(f"SpectralConfig hop={self.hop} must divide n_fft={self.n_fft} with >= 4x overlap")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def gauss_lambda(self) -> float:
        """Equivalent Gaussian window time-frequency ratio lambda, in samples^2 (PGHI's gamma)."""
        return HANN_LAMBDA_PER_L2 * self.n_fft**2

    @property
    def hop_s(self) -> float:
        return self.hop / self.sample_rate_hz


def analysis_window(config: SpectralConfig) -> np.ndarray:
    """Periodic Hann window, float64 [n_fft]."""
    n = np.arange(config.n_fft)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / config.n_fft)


def synthesis_window(config: SpectralConfig) -> np.ndarray:
    """Canonical dual window w / sum_k w(t - k*hop)^2, float64 [n_fft] (exact for the periodic Hann)."""
    w = analysis_window(config)
    energy = np.zeros(config.hop)  # [hop] sum of w^2 over all overlapping shifts, per phase
    for start in range(0, config.n_fft, config.hop):
        energy += w[start : start + config.hop] ** 2
    return w / np.tile(energy, config.n_fft // config.hop)


def frame_signal(signal: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Centre-padded frames [frames, n_fft] of a mono signal [samples]; frames = 1 + samples // hop."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"signal has shape {x.shape}; pass a mono 1-D array [samples]")
    half = config.n_fft // 2
    n_frames = 1 + len(x) // config.hop
    padded = np.zeros((n_frames - 1) * config.hop + config.n_fft)
    padded[half : half + len(x)] = x
    idx = np.arange(n_frames)[:, None] * config.hop + np.arange(config.n_fft)[None, :]
    return padded[idx]


def stft(signal: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Complex STFT [frames, bins], phase relative to each frame's centre."""
    frames = frame_signal(signal, config) * analysis_window(config)
    return np.fft.rfft(np.fft.ifftshift(frames, axes=-1), axis=-1)


def stft_logmag(signal: np.ndarray, config: SpectralConfig = SpectralConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(log-magnitude [frames, bins] float32, phase [frames, bins] float64 radians) of a mono signal."""
    spec = stft(signal, config)
    return np.log(np.abs(spec) + LOG_EPS).astype(np.float32), np.angle(spec)


def frame_to_time(complex_frame: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Windowed time frame [n_fft] (synthesis window applied) from one centre-phase spectrum [bins]."""
    return np.fft.fftshift(np.fft.irfft(complex_frame, n=config.n_fft)) * synthesis_window(config)


class OverlapAdd:
    """Streaming overlap-add: push one complex frame [bins], get the next `hop` finished samples.

    After pushing frame n the samples [n*hop, (n+1)*hop) of the padded timeline are final (every frame
    that overlaps them has been added), so OLA adds no delay beyond the frame itself.
    """

    def __init__(self, config: SpectralConfig = SpectralConfig()) -> None:
        self.config = config
        self._window = synthesis_window(config)  # [n_fft]
        self._acc = np.zeros(config.n_fft)  # [n_fft] accumulator, index 0 = next output sample

    def push(self, complex_frame: np.ndarray) -> np.ndarray:
        """Add one frame [bins]; return float32 [hop] finished samples."""
        hop = self.config.hop
        time = np.fft.fftshift(np.fft.irfft(complex_frame, n=self.config.n_fft))
        self._acc += time * self._window
        out = self._acc[:hop].astype(np.float32)
        self._acc[:-hop] = self._acc[hop:]
        self._acc[-hop:] = 0.0
        return out

    def flush(self) -> np.ndarray:
        """The remaining n_fft - hop samples (tails of the last frames), float32; resets the state."""
        out = self._acc[self.config.hop :].astype(np.float32)
        self._acc[:] = 0.0
        return out


def tilt(logmag: np.ndarray, brightness: float, spectral: SpectralConfig = SpectralConfig(),
         pivot_hz: float = 1000.0) -> np.ndarray:
    """Spectral tilt: add `brightness` x 6 dB per octave above `pivot_hz` (and subtract below) to log-magnitudes."""
    if brightness == 0.0:
        return logmag
    freqs_hz = np.maximum(np.arange(spectral.bins) * spectral.sample_rate_hz / spectral.n_fft, 20.0)
    octaves = np.log2(freqs_hz / pivot_hz).astype(np.float32)  # [bins]
    return logmag + np.float32(brightness * np.log(2.0)) * octaves  # 6 dB/oct = factor 2/oct = +log(2) nats/oct


def istft(spec: np.ndarray, config: SpectralConfig, n_samples: int | None = None) -> np.ndarray:
    """Offline inverse of stft(): complex [frames, bins] -> float32 [samples] (edges trimmed)."""
    ola = OverlapAdd(config)
    parts = [ola.push(frame) for frame in spec] + [ola.flush()]
    return trim_padded(np.concatenate(parts), config, n_samples)


def trim_padded(padded: np.ndarray, config: SpectralConfig, n_samples: int | None) -> np.ndarray:
    """Drop the n_fft//2 left padding; keep n_samples (default: frames * hop worth)."""
    out = padded[config.n_fft // 2 :]
    return out[:n_samples] if n_samples is not None else out[: len(padded) - config.n_fft + config.hop]


def spectral_convergence_db(estimate: np.ndarray, reference: np.ndarray, config: SpectralConfig) -> float:
    """20 log10(|| |STFT(est)| - |STFT(ref)| ||_F / || |STFT(ref)| ||_F), over the common length."""
    n = min(len(estimate), len(reference))
    est, ref = np.abs(stft(estimate[:n], config)), np.abs(stft(reference[:n], config))
    return float(20.0 * np.log10(np.linalg.norm(est - ref) / np.linalg.norm(ref)))
