"""The voice: the trajectory heard through the shipped timbre VAE (real model, real conductor)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from instrument.audio.voice import HOPS_PER_BATCH, TimbreVoice
from instrument.latent.conductor import Action, Conductor
from instrument.params import ParamStore


@pytest.fixture
def voice():
    store = ParamStore()
    conductor = Conductor(store, z_dim=256, num_ws=12, seed=0)
    conductor.step(0.0, 0.01)
    return TimbreVoice(store, conductor, z_dim=256)


def _settle(voice, batches=40):
    for _ in range(batches):
        frames = voice.frames()
    return frames


def test_frames_follow_the_visual_latent_and_freeze_holds_them(voice):
    first = _settle(voice)
    assert first.shape == (HOPS_PER_BATCH, 513) and np.isfinite(first).all()
    voice.conductor.post(Action("set_source_seed", (0, 999)))
    voice.store.set("spring.stiffness", 200.0)
    for i in range(60):
        voice.conductor.step(0.1 * i, 0.1)
    moved = _settle(voice)
    assert np.abs(moved - first).mean() > 0.05
    voice.store.set("timbre.freeze", 1)
    voice.conductor.post(Action("set_source_seed", (0, 4242)))
    for i in range(60):
        voice.conductor.step(6 + 0.1 * i, 0.1)
    assert np.allclose(_settle(voice), moved)


def test_gain_is_a_level_in_the_log_domain(voice):
    loud = _settle(voice)
    voice.store.set("audio.gain", 0.0)
    assert (_settle(voice, 1) < loud - 10).all()


@pytest.mark.e2e
def test_play_sounds_through_a_real_jack_server(jack_server):
    env = {**os.environ, **jack_server}
    run = subprocess.run([sys.executable, "-m", "instrument", "play", "--offscreen", "--seconds", "3",
                          "--osc-port", "0", "--no-oscquery", "--no-midi"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats["audio_callbacks"] > 0.5 * 3 * 48000 / 256, stats
    assert "audio off" not in run.stderr
