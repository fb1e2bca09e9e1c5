"""The GLFW window under a private Xvfb server (real GLX through Mesa), and its failures."""

from __future__ import annotations

import os
import subprocess
import sys

import glfw
import numpy as np
import pytest

from instrument.render.pipeline import FramePipeline, letterbox
from instrument.render.window import Window, display_available, key_name

pytestmark = pytest.mark.e2e
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
OFF = {"fx.feedback.amount": 0.0, "fx.pixelsort.amount": 0.0, "hud.visible": 0.0}


@pytest.fixture
def window(xvfb_display):
    win = Window((320, 240), title="instrument test", vsync=False)
    yield win
    win.close()


def screen_pixels(win: Window) -> np.ndarray:
    """The back buffer as uint8 [H, W, 3], top row first."""
    w, h = win.framebuffer_size
    data = win.fbo.read(viewport=(0, 0, w, h), components=3, alignment=1)
    return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1]


def quadrants(w: int, h: int) -> np.ndarray:
    frame = np.empty((h, w, 3), np.uint8)
    frame[: h // 2, : w // 2], frame[: h // 2, w // 2:] = RED, GREEN
    frame[h // 2:, : w // 2], frame[h // 2:, w // 2:] = BLUE, WHITE
    return frame


def render_quadrants(win: Window, frame_size=(64, 64)) -> tuple[np.ndarray, tuple]:
    pipe = FramePipeline(win.ctx, frame_size)
    try:
        pipe.upload(quadrants(*frame_size))
        pipe.render(win.fbo, win.framebuffer_size, OFF, 1 / 60)
        pixels = screen_pixels(win)
        win.swap()
        win.poll()
    finally:
        pipe.release()
    return pixels, letterbox(frame_size, win.framebuffer_size)


def test_display_available_under_xvfb(xvfb_display):
    assert display_available() == (True, "ok")


def test_window_shows_the_image_upright_and_pillarboxed(window):
    assert window.framebuffer_size == (320, 240) and window.ctx.version_code >= 330
    pixels, (x, y, w, h) = render_quadrants(window)
    assert (x, y, w, h) == (40, 0, 240, 240)
    assert not pixels[:, : x - 1].any() and not pixels[:, x + w + 1:].any()
    assert tuple(pixels[60, x + 60]) == RED and tuple(pixels[60, x + 180]) == GREEN
    assert tuple(pixels[180, x + 60]) == BLUE and tuple(pixels[180, x + 180]) == WHITE


def test_key_callback_gets_names_on_press_only(window):
    got = []
    window.on_key = got.append
    presses = [(glfw.KEY_SPACE, 0), (glfw.KEY_0, 0), (glfw.KEY_9, 0), (glfw.KEY_3, glfw.MOD_SHIFT),
               (glfw.KEY_F, 0), (glfw.KEY_H, 0), (glfw.KEY_ESCAPE, 0), (glfw.KEY_F5, 0), (glfw.KEY_LEFT, 0)]
    for key, mods in presses:
        window._handle_key(None, key, 0, glfw.PRESS, mods)
        window._handle_key(None, key, 0, glfw.REPEAT, mods)
        window._handle_key(None, key, 0, glfw.RELEASE, mods)
    assert got == ["space", "0", "9", "shift+3", "f", "h", "escape", "f5", "left"]


def test_key_names_without_a_window():
    assert key_name(glfw.KEY_7, glfw.MOD_SHIFT) == "shift+7"
    assert key_name(glfw.KEY_S, glfw.MOD_CONTROL) == "ctrl+s"
    assert key_name(glfw.KEY_KP_1) == "kp_1"
    assert key_name(glfw.KEY_ENTER) == "enter"
    assert key_name(glfw.KEY_LEFT_SHIFT, glfw.MOD_SHIFT) == "left_shift"
    assert key_name(glfw.KEY_UNKNOWN) is None


def test_toggle_fullscreen_and_back(window):
    window.toggle_fullscreen()
    window.poll()
    assert window.fullscreen and window.framebuffer_size == (1280, 720)
    render_quadrants(window)
    pixels, (x, y, w, h) = render_quadrants(window)   # the first swap after a resize resizes the drawable
    assert tuple(pixels[h // 4, x + w // 4]) == RED
    window.toggle_fullscreen()
    window.poll()
    assert not window.fullscreen and window.framebuffer_size == (320, 240)
    render_quadrants(window)


def test_should_close_flag_and_idempotent_close(xvfb_display):
    win = Window((64, 64), vsync=False)
    assert not win.should_close
    win.should_close = True
    assert win.should_close
    win.close()
    win.close()
    assert win.should_close


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


OPEN_WINDOW = ("from instrument.render.window import Window, display_available\n"
               "print(display_available()[0])\n"
               "try:\n    Window((64, 64))\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
               "else:\n    print('opened')\n")


def test_no_display_raises_display_error_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = run_python(OPEN_WINDOW, env)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "False" and len(lines) == 2
    assert lines[1].startswith("DisplayError no display: DISPLAY") and "--offscreen" in lines[1]
    assert result.stderr == ""


def test_unreachable_display_raises_display_error_with_glfw_reason():
    result = run_python(OPEN_WINDOW, {**os.environ, "DISPLAY": ":987"})
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "False" and lines[1].startswith("DisplayError no display: GLFW could not start on ':987'")
    assert "Failed to open display" in lines[1] and result.stderr == ""


def test_gl_below_3_3_raises_display_error(xvfb_display):
    result = run_python(OPEN_WINDOW, {**os.environ, "MESA_GL_VERSION_OVERRIDE": "3.0"})
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("DisplayError could not open a 64x64 window with OpenGL 3.3 core")
    assert result.stderr == ""


def test_fullscreen_at_start_returns_to_requested_size(xvfb_display):
    win = Window((200, 100), fullscreen=True, vsync=False)
    try:
        assert win.fullscreen and win.framebuffer_size == (1280, 720)
        win.toggle_fullscreen()
        win.poll()
        assert not win.fullscreen and win.framebuffer_size == (200, 100)
    finally:
        win.close()


def test_offscreen_then_window_then_offscreen_in_one_process(xvfb_display):
    code = ("import numpy as np\n"
            "from instrument.render.offscreen import Offscreen\n"
            "from instrument.render.window import Window\n"
            "from instrument.render.pipeline import FramePipeline\n"
            "makers = (lambda: Offscreen((16, 16)), lambda: Window((16, 16), vsync=False),\n"
            "          lambda: Offscreen((16, 16)))\n"
            "for make in makers:\n"
            "    target = make()\n"
            "    pipe = FramePipeline(target.ctx, (16, 16))\n"
            "    pipe.upload(np.full((16, 16, 3), 77, np.uint8))\n"
            "    pipe.render(target.fbo, (16, 16), {'hud.visible': 0})\n"
            "    print(np.frombuffer(target.fbo.read(viewport=(0, 0, 16, 16)), np.uint8).min())\n"
            "    pipe.release()\n"
            "    (target.release if hasattr(target, 'release') else target.close)()\n")
    result = run_python(code, dict(os.environ))
    assert result.stdout.split() == ["77", "77", "77"], result.stderr
