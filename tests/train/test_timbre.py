"""`instrument train timbre` on a tiny folder of synthetic WAVs: runs, losses fall, resume is exact."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors import safe_open

from instrument.audio.render import write_wav
from instrument.audio.vae import load_vae
from instrument.train import timbre

TINY = ["--latent", "4", "--hidden", "64,32", "--batch", "32", "--lr", "3e-3", "--threads", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory):
    """Three 0.4 s tones/noises at 48 kHz: about 450 frames."""
    folder = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    t = np.arange(int(0.4 * 48000)) / 48000
    write_wav(folder / "sine.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 48000)
    write_wav(folder / "saw.wav", 0.2 * ((110 * t) % 1.0 - 0.5), 48000)
    write_wav(folder / "noise.wav", 0.1 * rng.standard_normal(len(t)), 48000)
    return folder


def test_tiny_run_trains_and_exports(wav_dir, tmp_path, capsys):
    assert timbre.main(["--data", str(wav_dir), "--epochs", "2", "--out", str(tmp_path), *TINY]) == 0
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "frames/s" in err
    with safe_open(str(tmp_path / timbre.CHECKPOINT_NAME), framework="pt") as f:
        import json

        history = json.loads(f.metadata()["state"])["history"]
    losses = [h["loss"] for h in history]
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0]
    vae = load_vae(tmp_path / timbre.EXPORT_NAME)
    assert vae.config.latent_dim == 4 and np.all(vae.stats()["latent_std"] > 0)
    assert vae.metadata["seed"] == 3 and vae.metadata["epochs"] == 2


def test_resume_continues_exactly(wav_dir, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert timbre.main(["--data", str(wav_dir), "--epochs", "2", "--out", str(straight), *TINY]) == 0
    assert timbre.main(["--data", str(wav_dir), "--epochs", "1", "--out", str(split), *TINY]) == 0
    assert timbre.main(["--data", str(wav_dir), "--epochs", "2", "--out", str(split), "--resume", str(split),
                        *TINY]) == 0
    z = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    a, b = load_vae(straight / timbre.EXPORT_NAME), load_vae(split / timbre.EXPORT_NAME)
    np.testing.assert_array_equal(a.decode(z), b.decode(z))


@pytest.mark.parametrize("argv, expected", [
    (["--data", "/nonexistent/folder"], "neither 'soundfont' nor a folder"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--hidden", "64,x"], "--hidden must be comma-separated"),
    (["--device", "cuda:7"] if not __import__("torch").cuda.is_available() else ["--device", "nope"], "--device"),
])
def test_bad_options_are_one_line_errors(argv, expected, capsys, tmp_path):
    assert timbre.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1


def test_wrong_sample_rate_and_bad_resume(wav_dir, tmp_path, capsys):
    import wave

    bad = tmp_path / "bad"
    bad.mkdir()
    with wave.open(str(bad / "x.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(44100), w.writeframes(b"\0\0" * 4410)
    assert timbre.main(["--data", str(bad), "--out", str(tmp_path)]) == 2
    assert "44100 Hz, expected 48000 Hz" in capsys.readouterr().err
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    assert timbre.main(["--data", str(wav_dir), "--resume", str(tmp_path / "junk.safetensors"),
                        "--out", str(tmp_path), *TINY]) == 2
    assert "junk.safetensors" in capsys.readouterr().err
