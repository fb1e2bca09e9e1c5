"""The default image corpus: every emoji of the Noto Color Emoji font, one centred glyph per image.

Noto Color Emoji (Google, SIL Open Font License 1.1) is Debian's `fonts-noto-color-emoji`. Its colour bitmaps
exist at one size, 109 px (advance 136 px), which Pillow renders with `embedded_color=True`.

Which sequences render as one glyph depends on Pillow's text layout (checked with Pillow 13):
* BASIC layout draws codepoint by codepoint: a flag, a skin tone or a ZWJ family comes out as 2-4 glyphs side by
  side, so only single codepoints are usable.
* RAQM layout (HarfBuzz; `PIL.features.check('raqm')`) applies the font's ligatures: flags, keycaps, skin-tone
  sequences and ZWJ sequences each render as one glyph. They are found by trial -- a candidate sequence is kept
  when it lays out as exactly one glyph advance and draws something.
Missing codepoints have an empty bounding box and are skipped. The order is fixed (single codepoints ascending,
then keycaps, flags, skin tones, ZWJ sequences), so a corpus is the same on every machine with the same font and
layout engine; both are part of the cache key.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from instrument.train.data import DatasetError, check_resolution, load_cache, save_cache

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FONT_SIZE = 109  # the bitmap strike's only size
FILL = 0.875  # the glyph's longer side covers this fraction of the image
ZWJ, VS16, KEYCAP = "\u200d", "\ufe0f", "\u20e3"
SKIN_TONES = [chr(c) for c in range(0x1F3FB, 0x1F400)]
SINGLE_RANGES = [(0x00A9, 0x00AE), (0x203C, 0x3299), (0x1F000, 0x1FAFF)]  # where emoji codepoints live
PEOPLE = ["\U0001F9D1", "\U0001F468", "\U0001F469"]  # person, man, woman: bases of ZWJ professions
FAMILY = ["\U0001F468", "\U0001F469", "\U0001F467", "\U0001F466"]  # man, woman, girl, boy
GENDER_SIGNS = ["\u2640" + VS16, "\u2642" + VS16]
OTHER_ZWJ = [  # ZWJ sequences that are not person + object, listed from Unicode's emoji data by name
    "\U0001F43B" + ZWJ + "\u2744" + VS16, "\U0001F415" + ZWJ + "\U0001F9BA", "\U0001F408" + ZWJ + "\u2B1B",
    "\U0001F426" + ZWJ + "\u2B1B", "\U0001F426" + ZWJ + "\U0001F525", "\U0001F636" + ZWJ + "\U0001F32B" + VS16,
    "\U0001F62E" + ZWJ + "\U0001F4A8", "\U0001F635" + ZWJ + "\U0001F4AB", "\u2764" + VS16 + ZWJ + "\U0001F525",
    "\u2764" + VS16 + ZWJ + "\U0001FA79", "\U0001F3F3" + VS16 + ZWJ + "\U0001F308",
    "\U0001F3F3" + VS16 + ZWJ + "\u26A7" + VS16, "\U0001F3F4" + ZWJ + "\u2620" + VS16,
    "\U0001F441" + VS16 + ZWJ + "\U0001F5E8" + VS16, "\U0001F642" + ZWJ + "\u2194" + VS16,
    "\U0001F642" + ZWJ + "\u2195" + VS16, "\U0001F34B" + ZWJ + "\U0001F7E9", "\U0001F344" + ZWJ + "\U0001F7EB",
    "\u26D3" + VS16 + ZWJ + "\U0001F4A5",
]
UNKNOWN_FLAG = "\U0001F1E6\U0001F1E6"  # 'AA' is no region: the font draws its '?' flag
SUBDIVISION_FLAGS = ["gbeng", "gbsct", "gbwls"]


class EmojiFont:
    """The font plus the checks that tell one drawn glyph from a missing or multi-glyph sequence."""

    def __init__(self, path: Path = FONT_PATH):
        if not path.is_file():
            raise DatasetError(f"emoji font '{path}' not found; install it with "
                               f"'apt-get install fonts-noto-color-emoji'")
        self.layout = "raqm" if features.check("raqm") else "basic"
        engine = ImageFont.Layout.RAQM if self.layout == "raqm" else ImageFont.Layout.BASIC
        self.font = ImageFont.truetype(str(path), FONT_SIZE, layout_engine=engine)
        self.advance = self.font.getlength("\U0001F600")  # one glyph's advance (136 px)
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def is_one_glyph(self, text: str) -> bool:
        left, top, right, bottom = self.font.getbbox(text)
        return bottom > top and right > left and self.font.getlength(text) <= 1.05 * self.advance

    def glyph_bytes(self, text: str) -> bytes:
        """The glyph's RGBA pixels at the font's size (to recognise the font's fallback '?' flag)."""
        left, top, right, bottom = self.font.getbbox(text)
        glyph = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((-left, -top), text, font=self.font, embedded_color=True)
        return glyph.tobytes()

    def render(self, text: str, resolution: int, background: tuple[int, int, int]) -> np.ndarray:
        """[resolution, resolution, 3] uint8: the glyph centred on `background`, longer side FILL x the size."""
        left, top, right, bottom = self.font.getbbox(text)
        glyph = Image.frombytes("RGBA", (right - left, bottom - top), self.glyph_bytes(text))
        side = int(round(max(glyph.size) / FILL))
        canvas = Image.new("RGB", (side, side), background)
        canvas.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2), glyph)  # alpha over bg
        return np.asarray(canvas.resize((resolution, resolution), Image.Resampling.LANCZOS))


