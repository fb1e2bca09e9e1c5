"""Growing a run: a small run's networks start a larger one, and the grown generator draws the small one's image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.models.ops import upsample2d
from instrument.models.weights import load_generator
from instrument.train import checkpoint as ckpt
from instrument.train.grow import grow_into
from instrument.train.image import ImageTrainer, TrainOptions, main, train

TINY = dict(batch=4, channel_base=128, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2, grid=2,
            r1_interval=2, log_every=1, snapshot_kimg=1.0)
STEP = 0.004  # kimg of one step at batch 4


def _images(resolution: int, seed: int = 0) -> np.ndarray:
    """8 coloured squares on white, [8, res, res, 3] uint8."""
    rng, q = np.random.default_rng(seed), resolution // 4
    x = np.full((8, resolution, resolution, 3), 255, np.uint8)
    for i in range(8):
        x[i, q:3 * q, q:3 * q] = rng.integers(0, 255, 3)
    return x


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    train(_images(8), 8, 3 * STEP, out, seed=1, **TINY)
    return out


def _grown(small_run, resolution: int = 32) -> ImageTrainer:
    trainer = ImageTrainer(TrainOptions(data="array", resolution=resolution, seed=2, **TINY), _images(resolution))
    grow_into(trainer, small_run)
    return trainer


def test_grown_generator_draws_the_small_image_upsampled(small_run):
    small, _ = load_generator(small_run / "generator.safetensors")  # the small run's G_ema
    G = _grown(small_run).G_ema
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = small.synthesis(small.mapping(z), noise_mode="const")  # [3, 3, 8, 8]
        b = G.synthesis(G.mapping(z), noise_mode="const")  # [3, 3, 32, 32]
    fir = G.synthesis.b16.fir_img_up
    expected = upsample2d(upsample2d(a, fir), fir)
    assert b.shape == (3, 3, 32, 32) and a.std() > 0
    assert torch.allclose(b, expected, atol=1e-5), float((b - expected).abs().max())


def test_grown_discriminator_keeps_the_small_blocks_and_starts_the_new_ones(small_run):
    trainer = _grown(small_run)
    theirs, ours = ckpt.with_prefix(ckpt.read_checkpoint(small_run)[1], "D"), trainer.D.state_dict()
    for name in ("b4.fc.weight", "b4.conv.weight", "b8.conv0.weight", "b8.conv1.weight", "b8.skip.weight"):
        assert torch.equal(ours[name], theirs[name]), name
    assert "b8.fromrgb.weight" not in ours and "b32.fromrgb.weight" in ours
    fresh = trainer.__class__(trainer.opts, trainer.images).D.state_dict()  # same seed, nothing grown
    assert torch.equal(ours["b32.conv0.weight"], fresh["b32.conv0.weight"])
    assert not torch.equal(ours["b8.conv0.weight"], fresh["b8.conv0.weight"])


def test_grown_run_trains_resumes_and_records_its_source(small_run, tmp_path):
    train(_images(16), 16, 2 * STEP, tmp_path, seed=2, grow_from=str(small_run), **TINY)
    train(_images(16), 16, 3 * STEP, tmp_path, seed=2, resume=tmp_path, **TINY)  # no --grow-from on resume
    state, tensors = ckpt.read_checkpoint(tmp_path)
    assert state["step"] == 3 and all(torch.isfinite(t.float()).all() for t in tensors.values())
    G, meta = load_generator(tmp_path / "generator.safetensors")
    assert meta["training"]["grow_from"] == str(small_run) and G.synthesis.img_resolution == 16
    assert meta["training"]["grown_at_kimg"] == 3 * STEP  # kept across --resume


def test_kimg_0_exports_the_grown_generator_without_a_step(small_run, tmp_path):
    train(_images(32), 32, 0, tmp_path, seed=2, grow_from=str(small_run), **TINY)
    assert ckpt.read_checkpoint(tmp_path)[0]["step"] == 0 and (tmp_path / "samples-000000kimg.png").is_file()
    G, meta = load_generator(tmp_path / "generator.safetensors")
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        grown = G.synthesis(G.mapping(z), noise_mode="const")
        expected = _grown(small_run).G_ema.synthesis(G.mapping(z), noise_mode="const")
    assert meta["training"]["kimg"] == 0 and torch.allclose(grown, expected, atol=1e-6)
    assert meta["name"] == f"array 32px, kimg 0 (grown from {small_run.name} at kimg 0)"  # 0.012 kimg


@pytest.mark.parametrize("args, message", [
    (["--resolution", "8"], "not below --resolution 8"),
    (["--resolution", "16", "--channel-base", "256"], "channel_base: 128 there, 256 here"),
    (["--resolution", "16", "--resume", "{small}"], "pass one of them"),
    (["--resolution", "16", "--grow-from", "{small}/generator.safetensors"], "pass a training run's folder"),
    (["--resolution", "16", "--grow-from", "{small}/nothing"], "does not exist"),
])
def test_bad_growth_is_a_one_line_error(small_run, tmp_path, tmp_path_factory, capsys, args, message):
    folder = tmp_path_factory.mktemp("pngs")
    from PIL import Image
    for i, img in enumerate(_images(16)):
        Image.fromarray(img).save(folder / f"{i}.png")
    tiny = ["--batch", "4", "--channel-max", "16", "--kimg", "0.004", "--out", str(tmp_path / "o")]
    if "--channel-base" not in args:
        tiny += ["--channel-base", "128"]
    argv = ["--data", str(folder), "--grow-from", str(small_run), *tiny, *[a.format(small=small_run) for a in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("instrument: error:"), err
