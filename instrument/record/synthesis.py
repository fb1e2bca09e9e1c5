"""Synthesis for re-renders, ahead of the GL thread: `BatchRenderer` (the live tensor path, batched) and
`SynthesisPool` (worker threads that run it while the caller draws and encodes).

    shots ─> "render-shots" ─(chunk s to worker s % n)─> inbox k ─> "synthesis-k" ─> outbox k ─> caller, in order

The caller keeps GL (the EGL context is current on its thread) and the encoder. Each worker has its own
FrameRenderer per model (its own input buffers, noise generator and traced graphs), and a chunk is batched exactly
as one thread batches it, so the pixels are the same bit for bit as the one-thread path: a frame's pixels depend
only on its LatentFrame. Traced graphs run without the GIL, so n workers use n cores.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np
import torch

from instrument.errors import ModelError
from instrument.latent.conductor import LatentFrame
from instrument.models.loader import LoadedModel
from instrument.render.generator_thread import FrameRenderer

POLL_S = 0.1                 # how often a blocked hand-off checks for a stop
TRACE_LOCK = threading.Lock()  # one torch.jit.trace at a time: tracing walks the shared modules


class BatchRenderer:
    """FrameRenderer's tensor path, batched: ws per frame exactly as live, then synthesis `batch` frames at once.

    Random-noise frames go through FrameRenderer.image one by one (the live seeded path); so does everything at
    batch 1 (the live traced graph). Batched synthesis equals batch 1 within float tolerance.
    """

    def __init__(self, model: LoadedModel, device: torch.device, batch: int, directions: np.ndarray | None = None):
        G = model.generator
        if device.type == "cuda":  # live frames on CUDA come from the fast path's float16 copy: render the same
            from instrument.render.fast import prepare_generator
            G = prepare_generator(G, device)
        self.renderer = FrameRenderer(G, device)
        self.G, self.batch = G, max(1, int(batch))
        if directions is not None:  # the knobs' directions as logged (zlog.logged_directions): exact w on replay
            try:
                self.renderer.set_directions(torch.from_numpy(directions))
            except ValueError:
                raise ModelError(f"the z-log's directions are {list(directions.shape)} (knobs, w_dim) but model "
                                 f"'{model.name}' has w_dim {self.G.w_dim}; render with a snapshot of the logged "
                                 "network") from None

    def images(self, latents: list[LatentFrame]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        with torch.inference_mode():
            run: list[LatentFrame] = []
            for frame in latents:
                if self.batch == 1 or frame.noise_mode == "random":
                    out += self._flush(run) + [self._image(frame)]
                    run = []
                elif run and run[0].noise_mode != frame.noise_mode:
                    out += self._flush(run)
                    run = [frame]
                else:
                    run.append(frame)
            out += self._flush(run)
        return out

    def _image(self, frame: LatentFrame) -> np.ndarray:
        """One frame through the live path; the first of a noise mode traces its graph, one thread at a time."""
        if frame.noise_mode in getattr(self.renderer, "_traced", {}) or frame.noise_mode == "random":
            return self.renderer.image(frame).cpu().numpy()
        with TRACE_LOCK:
            return self.renderer.image(frame).cpu().numpy()

    def _flush(self, run: list[LatentFrame]) -> list[np.ndarray]:
        if not run:
            return []
        ws = torch.cat([self.renderer.ws(f) for f in run])                     # [batch, num_ws, w_dim]
        img = self.G.synthesis(ws, noise_mode=run[0].noise_mode)               # [batch, 3, res, res]
        pixels = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        return list(pixels.cpu().numpy())


@dataclass
class Synthesised:
    """One chunk of shots and its pixels: images[model][frame] uint8 [res, res, 3]."""
    shots: list
    images: list[list[np.ndarray]]


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()   # sentinel: no more chunks


class SynthesisPool:
    """`workers` threads synthesising chunks of shots ahead of the caller; iterate it for `Synthesised` in order.

    make_renderers() builds one worker's renderers (one per model); it is called once per worker. `depth` chunks
    may wait per worker. An error in the shots or a worker comes back, in order, as that error raised by the
    iteration; `close()` (also on leaving a `with`) stops and joins every thread.
    """

    def __init__(self, chunks, make_renderers, workers: int, depth: int = 2):
        self.n = max(1, int(workers))
        self._stop = threading.Event()
        self._inboxes = [queue.Queue(maxsize=max(1, depth)) for _ in range(self.n)]
        self._outboxes = [queue.Queue(maxsize=max(1, depth)) for _ in range(self.n)]
        self._threads = [threading.Thread(target=self._feed, args=(chunks,), name="render-shots", daemon=True)]
        self._threads += [threading.Thread(target=self._work, args=(k, make_renderers()), name=f"synthesis-{k}",
                                           daemon=True) for k in range(self.n)]
        for t in self._threads:
            t.start()

    def __iter__(self):
        for seq in range(1 << 62):
            item = self._get(self._outboxes[seq % self.n])
            if item is _END or item is None:   # None: closed meanwhile
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def _feed(self, chunks) -> None:
        seq = 0
        try:
            for chunk in chunks:
                if not self._put(self._inboxes[seq % self.n], chunk):
                    return
                seq += 1
        except BaseException as e:  # a bad z-log row: handed on in order, raised by the caller
            self._put(self._inboxes[seq % self.n], _Failed(e))
            seq += 1
        for k in range(self.n):    # every worker ends; the caller stops at the first _END in order
            self._put(self._inboxes[(seq + k) % self.n], _END)

    def _work(self, k: int, renderers: list) -> None:
        while True:
            chunk = self._get(self._inboxes[k])
            if chunk is _END or isinstance(chunk, _Failed) or chunk is None:
                self._put(self._outboxes[k], chunk if chunk is not None else _END)
                return
            try:
                item = Synthesised(chunk, [r.images([s.latent for s in chunk]) for r in renderers])
            except BaseException as e:
                item = _Failed(e)
            if not self._put(self._outboxes[k], item) or isinstance(item, _Failed):
                return

    def _put(self, box: queue.Queue, item) -> bool:
        while not self._stop.is_set():
            try:
                box.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, box: queue.Queue):
        while not self._stop.is_set():
            try:
                return box.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return None

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
