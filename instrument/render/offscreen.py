"""A headless render target: an EGL OpenGL context (no display needed) with a framebuffer to draw into."""

from __future__ import annotations

import ctypes
import ctypes.util

import moderngl
import numpy as np

from instrument.errors import DisplayError

EGL_HINT = "install Mesa EGL (Debian: apt install libegl1 libgl1-mesa-dri)"


class Offscreen:
    """An EGL standalone context and an RGBA framebuffer of `size`; read() returns what a screen would show."""

    def __init__(self, size: tuple[int, int] = (1280, 720)):
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 1 or self.size[1] < 1:
            raise ValueError(f"offscreen size must be positive, got {size}")
        try:
            self.ctx = moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as exc:  # glcontext raises bare Exception / OSError / ValueError
            reason = _first_line(exc)
            raise DisplayError(f"EGL: could not create an OpenGL 3.3 context ({reason}); {EGL_HINT}") from None
        self._color = self.ctx.renderbuffer(self.size, 4)
        self.fbo = self.ctx.framebuffer(color_attachments=[self._color])
        self.framebuffer_size = self.size

    # Make this context current again (needed only when another GL context was made current meanwhile).
    def make_current(self) -> None:
        self.ctx.__enter__()

    # The framebuffer as uint8 [H, W, 3], row 0 = top of the picture.
    def read(self) -> np.ndarray:
        data = self.fbo.read(viewport=(0, 0, *self.size), components=3, alignment=1)
        pixels = np.frombuffer(data, dtype=np.uint8).reshape(self.size[1], self.size[0], 3)
        return np.ascontiguousarray(pixels[::-1])

    def release(self) -> None:
        if self.ctx is None:
            return
        self.fbo.release()
        self._color.release()
        self.ctx.release()
        self.ctx = None
        _unbind_egl()

    def __enter__(self) -> Offscreen:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# Leave no EGL context current on this thread: Mesa's GLX then refuses glXMakeCurrent (X error BadAccess,
# which ends the process), so a Window opened after an Offscreen needs this. Best effort: no libEGL, no-op.
def _unbind_egl() -> None:
    try:
        egl = ctypes.CDLL(ctypes.util.find_library("EGL") or "libEGL.so.1")
    except OSError:
        return
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    egl.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
    display = egl.eglGetCurrentDisplay()
    if display:
        egl.eglMakeCurrent(display, None, None, None)


# The first line of an exception's text, or its type when it has none.
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
