"""Offline re-rendering: a z-log back into a video, through the live generator path and the live shader chain.

    z-log rows (or a re-simulated conductor) -> LatentFrame -> FrameRenderer.ws -> batched synthesis
      -> FramePipeline (pixel sort, feedback, display) on an EGL Offscreen at the output size
      -> row-index code -> H.264 (PyAV), with a sidecar CSV frame -> row

`rows` mode replays exactly what was played: one output frame per row, ws bit-identical to the night's.
`events` mode re-simulates: a fresh conductor with the logged seed, stepped at the output rate, gets the
logged actions at their times and the rows' parameter vectors interpolated at each output time.
docs/rerender.md has the details and the limits.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from instrument.errors import InstrumentError, ModelError
from instrument.latent.conductor import Action, Conductor, LatentFrame
from instrument.models.convert import sha256
from instrument.models.loader import LoadedModel, bundled_weights, load_model, pick_device
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.params import PARAMS, ParamStore
from instrument.record.conform import black_mask
from instrument.record.synthesis import BatchRenderer, Synthesised, SynthesisPool
from instrument.record.video import VideoWriter, burn_row_index, fps_fraction, read_row_index  # noqa: F401
from instrument.record.zlog import ZlogReader, logged_directions

MODES = ("rows", "events")
SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")
MAX_SIDE = 8192
FX_KEYS = tuple(p.name for p in PARAMS if p.group in ("fx", "hud"))   # what the engine hands the pipeline
FX_OFF = {"fx.feedback.amount": 0.0, "fx.pixelsort.amount": 0.0}      # --no-fx: display stage only


@dataclass
class Shot:
    """One output frame's inputs: the generator's LatentFrame, the parameter vector (log order), the row."""
    latent: LatentFrame
    params: np.ndarray   # [n_params] float64, header `params` order
    row: int             # recovered row number this frame shows (events mode: the row at or before its time)
    dt_s: float          # time since the previous output frame (s), for the fx smoothing
    black: float = 0.0   # conform black level: 0 picture, 1 black (conform.black_mask)


@dataclass
class RenderResult:
    paths: list[Path]       # one video, or one per model without a grid
    sidecars: list[Path]    # frame -> row CSV next to each video
    frames: int
    size: tuple[int, int]   # of each video
    fps: float
    seconds: float          # wall time of the whole render
    fps_rendered: float     # throughput: output frames per wall second
    first_frame_s: float = 0.0   # wall time to the first frame drawn: model warm-up (tracing) and pipeline fill

    @property
    def fps_steady(self) -> float:
        """Throughput after the first frame: what a long render approaches."""
        return (self.frames - 1) / max(self.seconds - self.first_frame_s, 1e-9) if self.frames > 1 else 0.0


# ---- inputs -----------------------------------------------------------------------------------------------------
def open_log(path) -> ZlogReader:
    reader = ZlogReader(path)
    if reader.recovered == 0:
        reader.close()
        raise InstrumentError(f"z-log '{path}' has no rows to render; was anything played while recording?")
    return reader


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


def resolve_model(header: dict, spec, device: torch.device) -> LoadedModel:
    """The model to render with: `spec` (a path, any snapshot) or else the logged one when it can be found."""
    logged = header["model"]
    if isinstance(spec, LoadedModel):
        loaded = spec
    elif spec is None:
        return _logged_model(logged, device)
    else:
        loaded = load_model(str(spec), device)
    G = loaded.generator
    if (G.z_dim, G.num_ws) != (header["z_dim"], header["num_ws"]):
        raise ModelError(f"model '{spec}' has z_dim {G.z_dim} / num_ws {G.num_ws} but the z-log needs "
                         f"z_dim {header['z_dim']} / num_ws {header['num_ws']}; pick a snapshot of the same network")
    return loaded


def _logged_model(logged: dict, device: torch.device) -> LoadedModel:
    sha = logged["sha256"]
    if sha.startswith("random:"):  # an untrained generator is rebuilt exactly from its config and seed
        config = GeneratorConfig.from_dict(logged["config"])
        G = make_generator(config, int(sha.split(":", 1)[1])).to(device)
        return LoadedModel(G, logged["name"], sha, config, trained=False)
    bundled = bundled_weights()
    if bundled is not None and sha256(bundled) == sha:
        return load_model(None, device)
    raise ModelError(f"the z-log was played with model '{logged['name']}' (sha256 {sha[:12]}...), which is not "
                     "the bundled one; pass --model PATH to that file or to any snapshot of it")


# ---- rows and events ----------------------------------------------------------------------------------------------
def row_shots(reader: ZlogReader):
    """Rows mode: every recovered row as it was played."""
    t, black = reader.rows()["t"], black_mask(reader)
    for i in range(reader.recovered):
        yield Shot(reader.latent_frame(i), reader.rows()["params"][i], i, float(t[i] - t[i - 1]) if i else 0.0,
                   float(black[i]))


def output_times(reader: ZlogReader, fps: float) -> np.ndarray:
    """Events mode: conductor times of the output frames, from the first row's t at 1/fps steps to the last row."""
    t = reader.rows()["t"]
    n = int(math.floor(float(t[-1] - t[0]) * fps + 1e-6)) + 1
    return t[0] + np.arange(n) / fps


