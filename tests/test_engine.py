"""End to end: the whole engine with a real generator thread and real GL (EGL offscreen, GLFW under Xvfb)."""

import ctypes
import gc

import numpy as np
import pytest

from pythonosc.udp_client import SimpleUDPClient

from instrument.engine import Engine, PlayOptions
from instrument.latent.conductor import Action

pytestmark = pytest.mark.e2e


def options(**kw) -> PlayOptions:
    """Play options for tests: OSC on any free port, no OSCQuery, so parallel runs never collide."""
    return PlayOptions(osc_port=0, oscquery_port=None, midi=False, audio=False, **kw)


def _changes_when_target_changes(engine: Engine) -> tuple[float, float]:
    """Mean absolute pixel change between two reads with the target held, and across a target change."""
    engine.store.set("spring.stiffness", 200.0)  # arrive within a fraction of a second
    engine.run(1.5)
    before = engine.read_pixels().astype(np.float32)
    engine.run(0.3)
    still = engine.read_pixels().astype(np.float32)
    engine.conductor.post(Action("set_source_seed", (0, 12345)))
    engine.run(1.5)
    after = engine.read_pixels().astype(np.float32)
    return float(np.abs(still - before).mean()), float(np.abs(after - before).mean())


def _check_run(engine: Engine) -> None:
    steady, moved = _changes_when_target_changes(engine)
    s = engine.stats()
    assert s["frames_generated"] > 5 and s["frames_displayed"] > s["frames_generated"] / 2
    assert s["errors"] == 0, s["last_error"]
    assert moved > 4 * max(steady, 0.5), (steady, moved)


def test_offscreen_engine_shows_generator_frames_and_follows_the_target():
    lines = []
    gc.unfreeze()  # an earlier test's engine may have frozen the heap already
    engine = Engine(options(offscreen=True, size=(192, 160), seed=3), log=lines.append)
    try:
        engine.start()
        assert gc.get_freeze_count() > 10_000  # the start-up heap is out of the collector's sight (no pauses)
        _check_run(engine)
        s = engine.stats()
        assert s["display"] == "offscreen"
        assert engine.read_pixels().shape == (160, 192, 3)
        # no GPU here: the pinned copy (plain host memory on CPU), and why, in the log and the stats
        assert s["presentation"].startswith("pinned copy (CUDA-GL interop needs a CUDA device (device 'cpu'")
        assert f"presentation: {s['presentation']}" in lines and engine.generator.slot is engine.slot
        assert engine.hud_lines()[0].endswith("[cpu, pinned copy]")
    finally:
        engine.close()


