"""The shader chain: upload a generator frame, pixel-sort it, feed it back, letterbox it onto a framebuffer, HUD.

Everything before the display stage runs at the frame's resolution in preallocated ping-pong framebuffers; a
stage whose amount is 0 is skipped. Per frame only uniforms change: no GL object is created or released
unless the frame size changes or the HUD text changes size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import moderngl
import numpy as np

from instrument.errors import DisplayError
from instrument.params import PARAMS
from instrument.render.hud import HudTexture
from instrument.render.shaders import shader_source

FX_DEFAULTS = {p.name: p.default for p in PARAMS if p.group in ("fx", "hud")}
# fx.pixelsort.direction -> (axis in texels, descending along +axis); texel y = image row, so +y is "down".
SORT_DIRECTIONS = {0: ((1, 0), False), 1: ((1, 0), True), 2: ((0, 1), False), 3: ((0, 1), True)}
HUD_MARGIN = 8  # pixels from the top-left corner of the viewport
SORT_FUSE = 8   # odd-even passes fused into one pixel-sort draw (K in pixelsort.frag.glsl)


# Aspect-correct placement (x, y, w, h) of a frame inside a viewport: centred, bars on two sides.
def letterbox(frame_size: tuple[int, int], viewport_size: tuple[int, int]) -> tuple[int, int, int, int]:
    fw, fh = frame_size
    vw, vh = viewport_size
    scale = min(vw / fw, vh / fh)
    w, h = max(1, round(fw * scale)), max(1, round(fh * scale))
    return (vw - w) // 2, (vh - h) // 2, w, h


# The unrolled exchanges of k fused odd-even passes on a window of 2k+2 slots (only those that reach the
# fragment's own slot k or k+1), as GLSL for pixelsort.frag.glsl's NETWORK; pass s runs when u_steps > s.
def sort_network(k: int) -> str:
    need, steps = {k, k + 1}, []
    for s in reversed(range(k)):
        pairs = [(j, j + 1) for j in range(s & 1, 2 * k + 1, 2) if j in need or j + 1 in need]
        need.update(x for pair in pairs for x in pair)
        steps.append(f"if (u_steps > {s}) {{ " + " ".join(f"CX({a}, {b})" for a, b in pairs) + " }")
    return " ".join(reversed(steps))


class _Target:
    """A texture with a framebuffer around it, rendered into at the frame's resolution."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], dtype: str):
        self.texture = ctx.texture(size, 4, dtype=dtype)
        self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.texture.repeat_x = self.texture.repeat_y = False
        self.fbo = ctx.framebuffer(color_attachments=[self.texture])

    def release(self) -> None:
        self.fbo.release()
        self.texture.release()


