"""Heads-up display text: lines rendered with Pillow into an RGBA image, uploaded to a texture on change."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_PX = 13                 # FreeType size of Pillow's default font (older Pillow: its fixed bitmap font)
PADDING = 6                  # pixels between the box edge and the text
BOX_RGBA = (0, 0, 0, 160)    # translucent dark box behind the text
TEXT_RGBA = (255, 255, 255, 255)

_font = None


# Pillow's built-in font, loaded once (a scalable one where Pillow has FreeType).
def _default_font():
    global _font
    if _font is None:
        try:
            _font = ImageFont.load_default(size=FONT_PX)
        except (TypeError, ImportError, OSError):
            _font = ImageFont.load_default()
    return _font


# The text box as uint8 RGBA [H, W, 4], row 0 = top; None for no text.
def render_text(lines: list[str]) -> np.ndarray | None:
    text = "\n".join(lines)
    if not text.strip():
        return None
    font = _default_font()
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=font, spacing=3)
    size = (right - min(left, 0) + 2 * PADDING, bottom - min(top, 0) + 2 * PADDING)
    image = Image.new("RGBA", size, BOX_RGBA)
    ImageDraw.Draw(image).multiline_text((PADDING - min(left, 0), PADDING - min(top, 0)), text,
                                         font=font, fill=TEXT_RGBA, spacing=3)
    return np.asarray(image, dtype=np.uint8)


class HudTexture:
    """The HUD's GL texture; re-rendered only when the lines change."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.texture = None
        self._lines: list[str] | None = None

    # Re-render and upload when `lines` differ from the last call; reuse the texture when the size fits.
    def set(self, lines: list[str]) -> None:
        lines = [str(line) for line in lines]
        if lines == self._lines:
            return
        self._lines = lines
        pixels = render_text(lines)
        if pixels is None:
            self._drop()
            return
        size = (pixels.shape[1], pixels.shape[0])
        if self.texture is None or self.texture.size != size:
            self._drop()
            self.texture = self.ctx.texture(size, 4, alignment=1)
            self.texture.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
        self.texture.write(np.ascontiguousarray(pixels), alignment=1)

    def _drop(self) -> None:
        if self.texture is not None:
            self.texture.release()
            self.texture = None

    def release(self) -> None:
        self._drop()
        self._lines = None
