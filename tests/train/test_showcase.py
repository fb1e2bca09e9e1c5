"""`instrument showcase`: real PNG files from a real (tiny) generator."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from instrument.cli import main
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import save_generator
from instrument.train.showcase import interpolation_strips, tile

TINY = GeneratorConfig(z_dim=16, w_dim=16, img_resolution=16, channel_base=128, channel_max=16)


def test_tile_puts_images_left_to_right_then_top_to_bottom():
    images = np.arange(6)[:, None, None, None] * np.ones((6, 2, 3, 3), np.uint8)
    grid = tile(images, columns=3)
    assert grid.shape == (4, 9, 3)
    assert [grid[0, 3 * c, 0] for c in range(3)] == [0, 1, 2] and grid[2, 0, 0] == 3


def test_strips_start_and_end_on_consecutive_samples():
    G = make_generator(TINY, 3).eval()
    strips = interpolation_strips(G, strips=2, steps=4, seed=0, psi=1.0)   # [2*16, 4*16, 3]
    end_of_first, start_of_second = strips[:16, 48:], strips[16:, :16]
    assert np.abs(end_of_first.astype(int) - start_of_second.astype(int)).max() <= 1  # the chain is continuous
    assert not np.array_equal(strips[:16, :16], strips[:16, 48:])                     # and it moves


def test_cli_writes_both_pngs_and_refuses_a_missing_folder(tmp_path, capsys):
    save_generator(make_generator(TINY, 1), tmp_path / "g.safetensors")
    args = ["showcase", "--model", str(tmp_path / "g.safetensors"), "--grid", "3", "--strips", "2", "--steps", "5"]
    assert main([*args, "-o", str(tmp_path)]) == 0
    assert Image.open(tmp_path / "samples.png").size == (48, 48)
    assert Image.open(tmp_path / "interpolation.png").size == (80, 32)
    assert main([*args, "-o", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
