"""Timing of FramePipeline.upload + render into a 1280x720 offscreen target (run directly; not a test).

    .venv/bin/python tests/render/bench_pipeline.py [--frames N] [--sizes 128 512]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from instrument.render.offscreen import Offscreen
from instrument.render.pipeline import FramePipeline

FX_OFF = {"fx.feedback.amount": 0.0, "fx.pixelsort.amount": 0.0, "hud.visible": 0.0}
FX_ON = {"fx.feedback.amount": 0.8, "fx.feedback.zoom": 1.02, "fx.feedback.rotate": 1.0,
         "fx.pixelsort.amount": 1.0, "fx.pixelsort.threshold": 0.25, "fx.pixelsort.direction": 2.0,
         "hud.visible": 1.0}


# Mean ms per upload+render (+ finish) of `frames` fresh random frames of side `side`.
def time_chain(off: Offscreen, side: int, fx: dict, frames: int, new_frame_every: int = 1) -> float:
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(4)]
    pipe = FramePipeline(off.ctx, (side, side))
    pipe.set_hud(["display 60.0 fps", "generator 12.0 fps", "latency 40 ms"])
    for i in range(3):  # warm-up: shader compile, first allocation
        pipe.upload(pool[i % 4])
        pipe.render(off.fbo, off.size, fx, 1 / 60)
    off.ctx.finish()
    t0 = time.perf_counter()
    for i in range(frames):
        if i % new_frame_every == 0:
            pipe.upload(pool[i % 4])
        pipe.render(off.fbo, off.size, fx, 1 / 60)
        off.ctx.finish()
    ms = (time.perf_counter() - t0) * 1000 / frames
    pipe.release()
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--sort", type=float, nargs="+", default=[0.1, 1.0])
    args = ap.parse_args()
    off = Offscreen((1280, 720))
    print("ms per upload+render+finish into 1280x720; second column: a new frame only every 4th render")
    for side in args.sizes:
        cases = [("fx off", FX_OFF), ("feedback", {**FX_ON, "fx.pixelsort.amount": 0.0})]
        cases += [(f"feedback+sort {a:g}", {**FX_ON, "fx.pixelsort.amount": a}) for a in args.sort]
        for name, fx in cases:
            every = time_chain(off, side, fx, args.frames)
            fourth = time_chain(off, side, fx, args.frames, 4)
            print(f"{side:4d}² {name:20s} {every:8.2f} {fourth:8.2f}")
    off.release()


if __name__ == "__main__":
    main()
