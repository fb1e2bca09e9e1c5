"""Shared by the re-render tests: a tiny generator file and a z-log recorded from a real Conductor."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from instrument.latent.conductor import Conductor
from instrument.models.loader import load_model
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import save_generator
from instrument.params import ParamStore
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import header_for_model

TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)
FPS = 24.0
ROWS = 24


def tiny_model(path, seed: int = 1):
    save_generator(make_generator(TINY, seed), path)
    return load_model(str(path), torch.device("cpu"))


def record_log(path, model, rows: int = ROWS, seed: int = 5) -> list:
    """A show as the live loop plays it: step(t, t - t_prev), actions posted between frames, fx and noise moving.
    Returns the LatentFrames the generator was given."""
    store = ParamStore()
    store.set("fx.feedback.amount", 0.5)
    store.set("noise.mode", 1)  # random: the seeded per-frame path
    conductor = Conductor(store, model.generator.z_dim, model.generator.num_ws, seed)
    writer = ZlogWriter(path, header_for_model(model, seed, FPS))
    conductor.on_post = lambda a: writer.write_event("engine", {"action": a.name, "args": list(a.args)}, 0.0,
                                                     frame=conductor.index)
    frames, t_prev = [], 0.0
    for i in range(rows):
        if i == 5:
            conductor.act("random_target", 0)
        if i == 9:
            conductor.act("kick", 1.0)
        if i == 12:
            store.set("noise.mode", 0)
            store.set("fx.pixelsort.amount", 0.2)
        t = i / FPS
        frames.append(conductor.step(t, t - t_prev))
        t_prev = t
        writer.write_row(frames[-1], store.values, t)
    writer.close()
    return frames


def sine_wav(path, seconds: float = 2.0, rate_hz: int = 48000) -> str:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    pcm = (np.sin(2 * np.pi * 440.0 * t) * 0.3 * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return str(path)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: a second intra-op thread spins against other workers and makes timings erratic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