def test_engine_presents_through_interop_and_falls_back_mid_show(stub_interop):
    """The display path with CUDA-GL interop stubbed (conftest.stub_interop): device frames go map -> copy ->
    unmap into the frame texture (the stub's copy writes them there), and a failing copy drops the engine to the
    pinned copy while the show goes on."""
    lines = []
    engine = Engine(options(offscreen=True, size=(64, 64), seed=3), log=lines.append)
    try:
        texture = engine.pipeline.rgba_source(engine.resolution)  # the texture interop registered at start
        stub_interop.write = lambda src, pitch, rows: texture.write(ctypes.string_at(src, pitch * rows))
        assert engine.stats()["presentation"] == "interop" and "presentation: interop" in lines
        _check_run(engine)  # the picture follows the target through the interop path
        kinds = [c[0] for c in stub_interop.calls]
        assert kinds[:2] == ["set_device", "register"] and len(kinds) > 8
        assert kinds[2:] == ["map", "copy", "unmap"] * ((len(kinds) - 2) // 3)
        assert engine.generator.slot is engine.presentation.device_slot and engine.slot.published == 0
        assert engine.hud_lines()[0].endswith(", interop]")
        displayed = engine.stats()["frames_displayed"]
        stub_interop.fail = "copy"
        engine.run(1.0)
        s = engine.stats()
        assert s["presentation"] == ("pinned copy (CUDA-GL interop failed mid-show (DisplayError: CUDA-GL interop: "
                                     "cudaMemcpy2DToArrayAsync failed (cudaErrorUnknown)))")
        assert lines[-1] == f"presentation: {s['presentation']}"
        assert [c[0] for c in stub_interop.calls][-3:] == ["copy", "unmap", "unregister"]
        assert engine.generator.slot is engine.slot and engine.slot.published > 0  # host frames now
        assert s["frames_displayed"] > displayed + 5 and s["errors"] == 0, s["last_error"]
        assert engine.read_pixels().any()
    finally:
        engine.close()


def test_window_engine_under_xvfb(xvfb_display):
    engine = Engine(options(size=(200, 200), seed=3), log=lambda line: None)
    try:
        assert engine.stats()["display"] == "window"
        _check_run(engine)
        engine.on_key("h")  # HUD off through the key path
        assert engine.store.get("hud.visible") == 0.0
        engine.on_key("j")  # no keyframes stored: the HUD says why nothing plays
        engine.run(0.3)
        assert any("two stored keyframes" in line for line in engine.hud_lines())
        engine.on_key("escape")
        engine.run(1.0)  # returns at once: quit was asked for
    finally:
        engine.close()


def test_generator_exception_mid_show_keeps_last_frame_and_counts(monkeypatch):
    engine = Engine(options(offscreen=True, size=(64, 64)), log=lambda line: None)
    try:
        engine.run(0.8)
        shown = engine.read_pixels()
        assert shown.any()
        def broken(*args, **kwargs):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        monkeypatch.setattr(engine.generator.renderer, "image", broken)
        engine.run(0.5)
        s = engine.stats()
        assert s["errors"] >= 1 and "illegal memory access" in s["last_error"]
        assert engine.read_pixels().any()  # the last good frame is still on screen
        assert any("illegal memory access" in line for line in engine.hud_lines())
    finally:
        engine.close()


def test_osc_from_a_real_udp_client_moves_the_image_through_the_running_engine():
    engine = Engine(options(offscreen=True, size=(96, 96), seed=5), log=lambda line: None)
    try:
        engine.start()
        client = SimpleUDPClient("127.0.0.1", engine.osc.port)
        client.send_message("/instrument/spring/stiffness", 200.0)
        engine.run(1.0)
        before = engine.read_pixels().astype(np.float32)
        client.send_message("/instrument/source/seed", ["a", 4242])
        client.send_message("/instrument/fx/feedback/amount", 5.0)  # out of range: clamped and counted
        engine.run(1.5)
        after = engine.read_pixels().astype(np.float32)
        s = engine.stats()
        assert engine.store.get("spring.stiffness") == 200.0 and engine.store.get("fx.feedback.amount") == 0.99
        assert s["osc_messages"] >= 3 and s["osc_clamped"] >= 1 and s["osc_errors"] == 0
        assert np.abs(after - before).mean() > 4.0
    finally:
        engine.close()


def test_recording_from_the_command_line_option_and_the_r_key(tmp_path, monkeypatch):
    from instrument.record.zlog import ZlogReader
    monkeypatch.chdir(tmp_path)
    engine = Engine(options(offscreen=True, size=(64, 64), record=str(tmp_path / "show.zlog")), log=lambda l: None)
    try:
        engine.run(1.0)
        engine.on_key("space")  # an action: recorded as an event
        engine.run(0.3)
        engine.on_key("r")      # stop the --record recording
        engine.run(0.3)
        engine.on_key("r")      # start a new one under recordings/
        engine.run(0.5)
        generated_while_recording = engine.stats()["zlog_rows"]
    finally:
        engine.close()
    with ZlogReader(tmp_path / "show.zlog") as log:
        rows = log.rows()
        assert log.recovered > 10 and list(rows["index"]) == list(range(rows["index"][0], rows["index"][-1] + 1))
        assert [e.data["action"] for e in log.events()] == ["random_target"]
        assert log.latent_frame(0).z.shape == (3, engine.model.generator.z_dim)
    second = list((tmp_path / "recordings").glob("*.zlog"))
    assert len(second) == 1
    with ZlogReader(second[0]) as log:
        assert log.recovered >= generated_while_recording > 0


def test_a_stylegan3_model_plays_and_its_input_translation_moves_the_image(tmp_path):
    from instrument.models.sg3_pickle import save_stylegan3
    from instrument.models.stylegan3 import make_stylegan3, stylegan3_config
    cfg = stylegan3_config("t", z_dim=16, w_dim=16, img_resolution=16, channel_base=256, channel_max=16,
                           num_layers=4, num_critical=1, margin_size=2)
    save_stylegan3(make_stylegan3(cfg, seed=2), tmp_path / "sg3.safetensors", {"name": "tiny sg3"})
    engine = Engine(options(offscreen=True, size=(64, 64), model=str(tmp_path / "sg3.safetensors")),
                    log=lambda line: None)
    try:
        engine.run(1.0)
        before = engine.read_pixels().astype(np.float32)
        engine.store.set("sg3.translate.x", 0.25)
        engine.run(1.0)
        after = engine.read_pixels().astype(np.float32)
        s = engine.stats()
        assert s["frames_generated"] > 2 and s["errors"] == 0, s["last_error"]
        assert s["resolution"] == "16x16" and np.abs(after - before).mean() > 2.0
    finally:
        engine.close()
