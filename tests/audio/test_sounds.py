"""Sound keyframes' encode path: real WAV files in a real folder, the shipped timbre VAE."""

import os
import wave

import numpy as np
import pytest

from instrument.audio.decoder import load_decoder
from instrument.audio.sounds import (MAX_SECONDS, SoundError, SoundLibrary, find_sound, parse_sound_option,
                                     timbre_latent, timbre_latent_dim)
from instrument.audio.vae import default_model_path, load_vae

RATE_HZ = 48000


def write_pcm(path, samples: np.ndarray, rate_hz: int = RATE_HZ) -> str:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return str(path)


def tone(freq_hz: float, seconds: float = 1.0, harmonics: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return sum(0.3 / k * np.sin(2 * np.pi * freq_hz * k * t) for k in range(1, harmonics + 1))


@pytest.fixture(scope="module")
def vae():
    return load_vae(default_model_path())


@pytest.fixture
def folder(tmp_path):
    write_pcm(tmp_path / "low.wav", tone(110.0, harmonics=3))
    write_pcm(tmp_path / "high.wav", tone(3520.0))
    return tmp_path


def test_a_sound_encodes_to_one_latent_that_decodes_to_its_own_spectrum(vae, folder):
    low, high = (timbre_latent(vae, folder / f"{n}.wav") for n in ("low", "high"))
    assert low.shape == high.shape == (timbre_latent_dim(),) and low.dtype == np.float32
    assert np.isfinite(low).all() and np.linalg.norm(low - high) > 0.5
    spectra = load_decoder(default_model_path()).decode(np.stack([low, high]))  # [2, bins] log-magnitudes
    split = 1000 * vae.spectral.n_fft // RATE_HZ  # the bin of 1 kHz
    lows, highs = spectra[:, :split].mean(axis=1), spectra[:, split:].mean(axis=1)
    assert lows[0] - highs[0] > lows[1] - highs[1]  # the low tone's timbre leans low, the high one's high


def test_silence_under_the_floor_does_not_count(vae, tmp_path):
    quiet_tail = np.concatenate([tone(110.0, 0.5, harmonics=3), np.zeros(RATE_HZ)])
    np.testing.assert_allclose(timbre_latent(vae, write_pcm(tmp_path / "tail.wav", quiet_tail)),
                               timbre_latent(vae, write_pcm(tmp_path / "body.wav", tone(110.0, 0.5, 3))), atol=0.05)


@pytest.mark.parametrize("name, match", [
    ("../etc/passwd", "invalid sound name"), ("a/b", "invalid sound name"), ("", "invalid sound name"),
    ("lwo", "did you mean 'low'"), ("nothing_like_it", "known sounds: high, low")])
def test_names_only_pick_files_in_the_folder(folder, name, match):
    with pytest.raises(SoundError, match=match) as e:
        find_sound(name, (folder,))
    assert "\n" not in str(e.value)


def test_bad_files_are_one_line_errors(vae, folder):
    (folder / "junk.wav").write_bytes(b"RIFF not really")
    write_pcm(folder / "silent.wav", np.zeros(RATE_HZ))
    write_pcm(folder / "rate.wav", tone(220.0), rate_hz=44100)
    write_pcm(folder / "long.wav", np.zeros(int((MAX_SECONDS + 1) * RATE_HZ)))
    library = SoundLibrary((folder,), vae=vae)
    for name, match in (("junk", "not a readable PCM WAV"), ("silent", "silent to the timbre model"),
                        ("rate", "44100 Hz, expected 48000 Hz"), ("long", "at most 30 s")):
        with pytest.raises(SoundError, match=match) as e:
            library.latent(name)
        assert "\n" not in str(e.value)


def test_the_library_encodes_once_and_again_when_the_file_changes(vae, folder):
    library = SoundLibrary((folder,), vae=vae)
    first = library.latent("low.wav")
    first[:] = 0.0  # a copy: the cache is not touched
    assert np.array_equal(library.latent("low"), timbre_latent(vae, folder / "low.wav"))
    write_pcm(folder / "low.wav", tone(3520.0))
    os.utime(folder / "low.wav", ns=(1, 1))
    np.testing.assert_array_equal(library.latent("low"), library.latent("high"))


def test_sound_option_parses_slot_equals_name():
    assert parse_sound_option("3=cello") == (3, "cello")
    for bad in ("cello", "x=cello", "3="):
        with pytest.raises(SoundError, match="SLOT=NAME"):
            parse_sound_option(bad)


@pytest.mark.e2e
def test_the_engine_attaches_sounds_from_its_option_and_from_osc(folder, tmp_path):
    """The whole engine (offscreen), a real UDP client, the z-log: the option and the OSC action both land."""
    import time

    from pythonosc.udp_client import SimpleUDPClient

    from instrument.engine import Engine, PlayOptions
    from instrument.record.zlog import ZlogReader

    engine = Engine(PlayOptions(offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None, midi=False,
                                audio=False, sounds=["1=low"], sounds_dir=str(folder),
                                record=str(tmp_path / "show.zlog")), log=lambda line: None)
    try:
        engine.start()
        client = SimpleUDPClient("127.0.0.1", engine.osc.port)
        client.send_message("/instrument/keyframe/sound", [2, "high"])
        client.send_message("/instrument/keyframe/sound", [3, "../../etc/passwd"])
        deadline = time.monotonic() + 10
        while engine.conductor.keyframes.sound(2) is None and time.monotonic() < deadline:
            engine.run(0.2)
        keyframes = engine.conductor.keyframes
        assert keyframes.sound(1) is not None and keyframes.sound(2) is not None and keyframes.sound(3) is None
        assert "invalid sound name" in engine.osc.last_error and "\n" not in engine.osc.last_error
    finally:
        engine.close()
    with ZlogReader(tmp_path / "show.zlog") as log:
        assert log.header["audio_dim"] == timbre_latent_dim()
        sounds = [e.data["args"] for e in log.events() if e.data.get("action") == "keyframe_sound"]
        assert [(a[0], a[2]) for a in sounds] == [(1, "low"), (2, "high")] and len(sounds[0][1]) == timbre_latent_dim()
