"""Re-rendering z-logs: real files, real EGL, real PyAV, a tiny generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.record.render import BatchRenderer, main_render, read_sidecar, render
from instrument.record.video import read_row_index, read_video
from instrument.record.zlog import ZlogReader
from instrument.render.generator_thread import FrameRenderer
from test_render_helpers import FPS, ROWS, one_thread, record_log, sine_wav, tiny_model  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    model = tiny_model(tmp / "tiny.safetensors")
    frames = record_log(tmp / "show.zlog", model)
    video = render(tmp / "show.zlog", tmp / "show.mp4", size="64x64", model=tmp / "tiny.safetensors", progress=False)
    return {"tmp": tmp, "model": model, "frames": frames, "log": tmp / "show.zlog", "video": video}


def test_rows_mode_is_frame_exact(show):
    frames, info = read_video(show["video"].paths[0])
    assert (info["frames"], info["width"], info["height"]) == (ROWS, 64, 64)
    assert info["fps"] == FPS and info["duration_s"] == pytest.approx(ROWS / FPS, abs=1e-6)
    assert [read_row_index(f) for f in frames] == list(range(ROWS))
    assert [r["row"] for r in read_sidecar(show["video"].sidecars[0])] == list(range(ROWS))


def test_ws_rebuilt_from_rows_equal_the_live_ones(show):
    G = show["model"].generator
    live, replay = FrameRenderer(G, torch.device("cpu")), BatchRenderer(show["model"], torch.device("cpu"), 8)
    with ZlogReader(show["log"]) as reader, torch.inference_mode():
        for i, frame in enumerate(show["frames"]):
            assert torch.equal(replay.renderer.ws(reader.latent_frame(i)), live.ws(frame))


def test_batched_synthesis_equals_batch_1(show):
    with ZlogReader(show["log"]) as reader:
        latents = [reader.latent_frame(i) for i in range(reader.recovered)]
    batched = BatchRenderer(show["model"], torch.device("cpu"), 8).images(latents)
    single = BatchRenderer(show["model"], torch.device("cpu"), 1).images(latents)  # the live traced path
    for a, b in zip(batched, single):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float tolerance, then uint8 rounding


def test_two_renders_agree_within_1_of_255(show):
    again = render(show["log"], show["tmp"] / "again.mp4", size="64x64", model=show["tmp"] / "tiny.safetensors",
                   progress=False)
    first, _ = read_video(show["video"].paths[0])
    second, _ = read_video(again.paths[0])
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(first, second)) <= 1


def test_audio_stream_has_the_video_length(show):
    wav = sine_wav(show["tmp"] / "sine.wav")
    out = render(show["log"], show["tmp"] / "audio.mp4", size="64x64", model=show["model"], progress=False,
                 audio=lambda log: wav)
    _, info = read_video(out.paths[0])
    assert info["audio_duration_s"] == pytest.approx(ROWS / FPS, abs=0.03)


def test_models_grid_is_n_tiles_wide(show):
    other = tiny_model(show["tmp"] / "other.safetensors", seed=2)
    out = render(show["log"], show["tmp"] / "grid.mp4", size="64x64", models=[show["model"], other], grid=True,
                 progress=False)
    frames, info = read_video(out.paths[0])
    assert (info["width"], info["height"], info["frames"]) == (128, 64, ROWS)
    assert not np.array_equal(frames[3][:, :64], frames[3][:, 64:])  # two snapshots, two pictures


def test_events_mode_resimulates_the_same_latents(show):
    from instrument.record.render import event_shots
    with ZlogReader(show["log"]) as reader:
        shots = list(event_shots(reader, FPS))
    assert len(shots) == ROWS
    for shot, frame in zip(shots, show["frames"]):
        np.testing.assert_allclose(shot.latent.z, frame.z, atol=1e-5)
        assert shot.latent.noise_mode == frame.noise_mode


@pytest.mark.parametrize("argv, words", [
    (["missing.zlog", "-o", "x.mp4"], "cannot read it"),
    (["{log}", "-o", "{tmp}/x.mp4", "--size", "63x64"], "even sides"),
    (["{log}", "-o", "{tmp}/x.mp4", "--size", "big"], "size must look like"),
    (["{log}", "-o", "{tmp}/x.mp4", "--fps", "0"], "frame rate must be"),
    (["{log}", "-o", "{tmp}/x.mp4", "--model", "nope.safetensors"], "does not exist"),
    (["{log}", "-o", "{tmp}/x.mp4"], "pass --model"),
    (["{log}", "-o", "{tmp}/x.gif", "--model", "{tmp}/tiny.safetensors"], "must end in one of"),
    (["{log}", "-o", "{tmp}/x.mp4", "--mode", "vibes"], "invalid choice"),
])
def test_bad_inputs_are_one_line_errors(show, capsys, argv, words):
    argv = [a.format(log=show["log"], tmp=show["tmp"]) for a in argv]
    assert main_render(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("instrument: error:") and "\n" not in err and words in err


def test_synthesis_threads_give_the_same_frames_as_one_thread(show):
    """Two synthesis threads ahead of GL + encode (seeded random-noise frames, then traced ones, two models in a
    grid) write the same video as synthesis on the drawing thread."""
    other = tiny_model(show["tmp"] / "other2.safetensors", seed=3)
    videos = [render(show["log"], show["tmp"] / f"workers{w}.mp4", size="64x64", models=[show["model"], other],
                     grid=True, progress=False, workers=w) for w in (0, 2)]
    (one, _), (two, _) = (read_video(v.paths[0]) for v in videos)
    assert len(one) == len(two) == ROWS
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    assert read_sidecar(videos[0].sidecars[0]) == read_sidecar(videos[1].sidecars[0])
