"""Benchmark (not a test): per-hop cost of RTPGHI phase + overlap-add, and reconstruction quality.

Run:  python -m instrument.audio.bench [--json PATH]
Numbers are for the calling thread only (one core); FFT and the numba kernel are single-threaded.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from instrument.audio.rtpghi import HAVE_NUMBA, RTPGHI, griffin_lim
from instrument.audio.spectral import OverlapAdd, SpectralConfig, spectral_convergence_db, stft_logmag


def demo_signals(sample_rate_hz: int = 48000, duration_s: float = 2.0) -> dict[str, np.ndarray]:
    """Tonal (8 harmonics, 5 Hz vibrato), FM sweep, fast FM, white noise, plucks (a decaying 5-harmonic note
    every 0.25 s: attacks); 50 ms fades; float64 [samples]."""
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz  # [samples] seconds
    fade = np.clip(np.minimum(t, t[-1] - t) / 0.05, 0.0, 1.0)
    f0_hz = 220.0 * (1.0 + 0.01 * np.sin(2 * np.pi * 5.0 * t))
    phase = 2 * np.pi * np.cumsum(f0_hz) / sample_rate_hz
    sweep_hz = 1000.0 + 300.0 * np.sin(2 * np.pi * 2.0 * t)
    signals = {
        "tonal": 0.3 * sum(np.sin(k * phase) / k for k in range(1, 9)),
        "fm_sweep": 0.5 * np.sin(2 * np.pi * np.cumsum(sweep_hz) / sample_rate_hz),
        "fm_fast": 0.5 * np.sin(2 * np.pi * 440.0 * t + 3.0 * np.sin(2 * np.pi * 110.0 * t)),
        "noise": 0.1 * np.random.default_rng(1).standard_normal(len(t)),
        "plucks": 0.3 * np.exp(-12.0 * (t % 0.25)) * sum(np.sin(2 * np.pi * 330.0 * k * t) / k for k in range(1, 6)),
    }
    return {name: x * fade for name, x in signals.items()}


def quality(config: SpectralConfig = SpectralConfig()) -> dict[str, dict[str, float]]:
    """Spectral convergence (dB) of RTPGHI without and with one frame of look-ahead and of 1-iteration
    Griffin-Lim on each test signal."""
    out = {}
    for name, x in demo_signals(config.sample_rate_hz).items():
        logmag, _ = stft_logmag(x, config)
        out[name] = {f"rtpghi_la{la}_sc_db": spectral_convergence_db(
            RTPGHI(config, lookahead=la).reconstruct(logmag, len(x)), x, config) for la in (0, 1)}
        out[name]["gl1_sc_db"] = spectral_convergence_db(griffin_lim(logmag, 1, config, len(x)), x, config)
    return out


def per_hop_costs_s(config: SpectralConfig = SpectralConfig(), n_hops: int = 3000) -> np.ndarray:
    """Wall time of RTPGHI.push + OverlapAdd.push per hop, float64 [n_hops] seconds (after warm-up)."""
    x = demo_signals(config.sample_rate_hz, duration_s=n_hops * config.hop / config.sample_rate_hz + 0.1)["tonal"]
    logmag, _ = stft_logmag(x, config)
    rtpghi, ola = RTPGHI(config), OverlapAdd(config)  # the default look-ahead, as the voice plays
    for s in logmag[:50]:  # warm-up: numba compile / cache load, FFT plans
        spec = rtpghi.push(s)
        if spec is not None:
            ola.push(spec)
    costs = np.empty(n_hops)
    for i, s in enumerate(logmag[50 : 50 + n_hops]):
        t0 = time.perf_counter()
        ola.push(rtpghi.push(s))
        costs[i] = time.perf_counter() - t0
    return costs[: min(n_hops, len(logmag) - 50)]


def run(config: SpectralConfig = SpectralConfig()) -> dict:
    """Print a table and return {per_hop_p50_ms, per_hop_p99_ms, realtime_factor, numba, quality}."""
    costs = per_hop_costs_s(config)
    result = {"per_hop_p50_ms": 1e3 * float(np.percentile(costs, 50)),
              "per_hop_p99_ms": 1e3 * float(np.percentile(costs, 99)),
              "realtime_factor": config.hop_s / float(np.mean(costs)),
              "hop_budget_ms": 1e3 * config.hop_s, "numba": HAVE_NUMBA, "quality": quality(config)}
    print(f"RTPGHI + OLA per hop ({config.hop} samples @ {config.sample_rate_hz} Hz, budget "
          f"{result['hop_budget_ms']:.2f} ms, numba={HAVE_NUMBA}):")
    print(f"  p50 {result['per_hop_p50_ms']:.4f} ms   p99 {result['per_hop_p99_ms']:.4f} ms   "
          f"realtime x{result['realtime_factor']:.1f}")
    print(f"  {'signal':<10} {'RTPGHI no look-ahead':>21} {'RTPGHI 1 frame':>15} {'GL-1':>7}   (SC dB)")
    for name, q in result["quality"].items():
        print(f"  {name:<10} {q['rtpghi_la0_sc_db']:>21.2f} {q['rtpghi_la1_sc_db']:>15.2f} {q['gl1_sc_db']:>7.2f}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m instrument.audio.bench")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    figures = run()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
