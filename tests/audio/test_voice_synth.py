"""The audio process's parts without a device: the numpy decoder, VoiceSynth's frames, the callback's live gain."""

import time

import numpy as np
import pytest

from instrument.audio.decoder import load_decoder
from instrument.audio.feed import DECODE_PROBE, OUTPUT_PROBE, VoiceFeed
from instrument.audio.ring import RingBuffer
from instrument.audio.stream import AudioOutput
from instrument.audio.vae import default_model_path, load_vae
from instrument.audio.voice_process import HOPS_PER_BATCH, PARAM_KEYS
from instrument.audio.voice_synth import VoiceSynth
from instrument.errors import ModelError
from instrument.latent.conductor import Action, Conductor
from instrument.params import ParamStore


def test_numpy_decoder_matches_the_torch_model():
    decoder, vae = load_decoder(default_model_path()), load_vae(default_model_path())
    z = np.random.default_rng(0).standard_normal((16, decoder.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(decoder.decode(z), vae.decode(z), atol=1e-4)
    for key, value in vae.stats().items():
        np.testing.assert_array_equal(decoder.stats()[key], value)


def test_decoder_errors_are_one_line(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as missing:
        load_decoder(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot be read") as junk:
        load_decoder(tmp_path / "junk.safetensors")
    assert "\n" not in str(missing.value) + str(junk.value)


@pytest.fixture
def rig():
    """A conductor and store in this process, a VoiceSynth reading them through a real shared block."""
    store = ParamStore()
    conductor = Conductor(store, z_dim=256, num_ws=12, seed=0)
    feed = VoiceFeed.create(len(store.values), 256)
    store.share_values(feed.params)
    synth = VoiceSynth(feed, load_decoder(default_model_path()), {k: store.slot(k) for k in PARAM_KEYS})
    yield store, conductor, feed, synth
    store.share_values(np.array(feed.params))
    synth.output = None
    feed.close()


def _advance(conductor, feed, seconds, t0=0.0):
    for i in range(int(seconds * 10)):
        feed.write_latent(*_frame(conductor.step(t0 + 0.1 * i, 0.1)))


def _frame(latent):
    return latent.index, latent.z[0]


def _settle(synth, batches=120):
    for _ in range(batches):
        frames = synth.frames()
    return frames


def test_frames_follow_the_visual_latent_and_freeze_holds_them(rig):
    store, conductor, feed, synth = rig
    _advance(conductor, feed, 0.1)
    first = _settle(synth)
    assert first.shape == (HOPS_PER_BATCH, 513) and np.isfinite(first).all()
    conductor.post(Action("set_source_seed", (0, 999)))
    store.set("spring.stiffness", 200.0)
    _advance(conductor, feed, 6, 1.0)
    moved = _settle(synth)
    assert np.abs(moved - first).mean() > 0.05
    store.set("timbre.freeze", 1)
    conductor.post(Action("set_source_seed", (0, 4242)))
    _advance(conductor, feed, 6, 8.0)
    assert np.allclose(_settle(synth), moved)


def test_brightness_set_in_this_process_is_read_at_the_next_decode(rig):
    store, conductor, feed, synth = rig
    _advance(conductor, feed, 0.1)
    flat = _settle(synth)
    store.set("timbre.brightness", 1.0)
    bright = synth.frames()
    assert bright[:, -1].mean() > flat[:, -1].mean() + 1.0  # +6 dB/oct: the top bin rises by ~4.6 octaves' worth


def test_decode_probe_marks_the_batch_that_reflects_it(rig):
    store, conductor, feed, synth = rig
    _advance(conductor, feed, 0.1)
    _settle(synth, 3)
    seq = feed.post_probe(DECODE_PROBE)
    before = synth.synth.frames_synthesised
    synth.frames()
    assert synth.output.mark_asked() == (before * synth.spectral.hop, seq)


def test_callback_applies_the_live_gain_with_a_ramp_and_times_output_probes():
    ring, gain, probe = RingBuffer(4096, 1), np.array([0.5]), np.zeros(2, np.int64)
    out = AudioOutput(ring, 48000, 256, gain=gain, probe=probe)
    ring.write(np.ones((1024, 1), np.float32))
    block = np.empty((256, 1), np.float32)
    out._callback(block, 256, None, 0)
    assert np.all(block == 0.5)
    gain[0], probe[:] = 1.0, (1, OUTPUT_PROBE)
    t0 = time.monotonic()
    out._callback(block, 256, None, 0)
    ramp = block[:, 0]
    assert np.all(np.diff(ramp) > 0) and ramp[0] > 0.5 and ramp[-1] == 1.0  # no step: a ramp up to the new gain
    assert out.mark_done_seq == 1 and out.mark_dac_s >= t0
    out._callback(block, 256, None, 0)
    assert np.all(block == 1.0)


def test_a_keyframe_timbre_in_the_feed_replaces_the_coupling_by_its_weight_times_timbre_keyframes():
    store, decoder = ParamStore(), load_decoder(default_model_path())
    feed = VoiceFeed.create(len(store.values), 256, decoder.latent_dim)
    store.share_values(feed.params)
    synth = VoiceSynth(feed, decoder, {k: store.slot(k) for k in PARAM_KEYS})
    try:
        z, sound = np.zeros(256, np.float32), decoder.stats()["latent_mean"] + 2 * decoder.stats()["latent_std"]
        coupled = decoder.decode(synth.coupling(z)[None])[0]
        for index, (weight, keyframes, expected) in enumerate([
                (1.0, 1.0, decoder.decode(sound[None])[0]), (1.0, 0.0, coupled), (0.0, 1.0, coupled),
                (0.5, 1.0, decoder.decode((synth.coupling(z) + 0.5 * (sound - synth.coupling(z)))[None])[0])]):
            store.set("timbre.keyframes", keyframes)
            feed.write_latent(index, z, sound, weight)
            np.testing.assert_allclose(_settle(synth, 60)[-1], expected, atol=1e-4)
    finally:
        store.share_values(np.array(feed.params))
        synth.output = None
        feed.close()
