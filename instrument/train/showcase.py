"""`instrument showcase`: the pictures that show what a generator does — a sample grid and interpolation strips.

    instrument showcase --model default -o docs/images --psi 0.7

writes `<prefix>samples.png` (a `--grid` × `--grid` grid of seeded samples) and `<prefix>interpolation.png`
(`--strips` rows, each a slerp in z from one seeded sample to the next in `--steps` frames), at the generator's
resolution, with the truncation ψ given and constant noise, exactly as `instrument play` draws them at rest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from instrument.errors import InstrumentError
from instrument.models.loader import load_model, pick_device
from instrument.train.quality import slerp


def uint8_images(images: torch.Tensor) -> np.ndarray:
    """[n, 3, H, W] in [-1, 1] -> [n, H, W, 3] uint8, quantised as the renderer does."""
    return (images.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """[n, H, W, 3] -> one [rows*H, columns*W, 3] image (n a multiple of columns)."""
    n, h, w, c = images.shape
    rows = n // columns
    return images[: rows * columns].reshape(rows, columns, h, w, c).transpose(0, 2, 1, 3, 4).reshape(
        rows * h, columns * w, c)


@torch.no_grad()
def sample_grid(G, side: int, seed: int, psi: float) -> np.ndarray:
    z = torch.randn(side * side, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return tile(uint8_images(G(z, truncation_psi=psi, noise_mode="const")), side)


@torch.no_grad()
def interpolation_strips(G, strips: int, steps: int, seed: int, psi: float) -> np.ndarray:
    """Row r goes from sample r to sample r + 1 (seeded chain) along the great circle in z."""
    ends = torch.randn(strips + 1, G.z_dim, generator=torch.Generator().manual_seed(seed + 1))
    t = torch.linspace(0, 1, steps)
    z = torch.cat([slerp(ends[r].expand(steps, -1), ends[r + 1].expand(steps, -1), t) for r in range(strips)])
    return tile(uint8_images(G(z, truncation_psi=psi, noise_mode="const")), steps)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="instrument showcase", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default", help="generator file, or 'default' (bundled or untrained)")
    p.add_argument("-o", "--out", default=".", help="folder for the PNGs (must exist)")
    p.add_argument("--prefix", default="", help="file name prefix, e.g. 'emoji128-'")
    p.add_argument("--grid", type=int, default=8, help="samples per side of the grid")
    p.add_argument("--strips", type=int, default=4, help="interpolation rows")
    p.add_argument("--steps", type=int, default=10, help="frames per interpolation row")
    p.add_argument("--psi", type=float, default=0.7, help="truncation ψ (1 = none)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main_showcase(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Path(args.out)
    if not out.is_dir():
        raise InstrumentError(f"output folder '{out}' does not exist; create it first")
    for name in ("grid", "strips", "steps"):
        if not 1 <= getattr(args, name) <= 64:
            raise InstrumentError(f"--{name} must be 1..64, got {getattr(args, name)}")
    loaded = load_model(None if args.model == "default" else args.model, pick_device("cpu"))
    G = loaded.generator.eval()
    paths = (out / f"{args.prefix}samples.png", out / f"{args.prefix}interpolation.png")
    Image.fromarray(sample_grid(G, args.grid, args.seed, args.psi)).save(paths[0])
    Image.fromarray(interpolation_strips(G, args.strips, args.steps, args.seed, args.psi)).save(paths[1])
    print(f"wrote {paths[0]} and {paths[1]} ({loaded.name}, ψ {args.psi:g}, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main_showcase())
