"""The timbre VAE's decoder in plain numpy, for the audio process: no torch import (a faster start, ~300 MB less).

Reads the same safetensors file as `vae.load_vae` (format "instrument.audio.timbre_vae") through safetensors' numpy
API and runs the decoder's few dense layers: Linear, LeakyReLU(0.2), ..., Linear, then denormalises per bin.
`decode` matches `TimbreVAE.decode` within float32 rounding (tests/audio/test_voice_process.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from instrument.audio.spectral import SpectralConfig
from instrument.errors import ModelError

FORMAT = "instrument.audio.timbre_vae"  # the same string as vae.FORMAT (vae.py imports torch, so it is not imported)
NEGATIVE_SLOPE = np.float32(0.2)
_LINEAR = re.compile(r"^decoder\.(\d+)\.weight$")


class NumpyDecoder:
    """z [n, latent_dim] -> log-magnitude frames [n, bins], float32."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], stats: dict[str, np.ndarray],
                 spectral: SpectralConfig) -> None:
        self.layers = layers  # [(weight^T [in, out], bias [out])], float32
        self._stats = stats
        self.spectral = spectral
        self.latent_dim = layers[0][0].shape[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Log-magnitude frames float32 [n, bins] of latents [n, latent_dim]."""
        x = np.asarray(z, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.latent_dim:
            raise ValueError(f"z has shape {x.shape}; expected [n, {self.latent_dim}]")
        last = len(self.layers) - 1
        for i, (weight_t, bias) in enumerate(self.layers):
            x = x @ weight_t + bias
            if i < last:
                x = np.maximum(x, NEGATIVE_SLOPE * x)  # LeakyReLU(0.2)
        return x * self._stats["bin_std"] + self._stats["bin_mean"]

    def stats(self) -> dict[str, np.ndarray]:
        """bin_mean, bin_std [bins] and latent_mean, latent_std [latent_dim], as `TimbreVAE.stats()`."""
        return {k: v.copy() for k, v in self._stats.items()}


def default_model_path() -> Path:
    """The shipped model, instrument/audio/weights/timbre.safetensors."""
    return Path(__file__).parent / "weights" / "timbre.safetensors"


def load_decoder(path: str | Path) -> NumpyDecoder:
    """The decoder half of a `save_vae` file; ModelError (one line) when the file is missing or not a timbre model."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"timbre model '{path}' does not exist; train one with 'instrument train timbre'")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys() if k.startswith(("decoder.", "stats."))}
    except (SafetensorError, OSError) as e:
        raise ModelError(f"timbre model '{path}' cannot be read ({e}); is it a safetensors file?") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"'{path}' has format {meta.get('format')!r}, expected {FORMAT!r}: not a timbre model")
    return _build(path, meta, tensors)


def _build(path: Path, meta: dict, tensors: dict[str, np.ndarray]) -> NumpyDecoder:
    try:
        index = sorted(int(m.group(1)) for k in tensors if (m := _LINEAR.match(k)))
        layers = [(np.ascontiguousarray(tensors[f"decoder.{i}.weight"].T, np.float32),
                   tensors[f"decoder.{i}.bias"].astype(np.float32)) for i in index]
        stats = {k: tensors[f"stats.{k}"].astype(np.float32) for k in ("bin_mean", "bin_std", "latent_mean",
                                                                       "latent_std")}
        spectral = SpectralConfig(**json.loads(meta["spectral"]))
        if not layers or layers[-1][0].shape[1] != spectral.bins:
            raise ValueError(f"decoder ends in {layers[-1][0].shape[1] if layers else 0} bins, "
                             f"spectral settings say {spectral.bins}")
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"timbre model '{path}' does not describe a TimbreVAE decoder ({e})") from None
    return NumpyDecoder(layers, stats, spectral)
