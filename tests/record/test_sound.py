"""The sound of a re-render: the bundled timbre VAE, real z-logs, real PyAV muxing."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.audio.vae import default_model_path, load_vae
from instrument.record.render import main_render, render, row_shots
from instrument.record.sound import frame_targets, logged_audio, per_hop, timbre_track
from instrument.record.video import read_video
from instrument.record.zlog import ZlogReader
from test_render_helpers import FPS, ROWS, one_thread, record_log, tiny_model  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sound")
    model = tiny_model(tmp / "tiny.safetensors")
    record_log(tmp / "show.zlog", model)
    with ZlogReader(tmp / "show.zlog") as reader:
        shots, header = list(row_shots(reader)), reader.header
    return {"tmp": tmp, "log": tmp / "show.zlog", "shots": shots, "header": header,
            "vae": load_vae(default_model_path())}


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# Pure logic.
def test_per_hop_glides_linearly_between_frames_and_holds_after_the_last():
    frames = np.array([[0.0], [1.0], [3.0]])
    hops = per_hop(frames, fps=1.0, n_hops=8, hop_s=0.5)
    assert hops[:, 0].tolist() == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0]


def test_freeze_holds_the_previous_target_and_logged_latents_win():
    class Coupling:  # the identity on the first two dims: enough to see which value each frame takes
        latent_dim = 2

        def __call__(self, z, amount, offset, scale):
            return np.asarray(z[:2], np.float32)
    z = np.arange(8, dtype=np.float32).reshape(4, 2)
    params = np.zeros((4, 6))
    params[2, 4] = 1.0  # frame 2 frozen
    logged = np.full((4, 2), np.nan, np.float32)
    logged[3] = [-1.0, -2.0]
    out = frame_targets(Coupling(), z, params, logged)
    assert out.tolist() == [[0, 1], [2, 3], [2, 3], [-1, -2]]


# The real voice, offline.
def test_track_is_the_video_length_audible_and_deterministic(show):
    a = timbre_track(show["shots"], FPS, show["header"], show["vae"])
    b = timbre_track(show["shots"], FPS, show["header"], show["vae"])
    sr, hop = show["vae"].spectral.sample_rate_hz, show["vae"].spectral.hop
    assert len(a) == int(np.ceil(ROWS / FPS * sr / hop)) * hop
    assert np.array_equal(a, b)
    assert rms(a) > 1e-3 and np.isfinite(a).all()


def test_gain_zero_and_black_are_silent(show):
    loud = timbre_track(show["shots"], FPS, show["header"], show["vae"])
    gain_col = [p["name"] for p in show["header"]["params"]].index("audio.gain")
    muted = []
    for shot in show["shots"]:
        params = shot.params.copy()
        params[gain_col] = 0.0
        muted.append(type(shot)(shot.latent, params, shot.row, shot.dt_s, shot.black))
    blacked = [type(s)(s.latent, s.params, s.row, s.dt_s, 1.0) for s in show["shots"]]
    for quiet in (muted, blacked):
        assert rms(timbre_track(quiet, FPS, show["header"], show["vae"])) < 1e-3 * rms(loud)


def test_rows_without_logged_audio_give_an_empty_table(show):
    with ZlogReader(show["log"]) as reader:
        assert logged_audio(reader.rows()).shape == (ROWS, 0)


def test_render_muxes_the_timbre_voice_by_default_and_not_with_no_audio(show, capsys):
    out, silent = show["tmp"] / "voice.mp4", show["tmp"] / "silent.mp4"
    model = ["--model", str(show["tmp"] / "tiny.safetensors")]
    assert main_render([str(show["log"]), "-o", str(out), "--size", "64", "--quiet", *model]) == 0
    assert main_render([str(show["log"]), "-o", str(silent), "--size", "64", "--quiet", "--no-audio", *model]) == 0
    _, info = read_video(out)
    assert info["audio_duration_s"] == pytest.approx(ROWS / FPS, abs=0.03)
    assert read_video(silent)[1]["audio_duration_s"] is None


def test_events_mode_has_sound_at_any_rate(show):
    result = render(show["log"], show["tmp"] / "events.mp4", size="64", mode="events", fps=12, progress=False, model=show["tmp"] / "tiny.safetensors",
                    audio="timbre")
    _, info = read_video(result.paths[0])
    assert info["audio_duration_s"] == pytest.approx(info["duration_s"], abs=0.1)
