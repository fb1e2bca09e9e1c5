"""The performance window: GLFW with an OpenGL 3.3 core context wrapped by moderngl, keys as names.

GLFW is initialised on first use, from the main thread, and terminated when the last window closes. GLFW's own
error reporting (warnings/exceptions) is replaced by a callback that keeps the last error text, which goes
into the one-line `DisplayError` a failure raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import moderngl

from instrument.errors import DisplayError

try:
    import glfw
except ImportError as exc:  # pyGLFW raises ImportError when no GLFW shared library loads
    glfw = None
    _IMPORT_ERROR = str(exc).strip().splitlines()[0] if str(exc).strip() else "import glfw failed"

NO_DISPLAY = ("no display: DISPLAY (or WAYLAND_DISPLAY) is not set; use --offscreen, "
              "or start Xvfb (Xvfb :1 &) and export DISPLAY=:1")
_MODIFIER_PREFIXES = (("MOD_CONTROL", "ctrl+"), ("MOD_ALT", "alt+"), ("MOD_SHIFT", "shift+"))
_MODIFIER_KEYS = {"left_shift", "right_shift", "left_control", "right_control", "left_alt", "right_alt",
                  "left_super", "right_super"}

_last_error = ""
_windows_open = 0


# GLFW error callback: remember the text instead of warning or raising.
def _record_error(code: int, description) -> None:
    global _last_error
    text = description.decode("utf-8", "replace") if isinstance(description, bytes) else str(description)
    _last_error = f"{text} (GLFW error {code:#x})"


# Forget the last GLFW error before a call whose failure gets reported.
def _clear_error() -> None:
    global _last_error
    _last_error = ""


# Initialise GLFW (idempotent) or raise DisplayError saying why it cannot run here.
def _init_glfw() -> None:
    if glfw is None:
        raise DisplayError(f"no display: the GLFW library could not be loaded ({_IMPORT_ERROR}); "
                           "pip install glfw, or use --offscreen")
    glfw.set_error_callback(_record_error)
    _clear_error()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError(NO_DISPLAY)
    if not glfw.init():
        where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        raise DisplayError(f"no display: GLFW could not start on '{where}' ({_last_error or 'glfw.init failed'}); "
                           "check that the display server is running, or use --offscreen")


# Whether a GLFW window can be opened here, and why not when it cannot.
def display_available() -> tuple[bool, str]:
    try:
        _init_glfw()
    except DisplayError as exc:
        return False, str(exc)
    if _windows_open == 0:
        glfw.terminate()
    return True, "ok"


# The key's name as the engine sees it: 'space', 'a', 'f1', 'shift+3', 'ctrl+s'; None for unknown keys.
def key_name(key: int, mods: int = 0, scancode: int = 0) -> str | None:
    base = _key_table().get(key)
    if base is None and key == glfw.KEY_UNKNOWN and scancode:
        base = glfw.get_key_name(glfw.KEY_UNKNOWN, scancode)
        base = base.lower() if base else None
    if base is None or base in _MODIFIER_KEYS:
        return base
    prefix = "".join(text for const, text in _MODIFIER_PREFIXES if mods & getattr(glfw, const))
    return prefix + base


_KEYS: dict[int, str] = {}


# glfw.KEY_* constants by value, named in lowercase without the prefix (KEY_LAST and KEY_UNKNOWN left out).
def _key_table() -> dict[int, str]:
    if not _KEYS:
        for attr in dir(glfw):
            if attr.startswith("KEY_") and attr not in ("KEY_LAST", "KEY_UNKNOWN"):
                _KEYS.setdefault(getattr(glfw, attr), attr[4:].lower())
    return _KEYS


class Window:
    """A GLFW window with a moderngl context; `on_key(name)` is called for each key press."""

    def __init__(self, size: tuple[int, int] = (1280, 720), title: str = "instrument",
                 fullscreen: bool = False, vsync: bool = True):
        global _windows_open
        _init_glfw()
        self.vsync = vsync
        self.on_key: Callable[[str], None] | None = None
        self._win = None
        self.ctx = None
        self._windowed = (100, 100, int(size[0]), int(size[1]))  # x, y, w, h to return to from fullscreen
        try:
            self._win = self._create(int(size[0]), int(size[1]), title, fullscreen)
            _windows_open += 1
            self.ctx = self._context()
        except BaseException:
            self.close()
            raise
        glfw.set_key_callback(self._win, self._handle_key)

    # Create the GLFW window (core 3.3, forward-compatible) and make its context current.
    def _create(self, w: int, h: int, title: str, fullscreen: bool):
        glfw.default_window_hints()
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.DOUBLEBUFFER, True)
        monitor = glfw.get_primary_monitor() if fullscreen else None
        if monitor:
            mode = glfw.get_video_mode(monitor)
            glfw.window_hint(glfw.REFRESH_RATE, mode.refresh_rate)
            self._windowed = (max(0, (mode.size.width - w) // 2), max(0, (mode.size.height - h) // 2), w, h)
            w, h = mode.size.width, mode.size.height
        _clear_error()
        win = glfw.create_window(w, h, title, monitor, None)
        if not win:
            reason = _last_error or "unknown error"
            raise DisplayError(f"could not open a {w}x{h} window with OpenGL 3.3 core ({reason}); the display's "
                               "GL driver must support OpenGL 3.3 (Mesa llvmpipe does), or use --offscreen")
        if not monitor:
            self._windowed = (*glfw.get_window_pos(win), w, h)
        glfw.make_context_current(win)
        glfw.swap_interval(1 if self.vsync else 0)
        return win

    # Wrap the window's current GL context with moderngl and check it is at least 3.3.
    def _context(self) -> moderngl.Context:
        try:
            ctx = moderngl.create_context(require=330)
        except Exception as exc:  # moderngl raises ValueError for old GL, glcontext plain Exception
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DisplayError(f"the window's OpenGL context is unusable ({text}); OpenGL 3.3 core is needed, "
                               "update the GL driver (Debian: libgl1-mesa-dri) or use --offscreen") from None
        self._fbo = ctx.detect_framebuffer(0)
        self._fbo_size = self._fbo.size
        return ctx

    @property
    def fbo(self) -> moderngl.Framebuffer:
        """The default framebuffer (re-detected after a resize so its size is current)."""
        size = self.framebuffer_size
        if size != self._fbo_size:
            self._fbo = self.ctx.detect_framebuffer(0)
            self._fbo.viewport = self._fbo.scissor = (0, 0, *size)  # detection keeps the creation size
            self._fbo_size = size
        return self._fbo

    @property
    def framebuffer_size(self) -> tuple[int, int]:
        return tuple(glfw.get_framebuffer_size(self._win))

    @property
    def fullscreen(self) -> bool:
        return bool(glfw.get_window_monitor(self._win))

    @property
    def should_close(self) -> bool:
        return self._win is None or bool(glfw.window_should_close(self._win))

    @should_close.setter
    def should_close(self, value: bool) -> None:
        glfw.set_window_should_close(self._win, bool(value))

    def poll(self) -> None:
        glfw.poll_events()

    def swap(self) -> None:
        glfw.swap_buffers(self._win)

    def make_current(self) -> None:
        glfw.make_context_current(self._win)

    # Fullscreen on the primary monitor at its video mode, or back to the last windowed position and size.
    def toggle_fullscreen(self) -> None:
        if self.fullscreen:
            x, y, w, h = self._windowed
            glfw.set_window_monitor(self._win, None, x, y, w, h, 0)
        else:
            monitor = glfw.get_primary_monitor()
            if not monitor:
                return
            self._windowed = (*glfw.get_window_pos(self._win), *glfw.get_window_size(self._win))
            mode = glfw.get_video_mode(monitor)
            glfw.set_window_monitor(self._win, monitor, 0, 0, mode.size.width, mode.size.height, mode.refresh_rate)
        glfw.swap_interval(1 if self.vsync else 0)

    # GLFW key callback: translate presses (not repeats or releases) and hand the name to on_key.
    def _handle_key(self, window, key: int, scancode: int, action: int, mods: int) -> None:
        if action != glfw.PRESS or self.on_key is None:
            return
        name = key_name(key, mods, scancode)
        if name:
            self.on_key(name)

    # Release the GL context wrapper, destroy the window, and terminate GLFW after the last window.
    def close(self) -> None:
        global _windows_open
        if self.ctx is not None:
            self.ctx.release()
            self.ctx = None
        if self._win is not None:
            glfw.destroy_window(self._win)
            self._win = None
            _windows_open -= 1
        if _windows_open == 0:
            glfw.terminate()

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
