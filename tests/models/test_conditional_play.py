"""A conditional model on the live frame path: class.position -> conductor -> FrameRenderer (traced) -> z-log rows."""

from __future__ import annotations

import torch

from instrument.latent.conductor import Conductor
from instrument.models.conditioning import class_position, class_weights
from instrument.models.loader import LoadedModel
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.params import PARAMS, ParamStore
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import ZlogReader, header_for_model
from instrument.render.generator_thread import FrameRenderer

C_DIM = 4


def generator(c_dim: int = C_DIM):
    cfg = GeneratorConfig(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=16, channel_base=128, channel_max=16,
                          c_dim=c_dim)
    return make_generator(cfg, seed=5, w_avg_samples=64)


def conductor(G, position: float) -> tuple[Conductor, ParamStore]:
    store = ParamStore(PARAMS)
    store.set("class.position", position)
    return Conductor(store, G.z_dim, G.num_ws, seed=3), store


def test_class_position_reaches_the_mapping_network():
    G = generator()
    cond, _ = conductor(G, class_position(2, C_DIM))
    frame = cond.step(0.0, 10.0)  # long enough for the smoothing to settle
    assert abs(frame.class_position - 2 / 3) < 1e-9
    renderer = FrameRenderer(G, torch.device("cpu"))
    with torch.inference_mode():
        ws = renderer.ws(frame)
        expected = G.mapping(torch.from_numpy(frame.z[:1]), torch.eye(C_DIM)[2:3], truncation_psi=frame.psi)
        assert torch.allclose(ws, expected, atol=1e-5)  # mix: all source A; directions: zero
        traced = renderer.image(frame)
        eager = renderer._pixels(renderer.ws(frame), frame.noise_mode)
        assert torch.equal(traced, eager)
        frame.class_position = class_position(3, C_DIM)
        assert not torch.equal(renderer.image(frame), traced)  # the traced graph sees the class buffer change


def test_blend_between_classes_is_the_weighted_class_vector():
    G = generator()
    renderer = FrameRenderer(G, torch.device("cpu"))
    frame = conductor(G, 0.5)[0].step(0.0, 10.0)
    with torch.inference_mode():
        ws = renderer.ws(frame)
        c = torch.from_numpy(class_weights(0.5, C_DIM))[None]  # half class 1, half class 2
        assert torch.allclose(ws, G.mapping(torch.from_numpy(frame.z[:1]), c, truncation_psi=frame.psi), atol=1e-5)


def test_unconditional_renderer_has_no_class_input():
    renderer = FrameRenderer(generator(c_dim=0), torch.device("cpu"))
    assert renderer.c_dim == 0 and len(renderer._inputs) == 8 and not hasattr(renderer, "c")


def test_zlog_rows_record_the_class(tmp_path):
    G = generator()
    model = LoadedModel(G, "cond", "random:5", G.config, trained=False)
    cond, store = conductor(G, 0.0)
    store.set("class.position", 0.8)  # after the conductor starts: the smoothed value glides there
    header = header_for_model(model, seed=3, fps_hint=30.0)
    assert ["class_position", "<f8", []] in header["row_fields"]
    writer = ZlogWriter(tmp_path / "c.zlog", header)
    frames = [cond.step(i / 30, 1 / 30) for i in range(5)]
    for f in frames:
        writer.write_row(f, store.values, 0.0)
    writer.close()
    with ZlogReader(tmp_path / "c.zlog") as reader:
        replayed = [reader.latent_frame(i).class_position for i in range(reader.recovered)]
    assert replayed == [f.class_position for f in frames] and 0 < replayed[0] < replayed[-1] < 0.8
    plain = LoadedModel(generator(0), "u", "random:5", generator(0).config, trained=False)
    assert not any(f[0] == "class_position" for f in header_for_model(plain, 3, 30.0)["row_fields"])
