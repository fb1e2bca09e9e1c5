"""The frame loop of an offline re-render: shots synthesised (on worker threads or inline), drawn through each
model's shader chain on one EGL offscreen, scaled to black and coded, then into the encoders and the sidecar CSVs.

    Shot chunks -> SynthesisPool | _inline -> Screen (FramePipeline: pixel sort, feedback, display) per model
      -> black level, row-index code -> VideoWriter (H.264) + frame,row,index,t CSV

`render.render` checks the options and builds a `RenderJob`; this module holds what runs once it starts.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrument.models.loader import LoadedModel
from instrument.params import PARAMS
from instrument.record.replay import Shot
from instrument.record.synthesis import BatchRenderer, Synthesised, SynthesisPool
from instrument.record.video import VideoWriter, burn_row_index

FX_KEYS = tuple(p.name for p in PARAMS if p.group in ("fx", "hud"))   # what the engine hands the pipeline
FX_OFF = {"fx.feedback.amount": 0.0, "fx.pixelsort.amount": 0.0}      # --no-fx: display stage only


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


def _chunks(shots, n: int):
    chunk = []
    for shot in shots:
        chunk.append(shot)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class RenderJob:
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
