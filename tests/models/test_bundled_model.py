"""The bundled default model: it loads by default, draws finite images of its declared size, and seeds differ.

Skipped while no trained weights are bundled (then `load_model(None)` gives the untrained generator, tested with
the engine). Runs on the real file in `instrument/models/weights/` once it is committed.
"""

from __future__ import annotations

import pytest
import torch

from instrument.models.convert import load_any
from instrument.models.loader import bundled_weights, load_model

BUNDLED = bundled_weights()
pytestmark = pytest.mark.skipif(BUNDLED is None, reason="no bundled weights yet (instrument/models/weights/)")


@pytest.fixture(scope="module")
def model():
    return load_model(None, torch.device("cpu"))


def test_the_default_is_the_bundled_trained_file_and_small(model):
    assert model.trained and BUNDLED.stat().st_size < 50 * 2 ** 20
    assert model.config.img_resolution >= 128
    _, meta = load_any(BUNDLED, "cpu")
    assert meta["training"]["data"] == "emoji" and meta["training"]["command"].startswith("instrument train image")


def test_it_draws_finite_images_of_its_size_that_differ_across_seeds(model):
    G, r = model.generator, model.config.img_resolution
    z = torch.cat([torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(s)) for s in (0, 1, 2, 3)])
    with torch.no_grad():
        img = G.synthesis(G.mapping(z, truncation_psi=0.7), noise_mode="const")
    assert img.shape == (4, 3, r, r) and torch.isfinite(img).all()
    gaps = [float((img[i] - img[j]).abs().mean()) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 0.02, gaps  # [-1, 1] images: distinct seeds are visibly different pictures
