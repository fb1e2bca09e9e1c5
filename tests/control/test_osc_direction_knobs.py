"""/instrument/direction/N over real loopback UDP reaches the generator's frame and moves w along direction N."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pythonosc.udp_client import SimpleUDPClient

from instrument.control.osc import OscServer
from instrument.latent.conductor import Conductor
from instrument.latent.directions import compute_directions, layer_range, scaled_components
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.params import ParamStore
from instrument.render.generator_thread import FrameRenderer
import waiting

TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)
WAIT_S = 3.0


def wait_for(condition, timeout_s: float = WAIT_S) -> bool:
    return waiting.wait_for(condition, timeout_s, 0.002)


@pytest.fixture
def played():
    G = make_generator(TINY, seed=4, w_avg_samples=256)
    store = ParamStore()
    conductor = Conductor(store, G.z_dim, G.num_ws, seed=0)
    osc = OscServer(store, conductor, port=0)
    osc.start()
    yield G, store, conductor, osc
    osc.stop()


@torch.inference_mode()
def test_osc_direction_1_and_layers_reach_the_frame_and_its_w(played):
    G, store, conductor, osc = played
    dirs = compute_directions(G, n_samples=2000, n_components=8, seed=0)
    renderer = FrameRenderer(G, torch.device("cpu"))
    renderer.set_directions(scaled_components(dirs))
    base = renderer.ws(conductor.step(0.0, 0.0)).clone()
    client = SimpleUDPClient("127.0.0.1", osc.port)
    client.send_message("/instrument/direction/1", 2.5)
    client.send_message("/instrument/direction/layers", "coarse")
    assert wait_for(lambda: store.get("direction.1") == 2.5 and store.get("direction.layers") == 1)
    frame = conductor.step(10.0, 10.0)  # ten seconds: the 50 ms smoothing has settled
    assert frame.directions[0] == pytest.approx(2.5) and not frame.directions[1:].any()
    assert frame.direction_layers == "coarse"
    lo, hi = layer_range("coarse", G.num_ws)
    ws = renderer.ws(frame)
    assert torch.equal(ws[:, hi:], base[:, hi:])
    shift = (ws[0, lo:hi] - base[0, lo:hi]) @ dirs.components[0]          # along direction 1, per layer
    torch.testing.assert_close(shift, torch.full((hi - lo,), 2.5 * dirs.std[0].item()), rtol=1e-4, atol=1e-4)
    assert np.all(np.isfinite(ws.numpy()))