class FramePipeline:
    """Frame texture -> pixel sort -> feedback -> display (+ HUD), bound to one moderngl context."""

    def __init__(self, ctx: moderngl.Context, frame_size: tuple[int, int]):
        self.ctx = ctx
        self.frame_size = (0, 0)
        self.sort_passes = 0  # passes the last render ran (0 when skipped or reused)
        self.sort_pass_limit: int | None = None  # optional cap on passes per new frame (None: as amount says)
        self._vert = shader_source("fullscreen.vert.glsl")
        self._display = self._program("display.frag.glsl", u_image=0)
        self._feedback = self._program("feedback.frag.glsl", u_current=0, u_previous=1)
        self._sort = self._program("pixelsort.frag.glsl", {"K": SORT_FUSE, "NETWORK": sort_network(SORT_FUSE)}, u_src=0)
        self._hud_prog = self._program("hud.frag.glsl", u_hud=0)
        self._hud = HudTexture(ctx)
        self._frame_objects: list = []
        self._allocate(frame_size)

    # Compile one fragment stage (with #defines) and the shared vertex stage; returns (program, vertex array).
    def _program(self, frag_name: str, defines: Mapping[str, object] | None = None, **samplers: int):
        version, _, body = shader_source(frag_name).partition("\n")
        lines = [f"#define {name} {value}" for name, value in (defines or {}).items()]
        try:
            prog = self.ctx.program(vertex_shader=self._vert, fragment_shader="\n".join([version, *lines, body]))
        except moderngl.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "compile error"
            raise DisplayError(f"shader '{frag_name}' failed to compile ({first}); "
                               "the GL driver needs GLSL 330") from None
        for name, unit in samplers.items():
            prog[name].value = unit
        return prog, self.ctx.vertex_array(prog, [])

    # (Re)create every frame-sized object; feedback history starts empty.
    def _allocate(self, frame_size: tuple[int, int], components: int = 3) -> None:
        for obj in self._frame_objects:
            obj.release()
        w, h = int(frame_size[0]), int(frame_size[1])
        if w < 1 or h < 1:
            raise ValueError(f"frame size must be positive, got {frame_size}")
        self.frame_size = (w, h)
        self._source = self.ctx.texture((w, h), components, alignment=1)  # 4 (RGBA8) for CUDA-GL interop
        self._source.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._source.repeat_x = self._source.repeat_y = False
        self._sorted = [_Target(self.ctx, (w, h), "f1"), _Target(self.ctx, (w, h), "f1")]
        self._history = [_Target(self.ctx, (w, h), "f2"), _Target(self.ctx, (w, h), "f2")]
        self._frame_objects = [self._source, *self._sorted, *self._history]
        self._has_frame = False
        self._upload_count = 0
        self._sort_key = None
        self._sort_result = self._source
        self._history_valid = False

    # Copy a uint8 [H, W, 3] frame (row 0 = top) into the frame texture; reallocates only on a size change.
    def upload(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame must be uint8 [H, W, 3], got {frame.dtype} {tuple(frame.shape)}")
        size = (frame.shape[1], frame.shape[0])
        if size != self.frame_size or self._source.components != 3:
            self._allocate(size)
        self._source.write(np.ascontiguousarray(frame), alignment=1)
        self._has_frame = True
        self._upload_count += 1

    # The frame texture as RGBA8 of `size` (width, height) for a writer outside GL (render/interop.py); the
    # writer calls `written()` after each frame. Reallocates only on a size or format change.
    def rgba_source(self, size: tuple[int, int]) -> moderngl.Texture:
        if tuple(size) != self.frame_size or self._source.components != 4:
            self._allocate(size, components=4)
        return self._source

    def written(self) -> None:
        self._has_frame = True
        self._upload_count += 1

    # Replace the HUD text (rendered with Pillow only when it changes).
    def set_hud(self, lines: list[str]) -> None:
        self._hud.set(lines)

    # Run the chain and draw into `fbo` (letterboxed into viewport_size). dt is accepted for the engine's
    # convenience; fx values are per frame, as the parameter table documents.
    def render(self, fbo, viewport_size: tuple[int, int], fx: Mapping[str, float], dt: float = 0.0) -> None:
        ctx = self.ctx
        ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        vw, vh = int(viewport_size[0]), int(viewport_size[1])
        image = None
        if self._has_frame:
            image = self._feedback_stage(self._pixelsort_stage(fx), fx)
        fbo.viewport = fbo.scissor = (0, 0, vw, vh)  # a framebuffer detected before a resize keeps its old size
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 1.0, viewport=(0, 0, vw, vh))
        if image is not None:
            self._draw(fbo, self._display, image, letterbox(self.frame_size, (vw, vh)))
        if self._hud.texture is not None and _fx(fx, "hud.visible") >= 0.5:
            self._draw_hud(fbo, (vw, vh))
        fbo.viewport = (0, 0, vw, vh)

    # Bind `texture` to unit 0 and draw a stage into `fbo` over `viewport`.
    def _draw(self, fbo, stage, texture, viewport) -> None:
        prog, vao = stage
        fbo.viewport = viewport
        fbo.use()
        texture.use(0)
        vao.render(moderngl.TRIANGLES, vertices=3)

    # Odd-even transposition passes over the frame; reuses last result when frame and settings are unchanged.
    def _pixelsort_stage(self, fx: Mapping[str, float]):
        amount = _fx(fx, "fx.pixelsort.amount")
        self.sort_passes = 0
        if amount <= 0.0:
            return self._source
        (ax, ay), descending = SORT_DIRECTIONS[int(round(_fx(fx, "fx.pixelsort.direction"))) % 4]
        side = self.frame_size[0] if ax else self.frame_size[1]
        passes = max(1, math.ceil(min(amount, 1.0) * side))
        if self.sort_pass_limit is not None:
            passes = max(1, min(passes, int(self.sort_pass_limit)))
        threshold = _fx(fx, "fx.pixelsort.threshold")
        key = (self._upload_count, passes, threshold, ax, descending)
        if key == self._sort_key:
            return self._sort_result
        prog, vao = self._sort
        prog["u_axis"].value = (ax, ay)
        prog["u_threshold"].value = threshold
        prog["u_descending"].value = descending
        parity, steps = prog["u_parity"], prog["u_steps"]
        src = self._source
        for draw, first in enumerate(range(0, passes, SORT_FUSE)):
            dst = self._sorted[draw & 1]
            parity.value = first & 1
            steps.value = min(SORT_FUSE, passes - first)
            dst.fbo.use()
            src.use(0)
            vao.render(moderngl.TRIANGLES, vertices=3)
            src = dst.texture
        self.sort_passes, self._sort_key, self._sort_result = passes, key, src
        return src

    # out = mix(current, previous output zoomed/rotated, amount); amount 0 skips and forgets the history.
    def _feedback_stage(self, current, fx: Mapping[str, float]):
        amount = _fx(fx, "fx.feedback.amount")
        if amount <= 0.0:
            self._history_valid = False
            return current
        prev, out = self._history
        prog, vao = self._feedback
        prog["u_amount"].value = min(amount, 1.0) if self._history_valid else 0.0
        prog["u_zoom"].value = max(_fx(fx, "fx.feedback.zoom"), 1e-3)
        prog["u_rotate"].value = math.radians(_fx(fx, "fx.feedback.rotate"))
        prog["u_aspect"].value = self.frame_size[0] / self.frame_size[1]
        out.fbo.use()
        current.use(0)
        prev.texture.use(1)
        vao.render(moderngl.TRIANGLES, vertices=3)
        self._history = [out, prev]
        self._history_valid = True
        return out.texture

    # The HUD box at the top-left, scaled by whole pixels on tall viewports, alpha-blended (target alpha kept).
    def _draw_hud(self, fbo, viewport_size: tuple[int, int]) -> None:
        tex = self._hud.texture
        scale = max(1, viewport_size[1] // 720)
        w, h = tex.width * scale, tex.height * scale
        ctx = self.ctx
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE)
        self._draw(fbo, self._hud_prog, tex, (HUD_MARGIN, viewport_size[1] - HUD_MARGIN - h, w, h))
        ctx.disable(moderngl.BLEND)
        ctx.blend_func = moderngl.DEFAULT_BLENDING

    # Free every GL object the pipeline owns (the context stays the caller's).
    def release(self) -> None:
        for obj in self._frame_objects:
            obj.release()
        self._frame_objects = []
        for prog, vao in (self._display, self._feedback, self._sort, self._hud_prog):
            vao.release()
            prog.release()
        self._hud.release()
        self._has_frame = False


# One fx value, falling back to the parameter table's default when the engine leaves it out.
def _fx(fx: Mapping[str, float], name: str) -> float:
    return float(fx.get(name, FX_DEFAULTS[name]))