def logged_actions(reader: ZlogReader) -> list[tuple[float, Action]]:
    """(conductor time, Action) for every logged performer action: its own t, else the t of the frame it preceded."""
    rows = reader.rows()
    out = []
    for e in reader.events():
        if "action" not in e.data:
            continue  # parameter changes: the rows carry every parameter value
        when = e.t
        if not math.isfinite(when):
            k = int(np.searchsorted(rows["index"], max(e.frame, 0)))
            when = float(rows["t"][min(k, len(rows) - 1)]) if e.frame >= 0 else -math.inf
        out.append((when, Action(str(e.data["action"]), tuple(e.data.get("args", ())))))
    return sorted(out, key=lambda pair: pair[0])


def event_shots(reader: ZlogReader, fps: float):
    """Events mode: a fresh conductor with the logged seed, stepped at `fps`, fed the logged actions and the
    rows' parameters interpolated at each output time (floats linearly, the rest held from the row before)."""
    h, rows = reader.header, reader.rows()
    store = ParamStore(PARAMS)
    slots, cols = _shared_params(h, store)
    params_at = _param_interpolator(h, rows)
    store.values[slots] = params_at(rows["t"][0])[cols]
    conductor = Conductor(store, h["z_dim"], h["num_ws"], h["seed"])
    actions, next_action, t_prev, black = logged_actions(reader), 0, 0.0, black_mask(reader)
    for t in output_times(reader, fps):
        while next_action < len(actions) and actions[next_action][0] <= t + 1e-9:
            conductor.post(actions[next_action][1])
            next_action += 1
        values = params_at(t)
        store.values[slots] = values[cols]
        row = max(int(np.searchsorted(rows["t"], t, side="right")) - 1, 0)
        yield Shot(conductor.step(float(t), float(t - t_prev)), values, row, float(t - t_prev), float(black[row]))
        t_prev = t


def _shared_params(header: dict, store: ParamStore) -> tuple[np.ndarray, np.ndarray]:
    names = [p["name"] for p in header["params"]]
    shared = [n for n in names if n in store.index]
    return np.array([store.index[n] for n in shared], int), np.array([names.index(n) for n in shared], int)


def _param_interpolator(header: dict, rows: np.ndarray):
    t, values = rows["t"], rows["params"]
    is_float = np.array([p["kind"] == "float" for p in header["params"]])

    def at(time_s: float) -> np.ndarray:
        k = int(np.clip(np.searchsorted(t, time_s, side="right") - 1, 0, len(t) - 1))
        if k + 1 >= len(t) or t[k + 1] <= t[k]:
            return values[k].copy()
        u = min(max((time_s - t[k]) / (t[k + 1] - t[k]), 0.0), 1.0)
        return np.where(is_float, values[k] + u * (values[k + 1] - values[k]), values[k])
    return at


# ---- frames ---------------------------------------------------------------------------------------------------------
class FxTrack:
    """The fx values the display used: logged (raw) values through the engine's one-pole smoothing."""

    def __init__(self, header: dict, enabled: bool):
        names = [p["name"] for p in header["params"]]
        specs = {p.name: p for p in PARAMS}
        self.cols = {k: names.index(k) for k in FX_KEYS if k in names}
        self.tau = {k: specs[k].smoothing_s for k in self.cols}
        self.enabled, self.values = enabled, None

    def step(self, params: np.ndarray, dt_s: float) -> dict:
        raw = {k: float(params[c]) for k, c in self.cols.items()}
        if self.values is None:
            self.values = raw
        for k, v in raw.items():
            alpha = 1.0 if self.tau[k] <= 0 else 1.0 - math.exp(-max(dt_s, 0.0) / self.tau[k])
            self.values[k] += alpha * (v - self.values[k])
        return dict(self.values) if self.enabled else {**self.values, **FX_OFF}


class Screen:
    """One model's shader chain on the shared offscreen context (its own feedback history)."""

    def __init__(self, offscreen, frame_size: tuple[int, int]):
        from instrument.render.pipeline import FramePipeline  # GL only once a context exists
        self.offscreen, self.pipeline = offscreen, FramePipeline(offscreen.ctx, frame_size)

    def show(self, pixels: np.ndarray, fx: dict, dt_s: float) -> np.ndarray:
        self.pipeline.upload(pixels)
        self.pipeline.render(self.offscreen.fbo, self.offscreen.size, fx, dt_s)
        return self.offscreen.read()


