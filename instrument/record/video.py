"""Video files for re-renders: an H.264 writer (with an optional audio stream), a reader, and the row-index code.

PyAV (FFmpeg's libraries, bundled in its wheels) does the encoding. Frames are written with pts = frame number in a
1/fps time base, so a file of N frames is exactly N frames at a constant rate. The row-index code is a small strip
of black/white cells burnt into the bottom-left corner: 24 bits of row number and 8 check bits, two rows of 16
cells, each cell at least 4x4 pixels so it survives yuv420p chroma subsampling and H.264 at high quality.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from instrument.errors import InstrumentError

CODE_BITS = 32          # 24 row bits + 8 check bits
CODE_COLUMNS = 16       # cells per strip row; two strip rows
ROW_BITS = 24
CRF = "12"              # visually lossless; the code cells and fx detail survive
LAYOUTS = {1: "mono", 2: "stereo"}
AUDIO_CODECS = {".mp4": "aac", ".m4v": "aac", ".mov": "pcm_s16le", ".mkv": "pcm_s16le"}


# The frame rate as an exact fraction (29.97 -> 30000/1001), refusing nonsense.
def fps_fraction(fps: float) -> Fraction:
    if not isinstance(fps, (int, float, Fraction)) or not np.isfinite(float(fps)) or not 0 < float(fps) <= 1000:
        raise InstrumentError(f"frame rate must be a number in (0, 1000] fps, got {fps!r}")
    return Fraction(fps).limit_denominator(1001)


# The code's cell size in pixels for a frame `width` wide: 4 up to 8, so 16 cells fit in half the width.
def code_cell(width: int) -> int:
    return int(min(8, max(4, width // (2 * CODE_COLUMNS))))


def _check_byte(row: int) -> int:
    return (row ^ (row >> 8) ^ (row >> 16) ^ 0xA5) & 0xFF


def _bits(row: int) -> np.ndarray:
    word = (row & ((1 << ROW_BITS) - 1)) | (_check_byte(row) << ROW_BITS)
    return np.array([(word >> b) & 1 for b in range(CODE_BITS)], dtype=np.uint8).reshape(2, CODE_COLUMNS)


def burn_row_index(frame: np.ndarray, row: int) -> np.ndarray:
    """Draw `row` (0 <= row < 2**24) as the code strip into the bottom-left corner of uint8 [H, W, 3], in place."""
    h, w = frame.shape[:2]
    c = code_cell(w)
    if w < c * CODE_COLUMNS or h < 2 * c:
        raise InstrumentError(f"frame {w}x{h} is too small for the row-index code ({c * CODE_COLUMNS}x{2 * c})")
    cells = np.kron(_bits(row), np.ones((c, c), dtype=np.uint8)) * 255   # [2c, 16c]
    frame[h - 2 * c:, :CODE_COLUMNS * c] = cells[:, :, None]
    return frame


def read_row_index(frame_rgb: np.ndarray) -> int | None:
    """The row number burnt into a (decoded) frame, or None when there is no valid code."""
    h, w = frame_rgb.shape[:2]
    c = code_cell(w)
    if w < c * CODE_COLUMNS or h < 2 * c:
        return None
    strip = frame_rgb[h - 2 * c:, :CODE_COLUMNS * c].astype(np.float32).mean(axis=2)
    inner = strip.reshape(2, c, CODE_COLUMNS, c)[:, 1:c - 1, :, 1:c - 1]   # cell centres: edges bleed in H.264
    bits = (inner.mean(axis=(1, 3)) >= 128).astype(np.int64).ravel()
    word = int((bits << np.arange(CODE_BITS)).sum())
    row = word & ((1 << ROW_BITS) - 1)
    return row if word >> ROW_BITS == _check_byte(row) else None


class VideoWriter:
    """H.264 yuv420p at a constant `fps` into `path` (.mp4/.mov/.mkv); optional audio from a WAV file.

    `write(frame)` takes uint8 [H, W, 3]; audio is interleaved as the video advances and cut to its length.
    """

    def __init__(self, path, size: tuple[int, int], fps: float, audio_wav=None, crf: str = CRF):
        w, h = size
        if w % 2 or h % 2 or w < 16 or h < 16:
            raise InstrumentError(f"video size must be even and at least 16x16 for yuv420p, got {w}x{h}")
        self.path, self.size, self.rate = Path(path), (w, h), fps_fraction(fps)
        try:
            self.container = av.open(str(self.path), "w")
        except (av.FFmpegError, OSError, ValueError) as e:
            raise InstrumentError(f"cannot write video '{self.path}' ({e}); check the folder and suffix") from e
        self.stream = self.container.add_stream("libx264", rate=self.rate)
        self.stream.width, self.stream.height, self.stream.pix_fmt = w, h, "yuv420p"
        self.stream.time_base = 1 / self.rate
        self.stream.options = {"crf": crf, "preset": "veryfast"}
        self.audio = _AudioFeed(self.container, audio_wav, self.path.suffix.lower()) if audio_wav else None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts = self.frames
        self.container.mux(self.stream.encode(vf))
        self.frames += 1
        if self.audio is not None:
            self.audio.feed_until(self.frames / self.rate)

    def close(self) -> None:
        self.container.mux(self.stream.encode())
        if self.audio is not None:
            self.audio.finish(self.frames / self.rate)
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _AudioFeed:
    """Decodes a WAV (any format FFmpeg reads), resamples for the codec and muxes it in step with the video.

    A FIFO cuts the audio into the codec's frame size (AAC takes exactly 1024 samples per frame).
    """

    def __init__(self, container, wav_path, suffix: str):
        try:
            self.source = av.open(str(wav_path))
            src = self.source.streams.audio[0]
        except (av.FFmpegError, OSError, IndexError) as e:
            raise InstrumentError(f"cannot read audio '{wav_path}' ({e}); give a WAV file") from e
        self.frames_in = self.source.decode(src)
        self.rate, layout = src.rate, LAYOUTS.get(src.channels)  # a WAV without a channel mask says "1 channels"
        if layout is None:
            raise InstrumentError(f"audio '{wav_path}' has {src.channels} channels; give a mono or stereo WAV")
        codec = AUDIO_CODECS.get(suffix, "aac")
        self.stream = container.add_stream(codec, rate=self.rate, layout=layout)
        self.stream.format = "fltp" if codec == "aac" else "s16"
        self.resampler = av.AudioResampler(format=self.stream.format.name, layout=layout, rate=self.rate)
        self.fifo = av.AudioFifo()
        self.chunk = 1024
        self.container, self.samples = container, 0

    def feed_until(self, t_s) -> None:
        """Mux whole chunks up to `t_s` seconds of audio (the FIFO keeps the rest for later)."""
        limit = int(round(float(t_s) * self.rate))
        while self.samples + self.fifo.samples < limit + self.chunk:
            frame = next(self.frames_in, None)
            if frame is None:
                break
            for out in self.resampler.resample(frame):
                out.pts = None
                self.fifo.write(out)
        while self.samples + self.chunk <= limit and self.fifo.samples >= self.chunk:
            self._mux(self.fifo.read(self.chunk))

    def _mux(self, frame) -> None:
        frame.pts = self.samples
        frame.time_base = Fraction(1, self.rate)
        self.samples += frame.samples
        self.container.mux(self.stream.encode(frame))

    def finish(self, t_s) -> None:
        """Everything up to `t_s` (the video's end), the last partial chunk included; then flush the encoder."""
        self.feed_until(t_s)
        rest = min(self.fifo.samples, int(round(float(t_s) * self.rate)) - self.samples)
        if rest > 0:
            self._mux(self.fifo.read(rest))
        self.container.mux(self.stream.encode())
        self.source.close()


def read_video(path) -> tuple[list[np.ndarray], dict]:
    """Every frame as uint8 [H, W, 3] and {width, height, fps, frames, duration_s, audio_duration_s}."""
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(vs)]
        fps = float(vs.average_rate)
        info = {"width": vs.width, "height": vs.height, "fps": fps, "frames": len(frames),
                "duration_s": float(vs.duration * vs.time_base) if vs.duration else len(frames) / fps,
                "audio_duration_s": None}
        if container.streams.audio:
            a = container.streams.audio[0]
            info["audio_duration_s"] = float(a.duration * a.time_base) if a.duration else None
    return frames, info
