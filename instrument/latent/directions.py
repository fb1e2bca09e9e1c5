"""Latent directions by PCA in w (GANSpace: Härkönen et al. 2020, "Discovering Interpretable GAN Controls").

Sample z ~ N(0, I), map to w without truncation, and take the principal components of w. Moving a frame's
w-latents along component k over a range of layers (coarse, middle, fine or all) gives a knob per direction:

    dirs = compute_directions(G)                          # components [k, w_dim], std [k], mean [w_dim]
    apply_directions(ws, dirs, amounts, lo, hi)           # ws[:, lo:hi] += Σ_k amounts[k]·σ_k·d_k

The covariance is accumulated exactly in float64 over batches (w_dim is a few hundred) and diagonalised with
`eigh`, so the result is deterministic for a seed and independent of the batch size up to rounding. Each
component's sign is fixed so that its largest-magnitude coordinate is positive.

Files: safetensors beside the model (`<model>.directions.safetensors`), with JSON metadata naming the model's
sha256, so a performance can check its directions belong to the generator it plays. `knob_directions` is what
the engine plays: that file when it belongs to the model, else a quick estimate computed at start.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from instrument.errors import ModelError
from instrument.latent.mixing import layer_groups
from instrument.models.weights import write_safetensors

FORMAT = "instrument.directions"
NUM_KNOBS = 8  # directions playable from knobs: direction.1 … direction.8
LAYER_RANGES = ("all", "coarse", "middle", "fine")  # the choices of param direction.layers, in its order
QUICK_SAMPLES = 4096  # start-up estimate without a file: 0.5-1.5 s on 2 busy CPU cores for the default model


@dataclass
class Directions:
    components: torch.Tensor   # [k, w_dim], orthonormal rows, by decreasing variance
    std: torch.Tensor          # [k], standard deviation of w along each component
    mean: torch.Tensor         # [w_dim], mean w
    total_variance: float      # trace of the covariance: std² / total_variance = explained variance ratio
    model_sha256: str = ""
    samples: int = 0
    seed: int = 0

    @property
    def explained_variance_ratio(self) -> torch.Tensor:  # [k]
        return self.std.double() ** 2 / self.total_variance


def layer_range(name: str, num_ws: int) -> tuple[int, int]:
    """[lo, hi) w-layers of 'all' | 'coarse' | 'middle' | 'fine', the same groups as the mix.* parameters
    (`instrument.latent.mixing.layer_groups`: coarse 0-3 (4²-8²), middle 4-7 (16²-32²), fine 8+)."""
    if name not in LAYER_RANGES:
        raise ValueError(f"unknown layer range {name!r}; choose one of {', '.join(LAYER_RANGES)}")
    if name == "all":
        return 0, num_ws
    group = layer_groups(num_ws)[name]
    return group.start, group.stop


@torch.no_grad()
def _w_moments(G: torch.nn.Module, n_samples: int, seed: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean [w_dim], covariance [w_dim, w_dim]) of untruncated w over n_samples z, float64."""
    gen = torch.Generator().manual_seed(seed)
    w_dim = G.w_dim
    total, outer, done = np.zeros(w_dim), np.zeros((w_dim, w_dim)), 0
    device = next(G.parameters()).device
    while done < n_samples:
        n = min(batch, n_samples - done)
        z = torch.randn([n, G.z_dim], generator=gen).to(device)
        w = G.mapping(z)[:, 0].double().cpu().numpy()  # [n, w_dim]; every layer holds the same w
        total += w.sum(axis=0)
        outer += w.T @ w
        done += n
    mean = total / n_samples
    cov = (outer - n_samples * np.outer(mean, mean)) / max(n_samples - 1, 1)
    return mean, cov


