"""Offline timbre rendering: a latent sequence -> WAV, and a WAV -> latents (the "sound keyframe" encode path).

render: VAE decode [n, bins] -> optional spectral tilt -> RTPGHI (seeded, the same `push` loop the live synth
runs) -> overlap-add -> n * hop samples -> WAV. Same latents, same seed: identical bytes. 16-bit PCM goes through
the stdlib `wave` module; 32-bit float WAV (format tag 3, which `wave` cannot write) is a plain RIFF header.

Quality figures (docs/timbre.md) use spectral convergence, 20 log10(|| |Y| - |X| ||_F / || |X| ||_F) in dB:
`magnitude_sc_db` on decoded magnitudes, `resynthesis_sc_db` on the STFT of the RTPGHI-resynthesised audio.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from instrument.audio.corpus import read_wav
from instrument.audio.rtpghi import RTPGHI
from instrument.audio.spectral import LOG_EPS, SpectralConfig, stft, stft_logmag, tilt
from instrument.audio.vae import TimbreVAE
from instrument.errors import InstrumentError

SAMPLE_FORMATS = ("int16", "float32")


def synthesise(vae: TimbreVAE, latents: np.ndarray, seed: int = 0, brightness: float = 0.0) -> np.ndarray:
    """Mono float32 [n * hop] audio of latents [n, latent_dim]: decode -> tilt -> RTPGHI -> overlap-add."""
    latents = np.asarray(latents, dtype=np.float32)
    if latents.ndim != 2 or latents.shape[1] != vae.config.latent_dim or len(latents) == 0:
        raise ValueError(f"latents have shape {latents.shape}; expected [n >= 1, {vae.config.latent_dim}]")
    logmag = tilt(vae.decode(latents), brightness, vae.spectral)  # [n, bins]
    return resynthesise(logmag, vae.spectral, seed)


def resynthesise(logmag: np.ndarray, spectral: SpectralConfig = SpectralConfig(), seed: int = 0) -> np.ndarray:
    """Log-magnitude frames [n, bins] -> float32 [n * hop] via a freshly seeded RTPGHI."""
    return RTPGHI(spectral, seed=seed).reconstruct(np.asarray(logmag, np.float64), n_samples=len(logmag) * spectral.hop)


def render_wav(vae: TimbreVAE, latents: np.ndarray, path: str | Path, sample_format: str = "int16",
               seed: int = 0, brightness: float = 0.0, gain: float = 1.0) -> np.ndarray:
    """Render latents [n, latent_dim] to a mono WAV of n * hop samples; returns the float32 samples written."""
    audio = synthesise(vae, latents, seed, brightness) * np.float32(gain)
    write_wav(path, audio, vae.spectral.sample_rate_hz, sample_format)
    return audio


def encode_wav(vae: TimbreVAE, path: str | Path) -> np.ndarray:
    """Posterior-mean latents float32 [frames, latent_dim] of a mono/stereo WAV at the model's sample rate."""
    logmag, _ = stft_logmag(read_wav(path, vae.spectral.sample_rate_hz), vae.spectral)
    return vae.encode(logmag)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate_hz: int, sample_format: str = "int16") -> None:
    """Mono WAV: int16 PCM (clipped to [-1, 1]) through `wave`, or IEEE float32."""
    path = Path(path)
    audio = np.asarray(audio, dtype=np.float32)
    if sample_format == "int16":
        pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate_hz)
            w.writeframes(pcm.tobytes())
    elif sample_format == "float32":
        data = audio.astype("<f4").tobytes()
        fmt = struct.pack("<HHIIHH", 3, 1, sample_rate_hz, 4 * sample_rate_hz, 4, 32)  # IEEE float, mono
        path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                         + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
    else:
        raise InstrumentError(f"sample_format {sample_format!r} is not supported; choose one of {SAMPLE_FORMATS}")


# Quality
def magnitude_sc_db(estimate_logmag: np.ndarray, reference_logmag: np.ndarray) -> float:
    """Spectral convergence (dB) between two log-magnitude arrays [frames, bins], compared as magnitudes."""
    est = np.maximum(np.exp(np.asarray(estimate_logmag, np.float64)) - LOG_EPS, 0.0)
    ref = np.maximum(np.exp(np.asarray(reference_logmag, np.float64)) - LOG_EPS, 0.0)
    return float(20.0 * np.log10(np.linalg.norm(est - ref) / max(np.linalg.norm(ref), 1e-30)))


def resynthesis_sc_db(logmag: np.ndarray, reference_logmag: np.ndarray, spectral: SpectralConfig = SpectralConfig(),
                      seed: int = 0) -> float:
    """Spectral convergence (dB) of the STFT of RTPGHI(logmag) audio against reference log-magnitudes."""
    audio = resynthesise(logmag, spectral, seed)
    est = np.abs(stft(audio, spectral))[: len(reference_logmag)]
    n = min(len(est), len(reference_logmag))
    return magnitude_sc_db(np.log(est[:n] + LOG_EPS), np.asarray(reference_logmag)[:n])


def reconstruction_report(vae: TimbreVAE, corpus: dict[str, np.ndarray], note_ids, seed: int = 0) -> dict:
    """Spectral convergence (dB) over the given notes: VAE magnitudes, VAE + RTPGHI audio, RTPGHI alone.

    "pooled" compares all frames at once (loud notes weigh more); "median" is over notes. Notes that never rise
    above the model's floor (a GM program silent at that pitch) are skipped: their SC is undefined."""
    rows, pooled = [], {"ref": [], "dec": [], "vae_audio": [], "rtpghi_audio": []}
    for k in note_ids:
        ref = corpus["logmag"][corpus["note_id"] == k].astype(np.float32)  # [frames, bins]
        if ref.max() < vae.config.floor_log + 3.0:
            continue
        dec = vae.decode(vae.encode(ref))
        parts = {"ref": ref, "dec": dec, "vae_audio": _resynth_logmag(dec, len(ref), vae.spectral, seed),
                 "rtpghi_audio": _resynth_logmag(ref, len(ref), vae.spectral, seed)}
        for key, value in parts.items():
            pooled[key].append(value)
        rows.append([magnitude_sc_db(parts[key], ref) for key in ("dec", "vae_audio", "rtpghi_audio")])
    ref = np.concatenate(pooled["ref"])
    names = ("vae_magnitude_sc_db", "vae_rtpghi_sc_db", "rtpghi_only_sc_db")
    out = {"notes": len(rows)}
    for name, key in zip(names, ("dec", "vae_audio", "rtpghi_audio")):
        out[f"pooled_{name}"] = round(magnitude_sc_db(np.concatenate(pooled[key]), ref), 2)
        out[f"median_{name}"] = round(float(np.median(np.array(rows)[:, names.index(name)])), 2)
    return out


def _resynth_logmag(logmag: np.ndarray, n_frames: int, spectral: SpectralConfig, seed: int) -> np.ndarray:
    """Log-magnitudes [n_frames, bins] of the STFT of RTPGHI(logmag) audio."""
    est = np.abs(stft(resynthesise(logmag, spectral, seed), spectral))[:n_frames]
    est = np.concatenate([est, np.zeros((n_frames - len(est), est.shape[1]))]) if len(est) < n_frames else est
    return np.log(est + LOG_EPS)
