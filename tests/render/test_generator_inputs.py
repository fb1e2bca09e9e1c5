"""The generator's hand-off on CPU: inputs staged the CUDA way load the same values, published frames equal the
renderer's pixels bit for bit, and the generator moves to another slot only between frames."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from instrument.latent.conductor import Conductor
from instrument.models.stylegan2 import DEFAULT_CONFIG, make_generator
from instrument.params import ParamStore
from instrument.render.generator_thread import FrameRenderer, GeneratorThread
from instrument.render.slot import Frame, LatestFrame

CPU = torch.device("cpu")
TINY = dataclasses.replace(DEFAULT_CONFIG, z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)


@pytest.fixture(scope="module")
def G():
    return make_generator(TINY, seed=3, w_avg_samples=64)


def _frames(G, count=3, seed=1):
    conductor = Conductor(ParamStore(), G.z_dim, G.num_ws, seed=seed)
    conductor.store.set("direction.1", 1.5)
    return [conductor.step(0.1 * i, 0.1) for i in range(count)]


def test_cpu_renderer_loads_as_before_and_staged_loading_is_bit_identical():
    G = make_generator(dataclasses.replace(TINY, c_dim=3), seed=4, w_avg_samples=64)  # conditional: c staged too
    direct, staged = FrameRenderer(G, CPU), FrameRenderer(G, CPU)
    assert direct.staging is None  # CPU: no staging unless asked (CUDA turns it on)
    staged.stage_inputs(pin=False)  # the CUDA path's code with CPU tensors: no pinning, no event
    with torch.inference_mode():
        for latent in _frames(G):
            latent.class_position = 0.7
            expected = direct.image(latent).clone()
            assert torch.equal(staged.image(latent), expected)
            for a, b in zip(direct._inputs, staged._inputs):
                assert torch.equal(a, b)


class _RgbaSlot(LatestFrame):
    """An RGBA slot on the host standing in for DeviceSlot (uint8 [H, W, 4], alpha 255, `pixels` None)."""

    @staticmethod
    def _make(height, width, pin_memory):
        return Frame(pixels=None, tensor=torch.full((height, width, 4), 255, dtype=torch.uint8))


def test_published_frames_equal_the_renderer_bit_for_bit_and_rgba_slots_get_rgb_and_opaque_alpha(G):
    rgb, rgba = LatestFrame(32, 32), _RgbaSlot(32, 32)
    thread = GeneratorThread(G, CPU, Conductor(ParamStore(), G.z_dim, G.num_ws, seed=2), rgb)
    reference = FrameRenderer(G, CPU)
    shown = []
    thread.on_frame = lambda latent, frame: shown.append((latent, frame.tensor.clone()))
    with torch.inference_mode():
        thread._one_frame(0.0, 0.0)
        thread.use_slot(rgba)       # as Presentation.on_switch does: takes effect on the next frame
        assert thread.slot is rgb
        thread._one_frame(0.1, 0.1)
        assert thread.slot is rgba and rgb.published == 1 and rgba.published == 1
        for latent, pixels in shown:
            expected = reference.image(latent)
            assert torch.equal(pixels[..., :3], expected)
            assert pixels.shape[-1] == 3 or bool((pixels[..., 3] == 255).all())
    assert thread.errors == 0, thread.last_error
