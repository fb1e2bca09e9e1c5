"""TimbreVAE: the latent-timbre model, a dense VAE over single log-magnitude frames.

After Latent Timbre Synthesis (Tatar et al. 2021): each STFT frame is encoded on its own by a dense encoder to a
diagonal Gaussian posterior q(z|x) = N(mu, exp(logvar)), and a dense decoder maps z back to the frame; the loss is
MSE + beta * KL(q || N(0, I)) with a small beta (5e-4), so the latent space stays smooth enough to walk through.

Frames are log(|X| + 1e-7) [n, 513] (spectral.py), clamped up to a floor of log(1e-3) and normalised per bin by the corpus mean/std, which are stored
with the model so `encode`/`decode` speak log-magnitudes. The default latent is 16-d: 8 (the paper's choice for
one instrument's timbre) loses too much across 128 GM programs plus drums and noise, and the visual coupling is a
random projection that does not care about the size.

File format (`save_vae` / `load_vae`): one safetensors file, never a pickle.
    tensors   the module's state_dict ("encoder.*", "to_mu.*", "to_logvar.*", "decoder.*"),
              "stats.bin_mean", "stats.bin_std" [bins], "stats.latent_mean", "stats.latent_std" [latent_dim]
    metadata  "format": "instrument.audio.timbre_vae", "config": json of VAEConfig, "spectral": json of
              SpectralConfig, "metadata": json of anything else (training command, corpus, losses, quality)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from instrument.audio.decoder import default_model_path  # noqa: F401  (re-exported: callers import it from here)
from instrument.audio.spectral import SpectralConfig, tilt  # noqa: F401  (tilt: likewise)
from instrument.errors import ModelError

FORMAT = "instrument.audio.timbre_vae"
STAT_KEYS = ("bin_mean", "bin_std", "latent_mean", "latent_std")


@dataclass(frozen=True)
class VAEConfig:
    bins: int = 513
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    latent_dim: int = 16
    floor_log: float = -6.9  # log-magnitudes are clamped up to this (|X| = 1e-3, ~108 dB under a full-scale sine)


def _mlp(widths: list[int]) -> nn.Sequential:
    """Linear layers with LeakyReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


class TimbreVAE(nn.Module):
    """Dense VAE on normalised log-magnitude frames; encode/decode take and give log-magnitudes."""

    def __init__(self, config: VAEConfig = VAEConfig(), spectral: SpectralConfig = SpectralConfig()) -> None:
        super().__init__()
        if config.bins != spectral.bins:
            raise ValueError(f"VAEConfig.bins={config.bins} does not match SpectralConfig bins={spectral.bins}")
        self.config, self.spectral = config, spectral
        widths = [config.bins, *config.hidden]
        self.encoder = nn.Sequential(_mlp(widths), nn.LeakyReLU(0.2))
        self.to_mu = nn.Linear(widths[-1], config.latent_dim)
        self.to_logvar = nn.Linear(widths[-1], config.latent_dim)
        self.decoder = _mlp([config.latent_dim, *reversed(widths)])
        self.register_buffer("bin_mean", torch.zeros(config.bins))
        self.register_buffer("bin_std", torch.ones(config.bins))
        self.register_buffer("latent_mean", torch.zeros(config.latent_dim))
        self.register_buffer("latent_std", torch.ones(config.latent_dim))

    # Training path (normalised frames)
    def posterior(self, x_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) [n, latent_dim] of normalised frames [n, bins]."""
        h = self.encoder(x_norm)
        return self.to_mu(h), self.to_logvar(h).clamp(-30.0, 20.0)

    def forward(self, x_norm: torch.Tensor, generator: torch.Generator | None = None):
        """(reconstruction [n, bins], mu, logvar) with one reparameterised sample z = mu + sigma * eps."""
        mu, logvar = self.posterior(x_norm)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return self.decoder(mu + torch.exp(0.5 * logvar) * eps), mu, logvar

    def normalise(self, logmag: torch.Tensor) -> torch.Tensor:
        """Clamp to the floor (the noise under it is inaudible and would eat capacity), then standardise per bin."""
        return (torch.clamp(logmag, min=self.config.floor_log) - self.bin_mean) / self.bin_std

    # Playing path (log-magnitudes in and out, no gradients)
    @torch.inference_mode()
    def encode(self, frames) -> np.ndarray:
        """Posterior means float32 [n, latent_dim] of log-magnitude frames [n, bins]."""
        x = self._tensor(frames, self.config.bins, "frames")
        return self.posterior(self.normalise(x))[0].cpu().numpy()

    @torch.inference_mode()
    def decode(self, z) -> np.ndarray:
        """Log-magnitude frames float32 [n, bins] of latents [n, latent_dim] (denormalised)."""
        x = self.decoder(self._tensor(z, self.config.latent_dim, "z"))
        return (x * self.bin_std + self.bin_mean).cpu().numpy()

    def _tensor(self, a, width: int, name: str) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(a, dtype=np.float32), device=self.bin_mean.device)
        if t.ndim == 1:
            t = t[None]
        if t.ndim != 2 or t.shape[1] != width:
            raise ValueError(f"{name} has shape {tuple(t.shape)}; expected [n, {width}]")
        return t

    def set_stats(self, stats: dict[str, np.ndarray]) -> None:
        """Copy any of STAT_KEYS from `stats` (arrays) into the model's buffers."""
        for key in STAT_KEYS:
            if key in stats:
                getattr(self, key).copy_(torch.as_tensor(np.asarray(stats[key], dtype=np.float32)))

    def stats(self) -> dict[str, np.ndarray]:
        return {key: getattr(self, key).detach().cpu().numpy().copy() for key in STAT_KEYS}


