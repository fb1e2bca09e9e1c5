"""Offline re-rendering: a z-log back into a video, through the live generator path and the live shader chain.

    z-log rows (or a re-simulated conductor) -> LatentFrame -> FrameRenderer.ws -> batched synthesis
      -> FramePipeline (pixel sort, feedback, display) on an EGL Offscreen at the output size
      -> row-index code -> H.264 (PyAV), with a sidecar CSV frame -> row

`rows` mode replays exactly what was played: one output frame per row, ws bit-identical to the night's.
`events` mode re-simulates: a fresh conductor with the logged seed, stepped at the output rate, gets the
logged actions at their times and the rows' parameter vectors interpolated at each output time.
docs/rerender.md has the details and the limits.

This module holds the entry points and their option checks: `render` and `instrument render` (`main_render`).
The shots come from replay.py (rows and events), the frame loop from frames.py (synthesis, shader chain, encoders,
sidecars).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import torch

from instrument.errors import InstrumentError
from instrument.models.loader import pick_device
from instrument.record.frames import FxTrack, RenderJob, RenderResult
from instrument.record.frames import read_sidecar  # noqa: F401  (re-exported: tests/record import it from here)
from instrument.record.replay import event_shots, open_log, output_times, resolve_model, row_shots
from instrument.record.synthesis import BatchRenderer  # noqa: F401  (re-exported: tests/record import it from here)
from instrument.record.video import fps_fraction
from instrument.record.zlog import ZlogReader, logged_directions

MODES = ("rows", "events")
SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")
MAX_SIDE = 8192


# ---- inputs -----------------------------------------------------------------------------------------------------
def parse_size(text) -> tuple[int, int] | None:
    """'1280x720' or '512' (square) -> (w, h); even sides from 16 to 8192 (yuv420p halves the chroma)."""
    if text is None or isinstance(text, tuple):
        size = text
    else:
        parts = str(text).lower().split("x")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            raise InstrumentError(f"size must look like 1280x720 or 512, got '{text}'")
        size = (int(parts[0]), int(parts[-1]))
    if size is not None and not all(16 <= s <= MAX_SIDE and s % 2 == 0 for s in size):
        raise InstrumentError(f"size must have even sides from 16 to {MAX_SIDE}, got {size[0]}x{size[1]}")
    return size


# ---- the render -----------------------------------------------------------------------------------------------------
def render(log_path, out_path, size=None, fps=None, model=None, mode: str = "rows", device: str = "auto",
           batch: int | None = None, fx: bool = True, progress: bool = True, models=None, grid: bool = False, audio=None,
           code: bool = True, workers: int | None = None) -> RenderResult:
    """Re-render z-log `log_path` into video `out_path`; see the module docstring and docs/rerender.md.

    models: several checkpoints for one trajectory, side by side (`grid`) or one file each (`out-<k>-<stem>`);
    audio: None (silent), 'timbre' (the timbre voice rendered offline along the frames: instrument/record/sound.py),
        a WAV path, or a callable(log_path) -> WAV path (or None); the sound is muxed in, cut to the video's length;
    code: burn the row-index code into the bottom-left corner (the sidecar CSV is always written);
    workers: synthesis threads ahead of the GL + encode thread (default: one per CPU core on CPU, 1 on CUDA);
        0 synthesises on the calling thread, between the draws. Every setting gives the same pixels.
    """
    if mode not in MODES:
        raise InstrumentError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    out_path = _check_out(out_path)
    tile_size, dev = parse_size(size), pick_device(device)
    if batch is None:  # batch 1 takes the faster convolution path on CPU (measured: 22.9 vs 13.0 frames/s)
        batch = 8 if dev.type == "cuda" else 1
    workers = default_workers(dev) if workers is None else _check_workers(workers)
    with open_log(log_path) as reader:
        rate = float(fps_fraction(reader.header["fps_hint"] if fps is None else fps))
        loaded = [resolve_model(reader.header, m, dev) for m in (models or [model])]
        tile_size = tile_size or default_size(loaded[0].generator.img_resolution)
        shots = row_shots(reader) if mode == "rows" else event_shots(reader, rate)
        total = reader.recovered if mode == "rows" else len(output_times(reader, rate))
        job = RenderJob(loaded, dev, batch, tile_size, rate, FxTrack(reader.header, fx), grid or len(loaded) == 1, code,
                   logged_directions(reader.header), workers)
        with tempfile.TemporaryDirectory(prefix="instrument-render-") as tmp, _intra_op_threads(dev, workers):
            wav = _sound(audio, reader, mode, rate, Path(tmp), log_path)
            return job.run(shots, total, out_path, wav, progress)


def default_workers(device: torch.device) -> int:
    """CPU: one synthesis thread per core, at most 2 (measured best on 2 cores); CUDA: 1 (the GPU serialises)."""
    return 1 if device.type != "cpu" else max(1, min(2, os.cpu_count() or 1))


def _check_workers(workers) -> int:
    if not isinstance(workers, int) or workers < 0:
        raise InstrumentError(f"workers must be a whole number from 0 up, got {workers!r}")
    return workers


@contextlib.contextmanager
def _intra_op_threads(device: torch.device, workers: int):
    """With several CPU synthesis threads, each runs its convolutions on one core: frames in parallel instead of
    the pieces of one frame (a second intra-op thread per worker only oversubscribes the cores). Restored after."""
    before = torch.get_num_threads()
    if device.type == "cpu" and workers > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sound(audio, reader: ZlogReader, mode: str, rate: float, tmp: Path, log_path):
    """The WAV to mux: None, a given file, or (audio == 'timbre') the timbre voice rendered along the frames."""
    if audio is None:
        return None
    if audio != "timbre":
        return audio(log_path) if callable(audio) else audio
    from instrument.record.sound import logged_audio, write_timbre_wav
    if mode == "rows":
        return write_timbre_wav(row_shots(reader), rate, reader.header, tmp / "timbre.wav",
                                logged_audio(reader.rows()))
    return write_timbre_wav(event_shots(reader, rate), rate, reader.header, tmp / "timbre.wav")


def default_size(resolution: int) -> tuple[int, int]:
    """The generator's resolution, doubled until at least 128 (room for the row-index code)."""
    side = int(resolution)
    while side < 128:
        side *= 2
    return side, side


