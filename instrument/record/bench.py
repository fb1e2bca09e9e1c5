"""Hot-path cost of the z-log: `write_row` per call while the writer thread runs, and bytes per row.

Run with `python -m instrument.record.bench`. A figure to report, not a test: on a busy machine the p99 moves.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from instrument.latent.conductor import LatentFrame
from instrument.params import PARAMS, ParamStore
from instrument.record.writer import ZlogWriter
from instrument.record.zlog import RECORD, make_header

SHAPES = ((256, 12), (512, 18))  # (z_dim, num_ws): a small model and FFHQ-1024
FRAMES = 2000


def _frame(i: int, z_dim: int, num_ws: int, rng) -> LatentFrame:
    return LatentFrame(i, i / 60, rng.standard_normal((3, z_dim)).astype(np.float32),
                       rng.random((num_ws, 3)).astype(np.float32), 0.8, num_ws, "const", i)


def _one(z_dim: int, num_ws: int, folder: str, frames: int, rate_hz: float) -> dict:
    rng = np.random.default_rng(0)
    latents = [_frame(i, z_dim, num_ws, rng) for i in range(64)]
    values = ParamStore().values
    path = os.path.join(folder, f"bench_{z_dim}_{num_ws}.zlog")
    writer = ZlogWriter(path, make_header("bench", "-", {}, z_dim, num_ws, 0, rate_hz), overwrite=True)
    cost_ms = np.empty(frames)
    for i in range(frames):
        t0 = time.perf_counter()
        writer.write_row(latents[i % 64], values, t0)
        cost_ms[i] = (time.perf_counter() - t0) * 1e3
        time.sleep(1 / rate_hz)
    writer.close()
    row_bytes = writer.header["row_bytes"] + RECORD.size
    return {"z_dim": z_dim, "num_ws": num_ws, "p50_ms": float(np.percentile(cost_ms, 50)),
            "p99_ms": float(np.percentile(cost_ms, 99)), "max_ms": float(cost_ms.max()),
            "bytes_per_row": row_bytes, "mb_per_hour_at_30fps": row_bytes * 30 * 3600 / 1e6,
            "rows_written": writer.rows_written, "rows_dropped": writer.rows_dropped,
            "file_bytes": os.path.getsize(path)}


def run(frames: int = FRAMES, rate_hz: float = 500.0) -> dict:
    """Per shape: write_row p50/p99/max (ms), bytes per row on disk, drops. Prints a table."""
    with tempfile.TemporaryDirectory() as folder:
        results = {f"{z}x{n}": _one(z, n, folder, frames, rate_hz) for z, n in SHAPES}
    print(f"write_row over {frames} calls at {rate_hz:g} Hz with the writer thread running "
          f"({len(PARAMS)} params)")
    print(f"{'z_dim x num_ws':>15} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'bytes/row':>10} {'MB/h@30':>8} "
          f"{'dropped':>8}")
    for key, r in results.items():
        print(f"{key:>15} {r['p50_ms']:8.4f} {r['p99_ms']:8.4f} {r['max_ms']:8.3f} {r['bytes_per_row']:10d} "
              f"{r['mb_per_hour_at_30fps']:8.0f} {r['rows_dropped']:8d}")
    return results


if __name__ == "__main__":
    run()