# Files
def save_vae(path: str | Path, model: TimbreVAE, spectral_config: SpectralConfig | None = None,
             stats: dict[str, np.ndarray] | None = None, metadata: dict | None = None) -> None:
    """Write the model, its normalisation/posterior stats and JSON metadata to one safetensors file."""
    from safetensors.torch import save_file

    if stats:
        model.set_stats(stats)
    spectral_config = spectral_config or model.spectral
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    tensors = {(f"stats.{k}" if k in STAT_KEYS else k): v for k, v in tensors.items()}
    meta = {"format": FORMAT, "config": json.dumps(dataclasses.asdict(model.config)),
            "spectral": json.dumps(dataclasses.asdict(spectral_config)), "metadata": json.dumps(metadata or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load_vae(path: str | Path, device: str | torch.device = "cpu") -> TimbreVAE:
    """A TimbreVAE from a `save_vae` file, in eval mode; `.metadata` holds the file's metadata dict."""
    from instrument.models.weights import read_safetensors  # lazy: keeps the audio path free of model code

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"timbre model '{path}' does not exist; train one with 'instrument train timbre'")
    meta, tensors = read_safetensors(path, "timbre model")
    if meta.get("format") != FORMAT:
        raise ModelError(f"'{path}' has format {meta.get('format')!r}, expected {FORMAT!r}: not a timbre model")
    return _build(path, meta, tensors).to(device).eval()


def _build(path: Path, meta: dict, tensors: dict[str, torch.Tensor]) -> TimbreVAE:
    try:
        cfg = json.loads(meta["config"])
        config = VAEConfig(bins=int(cfg["bins"]), hidden=tuple(int(h) for h in cfg["hidden"]),
                           latent_dim=int(cfg["latent_dim"]), floor_log=float(cfg.get("floor_log", -16.2)))
        model = TimbreVAE(config, SpectralConfig(**json.loads(meta["spectral"])))
        state = {(k[len("stats."):] if k.startswith("stats.") else k): v for k, v in tensors.items()}
        model.load_state_dict(state, strict=True)
        model.metadata = json.loads(meta.get("metadata", "{}"))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelError(f"timbre model '{path}' does not describe a TimbreVAE ({first})") from None
    return model
