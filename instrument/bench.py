"""`instrument bench`: the live engine's figures, measured in one run so they compare as ratios.

1. Generator only: ms per frame (mapping + mixing + synthesis + uint8 conversion) at each resolution, the
   default channel widths, on the device the engine would use.
2. The whole engine offscreen (EGL), paced at 60 Hz: once with the default model, once with a slower
   generator (the largest size asked for), to show the display rate does not depend on the generator's.
   Reported: display fps, generator fps and ms, latency from latent sampled to frame drawn, drops, the
   producer's overhead outside the model, and the display thread's work per frame.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import tempfile
import time

import numpy as np
import torch

from instrument.latent.conductor import Conductor
from instrument.models.loader import pick_device
from instrument.models.stylegan2 import DEFAULT_CONFIG, make_generator
from instrument.models.weights import save_generator
from instrument.params import ParamStore
from instrument.render.generator_thread import FrameRenderer

# A generator several times slower than the default, to show the display rate does not follow it.
SLOW_CONFIG = dataclasses.replace(DEFAULT_CONFIG, img_resolution=256, channel_base=16384, channel_max=256)
WARMUP_FRAMES = 5
TIMED_FRAMES = 40


def time_generator(resolution: int, device: torch.device) -> dict:
    config = dataclasses.replace(DEFAULT_CONFIG, img_resolution=resolution)
    G = make_generator(config, seed=0).to(device)
    renderer = FrameRenderer(G, device)
    conductor = Conductor(ParamStore(), G.z_dim, G.num_ws, seed=0)
    times_ms = []
    with torch.inference_mode():
        for i in range(WARMUP_FRAMES + TIMED_FRAMES):
            frame = conductor.step(i / 60, 1 / 60)
            start = time.perf_counter()
            renderer.image(frame).cpu()
            if i >= WARMUP_FRAMES:
                times_ms.append((time.perf_counter() - start) * 1e3)
    return {"resolution": resolution, "generator_ms_p50": float(np.median(times_ms)),
            "generator_ms_p99": float(np.percentile(times_ms, 99)), "fps": 1e3 / float(np.median(times_ms)),
            "channels": {r: min(config.channel_base // r, config.channel_max) for r in _resolutions(resolution)}}


def _resolutions(top: int) -> list[int]:
    return [2 ** k for k in range(2, int(np.log2(top)) + 1)]


def run_engine(model_path: str | None, seconds: float, label: str) -> dict:
    from instrument.engine import Engine, PlayOptions
    engine = Engine(PlayOptions(model=model_path, offscreen=True, size=(768, 768), seconds=seconds),
                    log=lambda line: None)
    try:
        engine.run(seconds)
    finally:
        engine.close()
    s = engine.stats()
    s["label"] = label
    s["latency_in_generator_frames"] = s["latency_ms_p50"] / max(s["generator_ms_p50"], 1e-9)
    return s


def machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run_bench(seconds: float, json_path: str, sizes: list[int]) -> dict:
    device = pick_device("auto")
    results = {"date": datetime.date.today().isoformat(), "machine": machine(), "device": str(device),
               "generator": [time_generator(r, device) for r in sizes], "engine": []}
    _print_generator(results["generator"])
    results["engine"].append(run_engine(None, seconds, f"default model ({DEFAULT_CONFIG.img_resolution}²)"))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slow.safetensors")
        save_generator(make_generator(SLOW_CONFIG, seed=0), path)
        results["engine"].append(run_engine(path, seconds, f"slow generator ({SLOW_CONFIG.img_resolution}², wide)"))
    alone = {r["resolution"]: r["generator_ms_p50"] for r in results["generator"]}
    for run in results["engine"]:
        res = int(run["resolution"].split("x")[0])
        if res in alone and "default" in run["label"]:
            run["generator_in_engine_vs_alone"] = run["generator_ms_p50"] / alone[res]
    _print_engine(results["engine"])
    with open(json_path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {json_path}")
    return results


def _print_generator(rows: list[dict]) -> None:
    print("generator only (mapping + mix + synthesis + to uint8), batch 1")
    print(f"{'resolution':>10} {'ms p50':>8} {'ms p99':>8} {'fps':>8}")
    for r in rows:
        print(f"{r['resolution']:>10} {r['generator_ms_p50']:8.2f} {r['generator_ms_p99']:8.2f} {r['fps']:8.1f}")


def _print_engine(rows: list[dict]) -> None:
    print("\nengine offscreen (EGL), display paced at 60 Hz, 768x768 output")
    cols = {"display_fps": "display fps", "display_late_frames": "late frames", "generator_fps": "gen fps",
            "generator_ms_p50": "gen ms p50", "latency_ms_p50": "lat ms p50", "latency_ms_p99": "lat ms p99",
            "latency_in_generator_frames": "lat/gen", "overhead_ms_p50": "prod ovh ms", "upload_ms_p50": "upload ms",
            "display_ms_p50": "display ms", "dropped_frames": "dropped", "errors": "errors"}
    print(f"{'run':30} " + " ".join(f"{h:>11}" for h in cols.values()))
    for r in rows:
        print(f"{r['label']:30} " + " ".join(f"{r[c]:11.2f}" if isinstance(r[c], float) else f"{r[c]:>11}"
                                             for c in cols))
    print("prod ovh: producer time per frame outside the model (conductor, copy, publish); lat/gen: latency p50 "
          "in generator frames")