def compute_directions(G: torch.nn.Module, n_samples: int = 100_000, n_components: int = 16, seed: int = 0,
                       batch: int = 4096) -> Directions:
    """Principal components of w = G.mapping(z), z ~ N(0, I) drawn from `seed`, no truncation."""
    if not 1 <= n_components <= G.w_dim:
        raise ValueError(f"n_components must be in 1..{G.w_dim} (w_dim), got {n_components}")
    mean, cov = _w_moments(G, n_samples, seed, batch)
    eigval, eigvec = np.linalg.eigh(cov)                       # ascending
    order = np.argsort(eigval)[::-1][:n_components]
    comps = eigvec[:, order].T                                 # [k, w_dim]
    rows = np.arange(len(comps))
    comps *= np.sign(comps[rows, np.abs(comps).argmax(axis=1)])[:, None]  # largest coordinate positive
    std = np.sqrt(np.clip(eigval[order], 0, None))
    return Directions(torch.from_numpy(comps).float(), torch.from_numpy(std).float(),
                      torch.from_numpy(mean).float(), float(np.trace(cov)), samples=n_samples, seed=seed)


def apply_directions(ws: torch.Tensor, directions: Directions | torch.Tensor, amounts: torch.Tensor,
                     layer_lo: int | torch.Tensor, layer_hi: int | torch.Tensor,
                     out: torch.Tensor | None = None) -> torch.Tensor:
    """ws [batch, num_ws, w_dim] moved by Σ_k amounts[k]·σ_k·d_k on layers [layer_lo, layer_hi).

    amounts: [m] in standard deviations, m <= number of components (the first m are used). `directions` may be
    a Directions or a precomputed `scaled` tensor [k, w_dim] = σ_k·d_k (what FrameRenderer keeps on its device).
    Tensor layer bounds keep the op traceable; `out` (may be `ws` itself) avoids an allocation.
    """
    scaled = directions if isinstance(directions, torch.Tensor) else scaled_components(directions)
    offset = amounts.to(scaled.dtype) @ scaled[:amounts.shape[0]]            # [w_dim]
    layer = torch.arange(ws.shape[1], device=ws.device)[:, None]               # [num_ws, 1]
    on = (layer >= layer_lo) & (layer < layer_hi)                              # [num_ws, 1]
    delta = torch.where(on, offset, torch.zeros_like(offset))                  # [num_ws, w_dim]
    if out is None:
        return ws + delta
    return torch.add(ws, delta, out=out)


def scaled_components(directions: Directions, count: int = NUM_KNOBS, device=None) -> torch.Tensor:
    """σ_k·d_k for the first `count` directions: [count, w_dim] (zero rows when fewer exist)."""
    k = min(count, len(directions.std))
    scaled = torch.zeros(count, directions.components.shape[1])
    scaled[:k] = directions.components[:k] * directions.std[:k, None]
    return scaled.to(device) if device is not None else scaled


def directions_path(model_path: str | os.PathLike) -> Path:
    """Where a model's directions live: `<model>.directions.safetensors` beside it."""
    p = Path(model_path)
    return p.with_name(p.stem + ".directions.safetensors")


def save_directions(path: str | os.PathLike, d: Directions) -> None:
    meta = {"format": FORMAT, "model_sha256": d.model_sha256,
            "info": json.dumps({"samples": d.samples, "seed": d.seed, "total_variance": d.total_variance})}
    tensors = {"components": d.components.contiguous(), "std": d.std.contiguous(), "mean": d.mean.contiguous()}
    write_safetensors(tensors, path, meta)


