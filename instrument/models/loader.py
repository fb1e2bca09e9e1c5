"""Which generator to play, on which device.

`load_model(None)` gives the bundled default: trained weights shipped in `instrument/models/weights/` when
present, else a randomly initialised generator with a fixed seed (the window says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from instrument.errors import ModelError
from instrument.models.stylegan2 import DEFAULT_CONFIG, Generator, GeneratorConfig, make_generator
from instrument.models.convert import load_any, sha256

RANDOM_SEED = 0  # the untrained default's weights


@dataclass
class LoadedModel:
    generator: Generator
    name: str            # shown on the HUD and written into z-logs
    sha256: str          # of the file, or "random:<seed>" for an untrained generator
    config: GeneratorConfig
    trained: bool


def pick_device(name: str = "auto", kinds: tuple[str, ...] = ("cpu", "cuda", "mps")) -> torch.device:
    """'auto': CUDA when present, else MPS when present (and allowed), else CPU; or the device asked for
    ('cpu', 'cuda', 'cuda:N', 'mps'), if it is one of `kinds` and exists here."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available() and "mps" in kinds
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in kinds:
        raise ModelError(f"unknown --device '{name}'; choose auto, {', '.join(k + (', cuda:N' if k == 'cuda' else '') for k in kinds)}")
    if (device.type == "cuda" and not cuda) or (device.type == "mps" and not mps):
        raise ModelError(f"--device '{name}' is not available on this machine; use --device cpu or auto")
    return device


def bundled_weights() -> Path | None:
    path = resources.files("instrument.models") / "weights" / "default.safetensors"
    return Path(str(path)) if path.is_file() else None


def load_model(path: str | None, device: torch.device) -> LoadedModel:
    if path is None:
        path = bundled_weights()
        if path is None:
            return _random_model(device)
    return _file_model(Path(path), device)


def _random_model(device: torch.device) -> LoadedModel:
    G = make_generator(DEFAULT_CONFIG, seed=RANDOM_SEED).to(device)
    return LoadedModel(G, f"untrained (random weights, seed {RANDOM_SEED})", f"random:{RANDOM_SEED}",
                       DEFAULT_CONFIG, trained=False)


def _file_model(path: Path, device: torch.device) -> LoadedModel:
    """Our .safetensors, an NVIDIA network pickle (.pkl) or a rosinality checkpoint (.pt/.pth), read as data:
    nothing in a model file is ever executed."""
    if not path.exists():
        raise ModelError(f"model file '{path}' does not exist; check the path, or leave out --model for the default")
    G, meta = load_any(path, device)
    return LoadedModel(G, meta.get("name", path.stem), sha256(path), G.config, trained=True)
