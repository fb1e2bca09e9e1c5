"""The sound of a re-render: the bundled timbre VAE, real z-logs, real PyAV muxing."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from instrument.audio.coupling import LatentCoupling
from instrument.audio.sounds import SoundLibrary
from instrument.audio.vae import default_model_path, load_vae
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore
from instrument.record.render import event_shots, main_render, render, row_shots
from instrument.record.sound import frame_controls, frame_targets, logged_audio, per_hop, timbre_track
from instrument.record.video import read_video
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import ZlogReader, header_for_model
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


def test_freeze_holds_the_previous_target_and_keyframe_timbres_blend_in():
    class Coupling:  # the identity on the first two dims: enough to see which value each frame takes
        latent_dim = 2

        def __call__(self, z, amount, offset, scale):
            return np.asarray(z[:2], np.float32)
    z = np.arange(10, dtype=np.float32).reshape(5, 2)
    params = np.zeros((5, 7))
    params[:, 6] = 1.0  # timbre.keyframes
    params[2, 4] = 1.0  # frame 2 frozen
    keyed = np.full((5, 3), np.nan, np.float32)
    keyed[3] = [-1.0, -2.0, 1.0]  # a keyframe timbre at weight 1
    keyed[4] = [-2.0, -1.0, 0.5]  # at weight 0.5: halfway from the coupling (8, 9)
    out = frame_targets(Coupling(), z, params, keyed)
    assert out.tolist() == [[0, 1], [2, 3], [2, 3], [-1, -2], [3, 4]]
    params[:, 6] = 0.0  # timbre.keyframes 0: the coupling alone
    assert frame_targets(Coupling(), z, params, keyed)[3:].tolist() == [[6, 7], [8, 9]]


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


# Sound keyframes: recorded live, replayed in rows and events mode, heard in the offline render.
KEY_ROWS = 48


def tone_wav(path, freq_hz: float, harmonics: int = 1, rate_hz: int = 48000) -> None:
    t = np.arange(rate_hz) / rate_hz
    x = sum(0.3 / k * np.sin(2 * np.pi * freq_hz * k * t) for k in range(1, harmonics + 1))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes((x * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def keyed_show(tmp_path_factory):
    """A recorded show: slots 1 and 2 store two pictures and carry a low and a high tone; A glides 1 -> 2."""
    tmp = tmp_path_factory.mktemp("sound_keyframes")
    model, vae = tiny_model(tmp / "tiny.safetensors"), load_vae(default_model_path())
    tone_wav(tmp / "low.wav", 110.0, harmonics=3)
    tone_wav(tmp / "high.wav", 3520.0)
    library = SoundLibrary((tmp,), vae=vae)
    sounds = {1: library.latent("low"), 2: library.latent("high")}
    store = ParamStore()
    store.set("motion.mode", 2)  # lerp
    store.set("motion.seconds", 0.25)
    conductor = Conductor(store, model.generator.z_dim, model.generator.num_ws, 3, audio_dim=len(sounds[1]))
    writer = ZlogWriter(tmp / "show.zlog", header_for_model(model, 3, FPS, audio_dim=conductor.audio_dim))
    conductor.on_post = lambda a: writer.write_event("engine", {"action": a.name, "args": list(a.args)}, 0.0,
                                                     frame=conductor.index)
    script = {0: [("set_source_seed", 0, 111)], 8: [("store", 1), ("set_source_seed", 0, 222)],
              16: [("store", 2), ("keyframe_sound", 1, sounds[1], "low"), ("keyframe_sound", 2, sounds[2], "high"),
                   ("recall", 1)], 28: [("recall", 2)]}
    frames = []
    for i in range(KEY_ROWS):
        for name, *args in script.get(i, ()):
            conductor.act(name, *args)
        frames.append(conductor.step(i / FPS, 1 / FPS if i else 0.0))
        writer.write_row(frames[-1], store.values, i / FPS)
    writer.close()
    return {"tmp": tmp, "log": tmp / "show.zlog", "frames": frames, "sounds": sounds, "vae": vae}


def test_the_live_frames_glide_between_the_two_encoded_timbres(keyed_show):
    s1, s2, frames = keyed_show["sounds"][1], keyed_show["sounds"][2], keyed_show["frames"]
    assert all(f.audio is None for f in frames[:16]) and 0 < frames[16].audio_weight < 1  # recall(1) at 16
    np.testing.assert_allclose(frames[27].audio, s1, atol=1e-6)
    t = [float((f.audio - s1) @ (s2 - s1) / ((s2 - s1) @ (s2 - s1))) for f in frames[28:]]
    for f, ti in zip(frames[28:], t):
        np.testing.assert_allclose(f.audio, s1 + ti * (s2 - s1), atol=1e-5)
    assert 0.0 < t[2] < 1.0 and t[-1] == pytest.approx(1.0) and np.all(np.diff(t) >= -1e-6)


def test_rows_carry_the_timbre_and_read_back_bit_identical(keyed_show):
    with ZlogReader(keyed_show["log"]) as reader:
        assert reader.header["audio_dim"] == len(keyed_show["sounds"][1])
        for i, live in enumerate(keyed_show["frames"]):
            back = reader.latent_frame(i)
            assert (back.audio is None) == (live.audio is None) and back.audio_weight == np.float32(live.audio_weight)
            if live.audio is not None:
                assert np.array_equal(back.audio, live.audio)


def test_events_mode_re_simulates_the_same_timbres_from_the_logged_actions(keyed_show):
    with ZlogReader(keyed_show["log"]) as reader:
        replayed = [shot.latent for shot in event_shots(reader, FPS)]
    assert len(replayed) == KEY_ROWS
    for live, again in zip(keyed_show["frames"], replayed):
        assert (again.audio is None) == (live.audio is None)
        if live.audio is not None:
            np.testing.assert_allclose(again.audio, live.audio, atol=1e-5)
            assert again.audio_weight == pytest.approx(live.audio_weight, abs=1e-5)


def test_the_offline_render_hears_the_keyframe_timbres(keyed_show):
    with ZlogReader(keyed_show["log"]) as reader:
        shots, header = list(row_shots(reader)), reader.header
    col = [p["name"] for p in header["params"]].index("timbre.keyframes")
    unkeyed = [type(s)(s.latent, np.where(np.arange(len(s.params)) == col, 0.0, s.params), s.row, s.dt_s, s.black)
               for s in shots]
    coupling = LatentCoupling.for_model(keyed_show["vae"], z_dim=header["z_dim"])
    targets = frame_targets(coupling, *[frame_controls(shots, header)[k] for k in (0, 1, 3)])
    np.testing.assert_allclose(targets[-1], keyed_show["sounds"][2], atol=1e-5)  # arrived: the high tone's timbre alone
    keyed, plain = (timbre_track(s, FPS, header, keyed_show["vae"]) for s in (shots, unkeyed))
    assert np.isfinite(keyed).all() and len(keyed) == len(plain)
    tail = slice(-len(keyed) // 4, None)  # the last quarter: at the high tone
    assert np.sqrt(np.mean((keyed[tail] - plain[tail]) ** 2)) > 0.1 * np.sqrt(np.mean(plain[tail] ** 2))
    assert np.array_equal(keyed, timbre_track(shots, FPS, header, keyed_show["vae"]))  # deterministic
