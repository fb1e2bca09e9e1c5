"""TimbreVAE: shapes, safetensors round trip, one-line errors on bad files, decode speed, the shipped model."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from instrument.audio.spectral import SpectralConfig
from instrument.audio.vae import TimbreVAE, VAEConfig, default_model_path, load_vae, save_vae, tilt
from instrument.errors import ModelError

BINS = SpectralConfig().bins


def small_vae(latent_dim: int = 8, seed: int = 0) -> TimbreVAE:
    torch.manual_seed(seed)
    vae = TimbreVAE(VAEConfig(BINS, (64, 32), latent_dim)).eval()
    rng = np.random.default_rng(seed)
    vae.set_stats({"bin_mean": rng.normal(-5, 1, BINS), "bin_std": rng.uniform(1, 2, BINS),
                   "latent_mean": rng.normal(0, 0.1, latent_dim), "latent_std": rng.uniform(0.5, 1, latent_dim)})
    return vae


def test_shapes():
    vae = small_vae()
    frames = np.random.default_rng(1).normal(-5, 2, (10, BINS)).astype(np.float32)
    z = vae.encode(frames)
    assert z.shape == (10, 8) and z.dtype == np.float32
    out = vae.decode(z)
    assert out.shape == (10, BINS) and out.dtype == np.float32 and np.isfinite(out).all()
    assert vae.decode(z[0]).shape == (1, BINS)  # a single latent is a batch of one


def test_bad_shape_names_the_expected_width():
    with pytest.raises(ValueError, match=r"expected \[n, 8\]"):
        small_vae().decode(np.zeros((3, 5)))


def test_save_load_round_trip_is_identical(tmp_path):
    vae = small_vae()
    path = tmp_path / "t.safetensors"
    save_vae(path, vae, SpectralConfig(), None, {"note": "test"})
    loaded = load_vae(path)
    z = np.random.default_rng(2).normal(size=(7, 8)).astype(np.float32)
    np.testing.assert_array_equal(loaded.decode(z), vae.decode(z))
    frames = vae.decode(z)
    np.testing.assert_array_equal(loaded.encode(frames), vae.encode(frames))
    assert loaded.metadata == {"note": "test"} and loaded.config == vae.config
    for key, value in vae.stats().items():
        np.testing.assert_array_equal(loaded.stats()[key], value)


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all", b"\xff" * 64])
def test_corrupt_file_gives_one_line_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError) as info:
        load_vae(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_vae(tmp_path / "nope.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "other.safetensors"), metadata={"format": "something"})
    with pytest.raises(ModelError, match="not a timbre model"):
        load_vae(tmp_path / "other.safetensors")


def test_tilt_pivots_at_1khz():
    spectral = SpectralConfig()
    flat = np.zeros((1, spectral.bins), np.float32)
    bright = tilt(flat, 1.0, spectral)
    pivot_bin = round(1000 * spectral.n_fft / spectral.sample_rate_hz)
    assert abs(bright[0, pivot_bin]) < 0.05 and bright[0, -1] > 2.0 and bright[0, 1] < 0
    assert tilt(flat, 0.0, spectral) is flat


def test_decode_speed_one_thread():
    """The default-size decoder decodes 8 frames in well under 1 ms per frame on one CPU thread."""
    vae = TimbreVAE().eval()
    z = np.zeros((8, vae.config.latent_dim), np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(5):
            vae.decode(z)
        best = min(_timed(vae.decode, z) for _ in range(20))
    finally:
        torch.set_num_threads(threads)
    assert best / 8 < 0.5e-3, f"decode took {best / 8 * 1e3:.3f} ms per frame"


def _timed(f, *args) -> float:
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def test_shipped_model_loads_and_decodes_finite_frames():
    path = default_model_path()
    if not path.is_file():
        pytest.skip(f"no shipped model at {path}: train it with 'instrument train timbre' (docs/timbre.md)")
    vae = load_vae(path)
    assert path.stat().st_size < 5_000_000
    stats = vae.stats()
    z = stats["latent_mean"] + stats["latent_std"] * np.random.default_rng(0).normal(size=(16, vae.config.latent_dim))
    out = vae.decode(z.astype(np.float32))
    assert out.shape == (16, vae.spectral.bins) and np.isfinite(out).all()
    assert "command" in vae.metadata and "seed" in vae.metadata