def _singles(font: EmojiFont) -> list[str]:
    cps = itertools.chain.from_iterable(range(a, b + 1) for a, b in SINGLE_RANGES)
    return [chr(c) for c in cps if chr(c) not in SKIN_TONES and font.is_one_glyph(chr(c))]


def _sequences(font: EmojiFont, singles: list[str]) -> list[str]:
    """Multi-codepoint emoji that the layout engine draws as one glyph, in a fixed order."""
    keycaps = [k + VS16 + KEYCAP for k in "#*0123456789"]
    flags = [chr(0x1F1E6 + a) + chr(0x1F1E6 + b) for a in range(26) for b in range(26)]
    tags = ["\U0001F3F4" + "".join(chr(0xE0000 + ord(c)) for c in name) + "\U000E007F" for name in SUBDIVISION_FLAGS]
    toned = [s + t for s in singles for t in SKIN_TONES]
    people = [p + ZWJ + s for p in PEOPLE for s in singles] + [s + ZWJ + g for s in singles for g in GENDER_SIGNS]
    families = [ZWJ.join(f) for n in (2, 3, 4) for f in itertools.product(FAMILY, repeat=n)]
    unknown = font.glyph_bytes(UNKNOWN_FLAG)
    flags = [f for f in flags + tags if font.is_one_glyph(f) and font.glyph_bytes(f) != unknown]
    candidates = keycaps + flags + toned + people + families + OTHER_ZWJ
    found = [c for c in dict.fromkeys(candidates) if font.is_one_glyph(c)]
    toned_people = [s[0] + t + s[1:] for s in found if ZWJ in s and s[0] in PEOPLE for t in SKIN_TONES]
    return found + [c for c in toned_people if font.is_one_glyph(c)]


def emoji_list(font: EmojiFont | None = None) -> list[str]:
    """Every emoji the font draws as one glyph under the available layout, in a deterministic order."""
    font = font or EmojiFont()
    singles = _singles(font)
    return singles + (_sequences(font, singles) if font.layout == "raqm" else [])


def build_dataset(out_dir: str | Path | None, resolution: int,
                  background: tuple[int, int, int] = (255, 255, 255), font_path: Path = FONT_PATH,
                  limit: int | None = None) -> np.ndarray:
    """The emoji corpus as [N, resolution, resolution, 3] uint8, cached as .npz in `out_dir` when given.

    `limit` keeps only the first `limit` emoji (tests and quick looks).
    """
    check_resolution(resolution)
    font = EmojiFont(font_path)
    bg = "".join(f"{c:02x}" for c in background)
    name = f"emoji-{font.digest}-{font.layout}-{resolution}px-bg{bg}" + (f"-first{limit}" if limit else "") + ".npz"
    cache = Path(out_dir) / name if out_dir is not None else None
    if cache is not None and cache.is_file():
        return load_cache(cache)
    texts = emoji_list(font)[:limit]
    images = np.stack([font.render(t, resolution, background) for t in texts])
    if cache is not None:
        save_cache(cache, images, {"source": "emoji", "layout": font.layout, "count": len(texts)})
    return images


def main(argv: list[str] | None = None) -> int:
    """python -m instrument.train.emoji OUT_DIR [RESOLUTION]: build (or reuse) the cached corpus."""
    args = sys.argv[1:] if argv is None else argv
    out_dir, resolution = args[0], int(args[1]) if len(args) > 1 else 128
    images = build_dataset(out_dir, resolution)
    print(f"{len(images)} emoji at {resolution}x{resolution} in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
