"""Re-render benchmark (not a test): `python -m instrument.record.render_bench`.

Re-render throughput (output frames/s, whole pipeline) against the live generator path on the same model.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from instrument.latent.conductor import Conductor
from instrument.models.loader import LoadedModel, load_model, pick_device
from instrument.params import PARAMS, ParamStore
from instrument.record.render import BatchRenderer, open_log, render
from instrument.render.generator_thread import FrameRenderer


def render_bench(model=None, frames: int = 96, batches=(1, 8), size=None, device: str = "auto") -> dict:
    """Re-render throughput (output frames/s, whole pipeline) against the live generator path on the same model.

    live: FrameRenderer.image per frame, as the generator thread runs it; synthesis: BatchRenderer alone;
    render: `render()` end to end (z-log read, synthesis, EGL shader chain, code, H.264). Prints a table.
    """
    dev = pick_device(device)
    loaded = load_model(None if model is None else str(model), dev)
    with tempfile.TemporaryDirectory() as tmp:
        log = _bench_log(Path(tmp) / "bench.zlog", loaded, frames)
        with open_log(log) as reader:
            latents = [reader.latent_frame(i) for i in range(reader.recovered)]
        result = {"model": loaded.name, "resolution": loaded.generator.img_resolution, "frames": frames,
                  "device": str(dev), "live_fps": _live_fps(loaded, dev, latents)}
        for b in batches:
            result[f"synthesis_fps_batch{b}"] = _synthesis_fps(loaded, dev, latents, b)
            out = render(log, Path(tmp) / f"b{b}.mp4", size=size, model=loaded, device=dev.type, batch=b,
                         progress=False)
            result[f"render_fps_batch{b}"] = out.fps_rendered
    print(f"{'stage':<28}{'frames/s':>10}")
    for key, value in result.items():
        if key.endswith("_fps") or "_fps_" in key:
            print(f"{key:<28}{value:>10.1f}")
    print(result)
    return result


def _bench_log(path: Path, loaded: LoadedModel, frames: int) -> Path:
    from instrument.record.writer import ZlogWriter
    from instrument.record.zlog import header_for_model
    store = ParamStore(PARAMS)
    store.set("wander.amount", 0.3)
    store.set("fx.feedback.amount", 0.5)
    conductor = Conductor(store, loaded.generator.z_dim, loaded.generator.num_ws, seed=1)
    writer = ZlogWriter(path, header_for_model(loaded, 1, 30.0))
    for i in range(frames):
        writer.write_row(conductor.step(i / 30, 1 / 30 if i else 0.0), store.values, i / 30)
        if i % 128 == 127:
            writer.flush()
    writer.close()
    return path


def _live_fps(loaded: LoadedModel, dev, latents) -> float:
    renderer = FrameRenderer(loaded.generator, dev)
    with torch.inference_mode():
        renderer.image(latents[0])  # trace once, as the live thread does before the show
        start = time.perf_counter()
        for frame in latents:
            renderer.image(frame).cpu()
    return len(latents) / (time.perf_counter() - start)


def _synthesis_fps(loaded: LoadedModel, dev, latents, batch: int) -> float:
    renderer = BatchRenderer(loaded, dev, batch)
    renderer.images(latents[:batch])  # warm up (trace, allocator)
    start = time.perf_counter()
    renderer.images(latents)
    return len(latents) / (time.perf_counter() - start)


if __name__ == "__main__":
    render_bench()