class Progress:
    """A one-line bar on stderr, redrawn at most 5 times a second; `rate` is frames per wall second."""

    def __init__(self, total: int | None, enabled: bool, label: str = "render"):
        self.total, self.enabled, self.label = total, enabled, label
        self.done, self.start, self._drawn, self.first_s = 0, time.perf_counter(), 0.0, 0.0

    @property
    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.start, 1e-9)

    def add(self, n: int) -> None:
        now = time.perf_counter()
        if self.done == 0:
            self.first_s = now - self.start
        self.done += n
        if self.enabled and (now - self._drawn > 0.2 or self.done == self.total):
            self._drawn = now
            frac = self.done / self.total if self.total else 0.0
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r{self.label} {self.done}/{self.total or '?'} [{bar:<30}] {self.rate:.1f} fps")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{self.label} {self.done} frames in {time.perf_counter() - self.start:.1f} s "
                             f"({self.rate:.1f} fps){' ' * 20}\n")


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
        job = _Job(loaded, dev, batch, tile_size, rate, FxTrack(reader.header, fx), grid or len(loaded) == 1, code,
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


def _chunks(shots, n: int):
    chunk = []
    for shot in shots:
        chunk.append(shot)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Job:
    """One render: models x (generator, shader chain) -> one grid video or one video per model.

    Synthesis runs on `workers` threads (SynthesisPool) ahead of this thread, which keeps GL (the EGL context is
    current here) and the encoders; workers=0 synthesises here, between the draws.
    """

    def __init__(self, loaded, device, batch, tile_size, rate, fx_track, one_file: bool, code: bool,
                 directions: np.ndarray | None = None, workers: int = 0):
        self.loaded, self.device, self.batch, self.tile = loaded, device, max(1, int(batch)), tile_size
        self.directions = directions  # [NUM_KNOBS, w_dim] as logged, or None (the knobs at zero)
        self.rate, self.fx, self.one_file, self.code, self.workers = rate, fx_track, one_file, code, workers

    def paths(self, out: Path) -> list[Path]:
        if self.one_file:
            return [out]
        return [out.with_name(f"{out.stem}-{k}-{_stem(m)}{out.suffix}") for k, m in enumerate(self.loaded)]

    def renderers(self) -> list[BatchRenderer]:
        return [BatchRenderer(m, self.device, self.batch, self.directions) for m in self.loaded]

    def run(self, shots, total, out: Path, wav, progress: bool) -> RenderResult:
        from instrument.render.offscreen import Offscreen  # EGL only when rendering
        paths = self.paths(out)
        width = self.tile[0] * (len(self.loaded) if self.one_file else 1)
        writers, sidecars = [], [p.with_suffix(".rows.csv") for p in paths]
        bar = Progress(total, progress)
        try:
            for p in paths:
                writers.append(VideoWriter(p, (width, self.tile[1]), self.rate, wav))
            # the pool first: its threads trace the model while EGL and the shaders start up here
            with self._synthesis(shots) as synthesised, Offscreen(self.tile) as off, _Sidecars(sidecars) as sheets:
                screens = [Screen(off, (m.generator.img_resolution,) * 2) for m in self.loaded]
                for item in synthesised:
                    self._draw(item, screens, writers, sheets)
                    bar.add(len(item.shots))
        finally:
            for w in writers:
                w.close()
            bar.close()
        seconds = time.perf_counter() - bar.start
        return RenderResult(paths, sidecars, bar.done, (width, self.tile[1]), self.rate, seconds, bar.rate,
                            bar.first_s)

    def _synthesis(self, shots):
        chunks = _chunks(shots, self.batch)
        if self.workers == 0:
            return contextlib.nullcontext(_inline(chunks, self.renderers()))
        return SynthesisPool(chunks, self.renderers, self.workers)

    def _draw(self, item: Synthesised, screens, writers, sheets) -> None:
        for j, shot in enumerate(item.shots):
            fx = self.fx.step(shot.params, shot.dt_s)
            tiles = [screen.show(item.images[m][j], fx, shot.dt_s) for m, screen in enumerate(screens)]
            outputs = [np.concatenate(tiles, axis=1)] if self.one_file else tiles
            for writer, frame in zip(writers, outputs):
                if shot.black > 0:  # a conformed fade or gap: the picture scaled towards black
                    frame = (frame * (1.0 - min(shot.black, 1.0))).astype(np.uint8)
                if self.code:
                    burn_row_index(frame, shot.row)
                writer.write(frame)
            sheets.add(writers[0].frames - 1, shot)


def _inline(chunks, renderers: list[BatchRenderer]):
    """workers=0: each chunk synthesised on the calling thread when the draw loop asks for it."""
    for chunk in chunks:
        yield Synthesised(chunk, [r.images([s.latent for s in chunk]) for r in renderers])


def _stem(model: LoadedModel) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(model.name).stem)[:40] or "model"


class _Sidecars:
    """frame,row,index,t CSVs next to the videos: which z-log row each output frame shows."""

    def __init__(self, paths: list[Path]):
        self.files = [open(p, "w", newline="") for p in paths]
        self.sheets = [csv.writer(f) for f in self.files]
        for sheet in self.sheets:
            sheet.writerow(["frame", "row", "index", "t"])

    def add(self, frame: int, shot: Shot) -> None:
        for sheet in self.sheets:
            sheet.writerow([frame, shot.row, shot.latent.index, repr(shot.latent.t)])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in self.files:
            f.close()


def read_sidecar(path) -> list[dict]:
    with open(path, newline="") as f:
        return [{"frame": int(r["frame"]), "row": int(r["row"]), "index": int(r["index"]), "t": float(r["t"])}
                for r in csv.DictReader(f)]


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
