"""The direction knobs in the generator's frame path: FrameRenderer's traced graph on a tiny real generator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from instrument.latent.conductor import LatentFrame
from instrument.latent.directions import compute_directions, layer_range, scaled_components
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.render.generator_thread import FrameRenderer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=64, channel_base=256, channel_max=32)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def G():
    return make_generator(TINY, seed=2, w_avg_samples=256)


@pytest.fixture(scope="module")
def dirs(G):
    return compute_directions(G, n_samples=2000, n_components=8, seed=0)


def frame(G, **changes) -> LatentFrame:
    rng = np.random.default_rng(11)
    mix = np.zeros((G.num_ws, 3), np.float32)
    mix[:6, 0], mix[6:, 1] = 1.0, 1.0
    base = LatentFrame(3, 0.05, rng.standard_normal((3, G.z_dim)).astype(np.float32), mix, 0.7, G.num_ws,
                       "const", 0)
    return dataclasses.replace(base, **changes)


def renderer(G, dirs=None) -> FrameRenderer:
    r = FrameRenderer(G, CPU)
    if dirs is not None:
        r.set_directions(scaled_components(dirs))
    return r


def plain_pixels(G, f: LatentFrame) -> torch.Tensor:
    """The frame path as it was before the knobs: mapping, per-layer mix, truncation, synthesis, uint8."""
    ws = torch.einsum("snd,ns->nd", G.mapping(torch.from_numpy(f.z)), torch.from_numpy(f.mix))
    layer = torch.arange(G.num_ws)[:, None]
    ws = torch.where(layer < f.cutoff, G.mapping.w_avg + f.psi * (ws - G.mapping.w_avg), ws)[None]
    img = G.synthesis(ws, noise_mode=f.noise_mode)
    return (img[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8)


@torch.inference_mode()
def test_zero_amounts_render_bit_for_bit_as_before(G, dirs):
    f = frame(G)
    assert torch.equal(renderer(G, dirs).image(f), plain_pixels(G, f))   # traced graph, knobs loaded, at zero
    assert torch.equal(renderer(G).image(f), plain_pixels(G, f))         # no directions at all


@torch.inference_mode()
@pytest.mark.parametrize("layers", ["all", "coarse", "middle", "fine"])
def test_an_amount_moves_w_by_amount_std_component_on_the_chosen_layers_only(G, dirs, layers):
    assert G.num_ws == 10  # 64²: coarse 0-3, middle 4-7, fine 8-9
    r = renderer(G, dirs)
    base = r.ws(frame(G)).clone()
    amounts = np.zeros(8, np.float32)
    amounts[2] = 1.5
    moved = r.ws(frame(G, directions=amounts, direction_layers=layers))
    lo, hi = layer_range(layers, G.num_ws)
    assert torch.equal(moved[:, :lo], base[:, :lo]) and torch.equal(moved[:, hi:], base[:, hi:])
    want = 1.5 * dirs.std[2] * dirs.components[2]                      # [w_dim]
    torch.testing.assert_close(moved[0, lo:hi] - base[0, lo:hi], want.expand(hi - lo, -1), rtol=0, atol=1e-5)


@torch.inference_mode()
def test_amounts_sum_over_knobs_and_the_traced_graph_follows_them(G, dirs):
    r = renderer(G, dirs)
    amounts = np.array([0.5, -1.0, 0, 0, 0, 0, 2.0, -3.0], np.float32)
    moved = frame(G, directions=amounts, direction_layers="middle")
    base = r.ws(frame(G)).clone()
    lo, hi = layer_range("middle", G.num_ws)
    want = torch.from_numpy(amounts) @ scaled_components(dirs)
    torch.testing.assert_close(r.ws(moved)[0, lo:hi] - base[0, lo:hi], want.expand(hi - lo, -1), rtol=0, atol=1e-5)
    still = r.image(frame(G)).clone()                                  # traces with zeros ...
    changed = r.image(moved).int()                                     # ... and sees the buffers change
    assert (changed - still.int()).abs().float().mean() > 1.0
    assert torch.equal(r.image(frame(G)), still)


def test_directions_of_the_wrong_width_are_refused_in_one_line(G):
    with pytest.raises(ValueError, match=r"directions must have shape \(8, 32\) \(knobs, w_dim\), got \(8, 16\)"):
        FrameRenderer(G, CPU).set_directions(torch.zeros(8, 16))
