"""Training images: any folder of pictures, or the built-in emoji corpus, as one uint8 array in memory.

    images = load_dataset("emoji" | "path/to/folder", resolution=128, cache_dir="runs/cache")  # [N, H, W, 3]

A folder is searched recursively for .png/.jpg/.jpeg/.webp (sorted by path, so the order is stable); each image
is converted to RGB (transparency composited on white), centre-cropped to a square and resized with Lanczos.
The result is cached as .npz keyed by the folder, its file list and mtimes, and the resolution.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from instrument.errors import InstrumentError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MIN_RESOLUTION, MAX_RESOLUTION = 8, 1024


class DatasetError(InstrumentError):
    """Training data that cannot be read or does not fit the requested resolution."""


def check_resolution(resolution: int) -> int:
    """The resolution if it is a power of two in [8, 1024], else a one-line DatasetError."""
    if not isinstance(resolution, int) or resolution < MIN_RESOLUTION or resolution > MAX_RESOLUTION \
            or resolution & (resolution - 1):
        raise DatasetError(f"resolution must be a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION} "
                           f"(8, 16, 32, 64, 128, 256, 512, 1024), got {resolution}")
    return resolution


def save_cache(path: Path, images: np.ndarray, info: dict) -> None:
    """Write [N, H, W, 3] uint8 + JSON info to `path` (.npz, no pickled objects), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, images=images, info=np.frombuffer(json.dumps(info).encode(), dtype=np.uint8))
    tmp.replace(path)


def load_cache(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as f:
        return f["images"]


def to_square_rgb(img: Image.Image, resolution: int) -> np.ndarray:
    """Centre-crop to a square, resize to resolution x resolution, RGB uint8 (alpha over white)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    img = img.convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return np.asarray(img.resize((resolution, resolution), Image.Resampling.LANCZOS))


def image_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise DatasetError(f"data folder '{folder}' does not exist; pass a folder of images or 'emoji'")
    if not folder.is_dir():
        raise DatasetError(f"data path '{folder}' is not a folder; pass a folder of images or 'emoji'")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DatasetError(f"data folder '{folder}' has no images ({', '.join(IMAGE_SUFFIXES)}, searched "
                           f"recursively)")
    return files


def _read(path: Path, resolution: int) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return to_square_rgb(img, resolution)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DatasetError(f"image '{path}' could not be read ({first}); remove it or replace it") from None


def load_folder(folder: str | Path, resolution: int, cache_dir: str | Path | None = None) -> np.ndarray:
    """All images under `folder` as [N, resolution, resolution, 3] uint8 (cached in `cache_dir` if given)."""
    check_resolution(resolution)
    folder = Path(folder)
    files = image_files(folder)
    key = hashlib.sha256(json.dumps([str(folder.resolve()), resolution] +
                                    [[str(p), p.stat().st_mtime_ns] for p in files]).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"folder-{folder.name}-{resolution}px-{key}.npz" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        return load_cache(cache)
    images = np.stack([_read(p, resolution) for p in files])
    if cache is not None:
        save_cache(cache, images, {"source": str(folder), "count": len(files)})
    return images


def load_dataset(data: str | Path, resolution: int, cache_dir: str | Path | None = None) -> np.ndarray:
    """'emoji' -> the Noto Color Emoji corpus; anything else -> a folder of images."""
    if str(data) == "emoji":
        from instrument.train.emoji import build_dataset  # imports this module: keep the import here
        return build_dataset(cache_dir, resolution)
    return load_folder(data, resolution, cache_dir)
