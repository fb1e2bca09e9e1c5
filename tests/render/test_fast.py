"""The CUDA fast path (render/fast.py): on CPU it must equal the eager path exactly; graph tests need CUDA."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from instrument.latent.conductor import Conductor, LatentFrame
from instrument.models.stylegan2 import DEFAULT_CONFIG, SynthesisLayer, make_generator
from instrument.models.stylegan3 import make_stylegan3, stylegan3_config
from instrument.params import ParamStore
from instrument.render.fast import (
    FP16_CONV_CLAMP, FastFrame, FrozenDemodLayer, StaticBuffers, graph_unavailable_reason, prepare_generator,
)
from instrument.render.generator_thread import FrameRenderer, GeneratorThread
from instrument.render.slot import LatestFrame

CPU = torch.device("cpu")
TINY = dataclasses.replace(DEFAULT_CONFIG, z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU (none here)")


@pytest.fixture(scope="module")
def G():
    return make_generator(TINY, seed=3, w_avg_samples=64)


def latents(G, count=4, seed=5, noise_mode="const"):
    """Fresh random frames: random sources, per-layer mix, truncation, cutoff and direction amounts."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        mix = rng.random((G.num_ws, 3)).astype(np.float32)
        frames.append(LatentFrame(index=i, t=float(i), z=rng.standard_normal((3, G.z_dim)).astype(np.float32),
                                  mix=mix / mix.sum(axis=1, keepdims=True), psi=float(rng.uniform(0.5, 1.0)),
                                  cutoff=int(rng.integers(1, G.num_ws + 1)), noise_mode=noise_mode,
                                  noise_seed=int(rng.integers(2**32)),
                                  directions=rng.standard_normal(8).astype(np.float32)))
    return frames


# --- CPU: exact equality -------------------------------------------------------------------------------------

@pytest.mark.parametrize("noise_mode", ["const", "off", "random"])
def test_fast_path_on_cpu_equals_the_eager_path_exactly(G, noise_mode):
    eager = FrameRenderer(G, CPU)
    fast = FastFrame(FrameRenderer(prepare_generator(G, CPU), CPU))
    directions = torch.randn(eager.scaled.shape, generator=torch.Generator().manual_seed(0))
    eager.set_directions(directions)
    fast.renderer.set_directions(directions)
    with torch.inference_mode():
        for latent in latents(G, noise_mode=noise_mode):
            expected = eager.image(latent).clone()
            assert torch.equal(fast.image(latent), expected)


def test_fast_path_rgba_carries_the_same_pixels_with_opaque_alpha(G):
    eager = FrameRenderer(G, CPU)
    fast = FastFrame(FrameRenderer(prepare_generator(G, CPU), CPU), channels=4)
    with torch.inference_mode():
        latent = latents(G, 1)[0]
        rgba = fast.image(latent)
        assert rgba.shape == (TINY.img_resolution, TINY.img_resolution, 4)
        assert torch.equal(rgba[..., :3], eager.image(latent))
        assert bool((rgba[..., 3] == 255).all())


def test_stylegan3_fast_path_on_cpu_equals_eager():
    G3 = make_stylegan3(stylegan3_config("t", img_resolution=16, channel_base=64, channel_max=16), seed=0,
                        w_avg_samples=16)
    eager, fast = FrameRenderer(G3, CPU), FastFrame(FrameRenderer(prepare_generator(G3, CPU), CPU))
    with torch.inference_mode():
        for latent in latents(G3, 2):
            assert torch.equal(fast.image(latent), eager.image(latent))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_frozen_demodulation_layer_equals_the_layer_it_wraps(G, dtype):
    layer = G.synthesis.b16.conv0  # an upsampling layer: weight in the transposed layout
    frozen = FrozenDemodLayer(layer, layer.conv_clamp)
    x = torch.randn(1, 32, 8, 8).to(dtype=dtype, memory_format=torch.channels_last)
    w = torch.randn(1, TINY.w_dim)
    with torch.inference_mode():
        assert torch.equal(frozen(x.clone(), w), layer(x.clone(), w))