def load_directions(path: str | os.PathLike, expect_sha256: str | None = None) -> Directions:
    """Read `save_directions`' file; with `expect_sha256`, refuse directions computed for another model."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ModelError(f"directions file '{path}' could not be read ({exc}); recompute it with "
                         f"'instrument directions --model MODEL'") from None
    if meta.get("format") != FORMAT or not {"components", "std", "mean"} <= set(t):
        raise ModelError(f"'{path}' is not a directions file (format {meta.get('format')!r}, expected {FORMAT!r})")
    sha = meta.get("model_sha256", "")
    if expect_sha256 is not None and sha != expect_sha256:
        raise ModelError(f"directions '{path}' were computed for model {sha[:12] or '?'}, not {expect_sha256[:12]}; "
                         f"recompute them with 'instrument directions --model MODEL'")
    info = json.loads(meta.get("info", "{}"))
    return Directions(t["components"], t["std"], t["mean"], float(info.get("total_variance", 1.0)), sha,
                      int(info.get("samples", 0)), int(info.get("seed", 0)))


@dataclass
class KnobDirections:
    """What the direction.1..8 knobs play: σ_k·d_k rows, and one line saying where they came from."""
    scaled: torch.Tensor   # [NUM_KNOBS, w_dim] float32 on the CPU; zero rows do nothing
    source: str            # e.g. "default.directions.safetensors (100000 samples)", "quick estimate ...", "none"


def knob_directions(model_path: str | None, model, log=print) -> KnobDirections:
    """The knobs' directions for a loaded model (loader.LoadedModel) played from `model_path` (None: the bundled
    default): its `<model>.directions.safetensors` when that was computed for this model, else a quick
    QUICK_SAMPLES estimate, else zeros. Says in one `log` line what it chose when there is no good file."""
    path = _model_file(model_path)
    command = f"'instrument directions --model {model_path or 'default'}'"
    if path is not None and directions_path(path).is_file():
        try:
            d = load_directions(directions_path(path), expect_sha256=model.sha256)
            return KnobDirections(scaled_components(d), f"{directions_path(path).name} ({d.samples} samples)")
        except ModelError as e:
            log(f"directions: {e}")
    try:
        d = compute_directions(model.generator, QUICK_SAMPLES, NUM_KNOBS, seed=0)
    except Exception as e:  # e.g. a conditional mapping network: the knobs go quiet, the show goes on
        log(f"directions: none ({type(e).__name__}: {e}); the direction.* knobs do nothing".splitlines()[0])
        return KnobDirections(torch.zeros(NUM_KNOBS, model.generator.w_dim), "none")
    where = f"no {directions_path(path).name} beside the model" if path is not None else "untrained model"
    log(f"directions: {where}; the direction.* knobs play a quick {QUICK_SAMPLES}-sample estimate "
        f"({command} computes the full set)")
    return KnobDirections(scaled_components(d), f"quick estimate ({QUICK_SAMPLES} samples, seed 0)")


def _model_file(model_path: str | None) -> Path | None:
    """The generator file played: the path given, else the bundled weights (None: the untrained generator)."""
    from instrument.models.loader import bundled_weights
    return Path(model_path) if model_path else bundled_weights()


def _default_out(model: str) -> Path:
    """Beside the model file; for 'default', beside the bundled weights, or here for the untrained generator."""
    from instrument.models.loader import bundled_weights
    if model != "default":
        return directions_path(model)
    bundled = bundled_weights()
    return directions_path(bundled) if bundled is not None else Path("untrained.directions.safetensors")


def main_directions(argv: list[str] | None = None) -> int:
    """instrument directions --model PATH|default [--samples N] [--seed N] [--components K] [-o PATH]"""
    from instrument.models.loader import load_model
    ap = argparse.ArgumentParser(prog="instrument directions", description="PCA directions in w (GANSpace)")
    ap.add_argument("--model", required=True, help="generator file, or 'default' for the bundled one")
    ap.add_argument("--samples", type=int, default=100_000, help="z samples (100000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--components", type=int, default=16)
    ap.add_argument("-o", "--out", help="output (default: <model>.directions.safetensors beside the model)")
    args = ap.parse_args(argv)
    model = load_model(None if args.model == "default" else args.model, torch.device("cpu"))
    d = compute_directions(model.generator, args.samples, args.components, args.seed)
    d.model_sha256 = model.sha256
    out = args.out or _default_out(args.model)
    save_directions(out, d)
    ratios = ", ".join(f"{r:.3f}" for r in d.explained_variance_ratio[:NUM_KNOBS].tolist())
    print(f"{len(d.std)} directions of {model.name} from {args.samples} samples -> {out}\n"
          f"explained variance of the first {NUM_KNOBS}: {ratios}")
    return 0
