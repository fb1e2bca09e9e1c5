"""Re-render benchmark (not a test): `python -m instrument.record.render_bench [--frames N] [--size S]
[--workers 0 2] [--threads 1 2] [--rounds 3] [--json PATH]`.

Re-render throughput (output frames/s, whole pipeline) against the live generator path on the same model, each
figure also as a ratio to the best live figure of the same run; and where one sequential frame's time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from instrument.latent.conductor import Conductor
from instrument.models.loader import LoadedModel, load_model, pick_device
from instrument.params import PARAMS, ParamStore
from instrument.record.frames import FxTrack, Screen
from instrument.record.render import default_size, parse_size, render
from instrument.record.replay import open_log
from instrument.record.synthesis import BatchRenderer
from instrument.record.video import VideoWriter, burn_row_index
from instrument.render.generator_thread import FrameRenderer


def render_bench(model=None, frames: int = 120, size=None, device: str = "auto", workers=(0, 2),
                 threads=(1, 2), rounds: int = 3, json_path=None) -> dict:
    """live: FrameRenderer.image per frame, as the generator thread runs it, at each torch thread count;
    render: `render()` end to end (z-log read, synthesis, EGL shader chain, code, H.264) for each `workers`
    (0 = the sequential path, at each thread count; more = synthesis threads ahead of GL + encode), end to end
    and "steady" (after the first frame, so without the one-off tracing and pipeline fill);
    stages: one frame's synthesis, shader chain + readback, code and H.264 encode, run one after another.
    The runs alternate for `rounds` rounds (a shared machine's load moves); the table gives medians, and each
    ratio is the median of the per-round ratios to that round's best live figure. Prints a table.
    """
    dev = pick_device(device)
    loaded = load_model(None if model is None else str(model), dev)
    before = torch.get_num_threads()
    out_size = parse_size(size) or default_size(loaded.generator.img_resolution)
    result = {"model": loaded.name, "resolution": loaded.generator.img_resolution, "frames": frames,
              "size": list(out_size), "device": str(dev), "cpus": os.cpu_count(), "rounds": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log = _bench_log(Path(tmp) / "bench.zlog", loaded, frames)
            with open_log(log) as reader:
                latents = [reader.latent_frame(i) for i in range(reader.recovered)]
                params = [reader.rows()["params"][i] for i in range(reader.recovered)]
                header = reader.header
            for _ in range(rounds):
                result["rounds"].append(_round(loaded, dev, latents, log, out_size, workers, threads, Path(tmp)))
            torch.set_num_threads(1)
            result["stage_ms"] = _stages_ms(loaded, dev, latents, params, header, out_size, Path(tmp))
    finally:
        torch.set_num_threads(before)
    result["median_fps"], result["median_x_live"] = _medians(result["rounds"])
    _print(result)
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2))
        print(f"wrote {json_path}")
    return result


def _round(loaded, dev, latents, log: Path, out_size, workers, threads, tmp: Path) -> dict:
    fps = {}
    for n in threads:
        torch.set_num_threads(n)
        fps[f"live threads{n}"] = _live_fps(loaded, dev, latents)
    for w in workers:
        for n in (threads if w == 0 else (1,)):   # workers > 1 run one intra-op thread each anyway
            torch.set_num_threads(n)
            out = render(log, tmp / f"w{w}t{n}.mp4", size=out_size, model=loaded, device=dev.type, batch=1,
                         progress=False, workers=w)
            key = f"render workers{w}" + (f" threads{n}" if w == 0 else "")
            fps[key], fps[key + " steady"] = out.fps_rendered, out.fps_steady
    return fps


def _medians(rounds: list[dict]) -> tuple[dict, dict]:
    best = [max(v for k, v in r.items() if k.startswith("live")) for r in rounds]
    fps = {k: float(np.median([r[k] for r in rounds])) for k in rounds[0]}
    ratio = {k: float(np.median([r[k] / b for r, b in zip(rounds, best)])) for k in rounds[0]}
    return fps, ratio


def _print(result: dict) -> None:
    print(f"{result['model']} ({result['resolution']}²) -> {result['size'][0]}x{result['size'][1]}, "
          f"{result['frames']} frames, {result['device']}, {len(result['rounds'])} rounds")
    print(f"{'run':<30}{'frames/s':>10}{'x live':>8}   per round")
    for key, fps in result["median_fps"].items():
        each = " ".join(f"{r[key]:.1f}" for r in result["rounds"])
        print(f"{key:<30}{fps:>10.1f}{result['median_x_live'][key]:>8.2f}   {each}")
    print("one frame, sequential, 1 thread (ms): "
          + ", ".join(f"{k} {v:.2f}" for k, v in result["stage_ms"].items()))


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


def _stages_ms(loaded: LoadedModel, dev, latents, params, header, out_size, tmp: Path) -> dict:
    """Mean ms per frame of each stage of the sequential path, each run over all frames on its own."""
    from instrument.render.offscreen import Offscreen
    renderer = BatchRenderer(loaded, dev, 1)
    renderer.images(latents[:1])
    start = time.perf_counter()
    images = renderer.images(latents)
    ms = {"synthesis": time.perf_counter() - start}
    fx = FxTrack(header, True)
    with Offscreen(out_size) as off:
        screen = Screen(off, (loaded.generator.img_resolution,) * 2)
        screen.show(images[0], fx.step(params[0], 0.0), 0.0)
        start = time.perf_counter()
        frames = [screen.show(img, fx.step(p, 1 / 30), 1 / 30) for img, p in zip(images, params)]
        ms["shaders_readback"] = time.perf_counter() - start
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        burn_row_index(frame, i)
    ms["code"] = time.perf_counter() - start
    start = time.perf_counter()
    with VideoWriter(tmp / "stages.mp4", out_size, 30.0) as writer:
        for frame in frames:
            writer.write(frame)
    ms["encode"] = time.perf_counter() - start   # the encoder's flush at close included
    return {k: 1e3 * v / len(latents) for k, v in ms.items()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m instrument.record.render_bench", description=__doc__.split("\n")[0])
    p.add_argument("--model", help="generator file (default: the bundled one)")
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--size", help="output WxH or N (default: the generator's, at least 128)")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="render() workers settings to time")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts for live and workers 0")
    p.add_argument("--rounds", type=int, default=3, help="alternate the runs this many times; medians reported")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    return render_bench(args.model, args.frames, args.size, args.device, tuple(args.workers), tuple(args.threads),
                        args.rounds, args.json)


if __name__ == "__main__":
    main()
