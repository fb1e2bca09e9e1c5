"""Rows and events written through the writer thread read back bit for bit, and replay gives the same w."""

from __future__ import annotations

import time

import numpy as np
import torch
from zlog_helpers import NUM_WS, Z_DIM, assert_frame_equal, frame, header, values

from instrument.latent.conductor import Action, Conductor
from instrument.models.stylegan2 import Generator, GeneratorConfig
from instrument.params import PARAMS, ParamStore
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import ZlogReader, header_for_model
from instrument.render.generator_thread import FrameRenderer


def test_rows_and_events_round_trip(tmp_path):
    path = tmp_path / "show.zlog"
    writer = ZlogWriter(path, header(audio_dim=5))
    for i in range(300):
        audio = np.full(5, i, np.float32) if i % 2 else None
        assert writer.write_row(frame(i), values(i), 1000.0 + i, audio)
        if i % 50 == 0:
            writer.write_event("key", Action("recall", (i // 50,)), 1000.0 + i, i / 60, i)
            writer.write_event("midi", {"param": "truncation.psi", "value": 0.5, "z": np.ones(2)}, 1000.0 + i)
        if i % 37 == 0:
            time.sleep(0.002)  # let the writer interleave batches with the producer
    summary = writer.close()
    assert writer.rows_written == 300 and writer.rows_dropped == 0 and writer.errors == 0, summary
    with ZlogReader(path) as reader:
        assert (reader.recovered, reader.truncated_bytes) == (300, 0)
        rows = reader.rows()
        assert rows["index"].tolist() == list(range(300))
        assert np.array_equal(rows["wall_time"], 1000.0 + np.arange(300))
        assert np.array_equal(rows["params"], np.stack([values(i) for i in range(300)]))
        assert np.array_equal(rows["has_audio"], np.arange(300) % 2)
        assert np.array_equal(rows["audio"][1::2, 0], np.arange(1, 300, 2))
        for i in range(300):
            assert_frame_equal(reader.latent_frame(i), frame(i))
        events = reader.events()
    assert len(events) == 12
    assert (events[0].source, events[0].data, events[0].frame) == ("key", {"action": "recall", "args": [0]}, 0)
    assert events[1].source == "midi" and events[1].data["z"] == [1.0, 1.0] and events[1].frame == -1
    assert np.isnan(events[1].t)


def test_conductor_frames_replay_to_identical_ws(tmp_path):
    cfg = GeneratorConfig(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=32, channel_base=512, channel_max=16)
    torch.manual_seed(0)
    G = Generator(cfg).eval()
    model = type("Model", (), {"generator": G, "name": "tiny", "sha256": "random:0", "config": cfg})()
    store = ParamStore()
    conductor = Conductor(store, G.z_dim, G.num_ws, seed=3)
    path = tmp_path / "replay.zlog"
    writer = ZlogWriter(path, header_for_model(model, seed=3, fps_hint=30.0))
    live = []
    for i in range(40):
        if i == 10:
            conductor.act("kick")
            store.set("truncation.psi", 0.37)
            store.set("noise.mode", 1)
        live.append(conductor.step(i / 30, 1 / 30))
        writer.write_row(live[-1], store.values, time.perf_counter())
    writer.close()

    renderer = FrameRenderer(G, torch.device("cpu"))
    with ZlogReader(path) as reader, torch.inference_mode():
        assert reader.header["model"]["config"]["z_dim"] == 16 and len(reader.header["params"]) == len(PARAMS)
        for i, want in enumerate(live):
            got = reader.latent_frame(i)
            assert_frame_equal(got, want)
            assert torch.equal(renderer.ws(got), renderer.ws(want))
    assert {f.noise_mode for f in live} == {"const", "random"}


def test_shapes_follow_the_header():
    h = header()
    assert (h["z_dim"], h["num_ws"]) == (Z_DIM, NUM_WS)
    assert [p["name"] for p in h["params"]] == [p.name for p in PARAMS]