# --- the prepared copy -----------------------------------------------------------------------------------------

def test_prepare_leaves_the_model_untouched_and_swaps_every_synthesis_layer(G):
    before = {k: v.clone() for k, v in G.state_dict().items()}
    fast = prepare_generator(G, CPU)
    assert all(isinstance(getattr(G.synthesis, f"b{r}").conv1, SynthesisLayer) for r in G.synthesis.block_resolutions)
    assert all(isinstance(getattr(fast.synthesis, f"b{r}").conv1, FrozenDemodLayer)
               for r in fast.synthesis.block_resolutions)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert not any(getattr(fast.synthesis, f"b{r}").use_fp16 for r in fast.synthesis.block_resolutions)  # CPU


def test_prepare_for_cuda_turns_on_float16_at_the_top_resolutions_with_nvidia_clamp(G):
    fast = prepare_generator(G, torch.device("cuda"), num_fp16_res=2)  # flags only: nothing runs on the device
    on = {r for r in fast.synthesis.block_resolutions if getattr(fast.synthesis, f"b{r}").use_fp16}
    assert on == {16, 32}
    assert fast.synthesis.b32.conv1.conv_clamp == FP16_CONV_CLAMP and fast.synthesis.b32.torgb.conv_clamp == 256
    assert fast.synthesis.b8.conv1.conv_clamp is None  # float32 blocks keep the model's (absent) clamp


def test_prepare_keeps_the_models_own_fp16_settings(G):
    own = make_generator(dataclasses.replace(TINY, num_fp16_res=1, conv_clamp=64.0), seed=3, w_avg_samples=0)
    fast = prepare_generator(own, torch.device("cuda"))
    on = {r for r in fast.synthesis.block_resolutions if getattr(fast.synthesis, f"b{r}").use_fp16}
    assert on == {32} and fast.synthesis.b32.conv1.conv_clamp == 64.0


# --- static buffers, capability ------------------------------------------------------------------------------

def test_inputs_are_updated_in_place_and_every_renderer_input_is_guarded(G):
    renderer = FrameRenderer(prepare_generator(G, CPU), CPU)
    fast = FastFrame(renderer)
    guarded = {id(getattr(renderer, n)) for n in fast.buffers.names}
    assert all(id(t) for t in renderer._inputs if id(t) in guarded)
    assert {id(t) for t in renderer._inputs} <= guarded  # generic: whatever inputs the renderer has
    addresses = {n: getattr(renderer, n).data_ptr() for n in fast.buffers.names}
    with torch.inference_mode():
        outs = [fast.image(latent).clone() for latent in latents(G, 3)]
    assert {n: getattr(renderer, n).data_ptr() for n in fast.buffers.names} == addresses
    assert not torch.equal(outs[0], outs[2])  # new values reached the frame through the same buffers


def test_a_reallocated_input_buffer_is_a_one_line_error():
    class Owner:
        pass
    owner = Owner()
    owner.z = torch.zeros(3)
    buffers = StaticBuffers(owner)
    owner.z.copy_(torch.ones(3))
    buffers.check()
    owner.z = torch.ones(3)
    with pytest.raises(RuntimeError, match="input buffer 'z' was re-allocated"):
        buffers.check()


def test_graph_capability_check_says_why_on_cpu(G):
    reason = graph_unavailable_reason(CPU)
    assert "CUDA" in reason and "\n" not in reason
    fast = FastFrame(FrameRenderer(G, CPU))
    assert fast.use_graph is False and fast.reason == reason and fast.stream is None


def test_generator_thread_on_cpu_keeps_todays_path(G):
    thread = GeneratorThread(G, CPU, Conductor(ParamStore(), G.z_dim, G.num_ws, seed=0), LatestFrame(32, 32))
    assert thread.use_fast is False and thread.renderer.G is G and thread.fast is None


# --- CUDA only ---------------------------------------------------------------------------------------------------

