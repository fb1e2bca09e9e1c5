"""End to end: the running engine plays a model's directions file, OSC turns a knob, the z-log records it."""

import numpy as np
import pytest
import torch
from pythonosc.udp_client import SimpleUDPClient

from instrument.engine import Engine, PlayOptions
from instrument.latent.directions import compute_directions, directions_path, save_directions, scaled_components
from instrument.models.convert import sha256
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import save_generator
from instrument.record.zlog import ZlogReader, logged_directions

pytestmark = pytest.mark.e2e
TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=64, channel_base=512, channel_max=64)


def test_osc_direction_knob_moves_the_picture_and_the_log_replays_it(tmp_path):
    model = tmp_path / "tiny.safetensors"
    G = make_generator(TINY, seed=3, w_avg_samples=256)
    save_generator(G, model)
    d = compute_directions(G, n_samples=2000, n_components=8, seed=0)
    d.model_sha256 = sha256(model)
    save_directions(directions_path(model), d)
    lines = []
    engine = Engine(PlayOptions(model=str(model), offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None,
                                midi=False, audio=False, record=str(tmp_path / "show.zlog")), log=lines.append)
    try:
        assert engine.directions.source == "tiny.directions.safetensors (2000 samples)"
        assert not any(line.startswith("directions:") for line in lines)
        assert torch.equal(engine.generator.renderer.scaled.cpu(), scaled_components(d))
        engine.run(1.0)
        before = engine.read_pixels().astype(np.float32)
        SimpleUDPClient("127.0.0.1", engine.osc.port).send_message("/instrument/direction/1", 5.0)
        engine.run(1.0)
        after = engine.read_pixels().astype(np.float32)
        assert engine.stats()["errors"] == 0, engine.stats()["last_error"]
    finally:
        engine.close()
    assert np.abs(after - before).mean() > 2.0
    with ZlogReader(tmp_path / "show.zlog") as log:
        assert np.array_equal(logged_directions(log.header), scaled_components(d).numpy())
        amounts = log.rows()["directions"][:, 0]
        assert amounts[0] == 0.0 and amounts[-1] == pytest.approx(5.0)