def _check_out(out_path) -> Path:
    out = Path(out_path)
    if out.suffix.lower() not in SUFFIXES:
        raise InstrumentError(f"output '{out}' must end in one of {', '.join(SUFFIXES)}")
    if not out.parent.is_dir():
        raise InstrumentError(f"output folder '{out.parent}' does not exist; create it first")
    return out


# ---- command line -----------------------------------------------------------------------------------------------------
class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors raise InstrumentError (printed as one line) instead of exiting."""

    def error(self, message):
        raise InstrumentError(f"{self.prog}: {message}")


def render_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="instrument render", description="Re-render a z-log to an H.264 video.")
    p.add_argument("log", help="a .zlog recording")
    p.add_argument("-o", "--output", required=True, help="video to write (.mp4, .mov, .mkv)")
    p.add_argument("--size", help="output size WxH or N (default: the generator's, at least 128)")
    p.add_argument("--fps", type=float, help="output frame rate (default: the log's fps hint)")
    p.add_argument("--model", help="generator file to render with (default: the logged one)")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="render through several checkpoints")
    p.add_argument("--grid", action="store_true", help="with --models: side by side in one video")
    p.add_argument("--mode", choices=MODES, default="rows", help="rows: exactly what was played; events: re-simulate")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, default=None, help="frames per synthesis batch (default: 8 on CUDA, 1 on CPU)")
    p.add_argument("--workers", type=int, default=None,
                   help="synthesis threads ahead of drawing and encoding (default: one per core up to 2 on CPU, 1 on "
                        "CUDA; 0: none)")
    p.add_argument("--no-fx", dest="fx", action="store_false", help="skip feedback and pixel sort")
    p.add_argument("--no-code", dest="code", action="store_false", help="do not burn the row-index code")
    sound = p.add_mutually_exclusive_group()
    sound.add_argument("--audio", metavar="WAV", help="mux this WAV's sound instead of the timbre voice's")
    sound.add_argument("--no-audio", action="store_true", help="no sound (default: the timbre voice, rendered offline)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main_render(argv: list[str] | None = None) -> int:
    """`instrument render`: sound from the timbre voice unless --audio WAV or --no-audio."""
    try:
        args = render_parser().parse_args(argv)
        if args.model and args.models:
            raise InstrumentError("give --model or --models, not both")
        if args.batch is not None and args.batch < 1:
            raise InstrumentError(f"--batch must be at least 1, got {args.batch}")
        if args.workers is not None and args.workers < 0:
            raise InstrumentError(f"--workers must be 0 or more, got {args.workers}")
        hook = None if args.no_audio else args.audio or "timbre"
        if args.audio and not Path(args.audio).is_file():
            raise InstrumentError(f"audio file '{args.audio}' does not exist")
        result = render(args.log, args.output, size=args.size, fps=args.fps, model=args.model, mode=args.mode,
                        device=args.device, batch=args.batch, fx=args.fx, progress=not args.quiet,
                        models=args.models, grid=args.grid, audio=hook, code=args.code, workers=args.workers)
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    for path in result.paths:
        print(f"wrote {path}: {result.frames} frames, {result.size[0]}x{result.size[1]} at {result.fps:g} fps "
              f"({result.fps_rendered:.1f} frames/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main_render())