@needs_cuda
def test_graph_replay_matches_eager_float32_within_fp16_tolerance():
    cuda = torch.device("cuda")
    big = make_generator(dataclasses.replace(TINY, img_resolution=64, conv_clamp=256.0), seed=1).to(cuda)
    eager = FrameRenderer(big, cuda)
    fast = FastFrame(FrameRenderer(prepare_generator(big, cuda), cuda))
    with torch.inference_mode():
        for latent in latents(big, 4, seed=11):
            a = fast.image(latent).float()
            eager._load(latent)
            b = eager.render_loaded("const").float()
            assert fast.use_graph, fast.reason
            rel = float((a - b).norm() / (b - 127.5).norm())
            assert rel < 0.02, f"relative error {rel:.4f} of the graphed float16 frame vs eager float32"


@needs_cuda
def test_graph_inputs_keep_their_addresses_across_replays():
    cuda = torch.device("cuda")
    big = make_generator(TINY, seed=1).to(cuda)
    fast = FastFrame(FrameRenderer(prepare_generator(big, cuda), cuda))
    with torch.inference_mode():
        frames = latents(big, 3)
        first = fast.image(frames[0]).data_ptr()
        assert all(fast.image(f).data_ptr() == first for f in frames[1:])  # one static output
    assert np.isfinite(fast.image(frames[0]).float().cpu().numpy()).all()


# --- the capture logic, with torch.cuda's graph API stubbed (runs on CPU; the real capture needs CUDA) ---------

class _FakeStream:
    def __init__(self, device=None):
        self.waits = 0

    def wait_stream(self, other):
        self.waits += 1


class _FakeGraph:
    captured = 0

    def __init__(self):
        self.replays = 0

    def replay(self):
        self.replays += 1

    def pool(self):
        return "shared-pool"


class _FakeCapture:
    def __init__(self, graph, pool=None, fail=False):
        self.fail = fail
        _FakeGraph.captured += 1

    def __enter__(self):
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing\nsecond line")

    def __exit__(self, *exc):
        return False


def _stub_cuda(monkeypatch, fail=False):
    import contextlib
    _FakeGraph.captured = 0
    monkeypatch.setattr(torch.cuda, "Stream", _FakeStream)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _FakeStream())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", _FakeGraph)
    monkeypatch.setattr(torch.cuda, "graph", lambda g, pool=None, capture_error_mode="global":
                        _FakeCapture(g, pool, fail))


def test_one_capture_per_noise_mode_then_replays_of_a_static_output(G, monkeypatch):
    _stub_cuda(monkeypatch)
    fast = FastFrame(FrameRenderer(prepare_generator(G, CPU), CPU), use_graph=True)
    with torch.inference_mode():
        frames = latents(G, 3)
        outs = [fast.image(f) for f in frames] + [fast.image(dataclasses.replace(frames[0], noise_mode="off"))]
    assert _FakeGraph.captured == 2 and set(fast._graphs) == {"const", "off"}
    assert outs[0] is outs[1] is outs[2] and fast._graphs["const"][0].replays == 3
    assert fast._pool == "shared-pool" and fast.use_graph and fast.reason is None


def test_a_failed_capture_falls_back_to_eager_with_a_one_line_reason(G, monkeypatch):
    _stub_cuda(monkeypatch, fail=True)
    eager = FrameRenderer(G, CPU)
    fast = FastFrame(FrameRenderer(prepare_generator(G, CPU), CPU), use_graph=True)
    with torch.inference_mode():
        latent = latents(G, 1)[0]
        assert torch.equal(fast.image(latent), eager.image(latent))
    assert fast.use_graph is False and "\n" not in fast.reason
    assert fast.reason.startswith("CUDA graph capture failed for noise 'const' (RuntimeError: operation not permitted")


def test_resnet_generator_fast_path_on_cpu_equals_eager():
    resnet = make_generator(dataclasses.replace(TINY, architecture="resnet"), seed=4, w_avg_samples=16)
    eager, fast = FrameRenderer(resnet, CPU), FastFrame(FrameRenderer(prepare_generator(resnet, CPU), CPU))
    with torch.inference_mode():
        for latent in latents(resnet, 2):
            assert torch.equal(fast.image(latent), eager.image(latent))
