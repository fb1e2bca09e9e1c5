"""Shared by the z-log tests and the kill -9 child: a small header and rows whose content follows the index."""

from __future__ import annotations

import numpy as np

from instrument.latent.conductor import LatentFrame
from instrument.params import PARAMS
from instrument.record.zlog import make_header

Z_DIM, NUM_WS = 8, 4


def header(**kw) -> dict:
    return make_header("tiny", "0" * 64, {"z_dim": Z_DIM}, Z_DIM, NUM_WS, seed=7, fps_hint=60.0, **kw)


def frame(i: int) -> LatentFrame:
    """Row i is recognisable from its bytes alone, so a recovered row can be checked against its index."""
    z = (np.arange(3 * Z_DIM, dtype=np.float32).reshape(3, Z_DIM) + i) / 7
    mix = np.full((NUM_WS, 3), i % 5, dtype=np.float32) / 3
    knobs = (np.arange(8, dtype=np.float32) - 4 + i) / 9
    return LatentFrame(i, i / 60, z, mix, 0.1 * i, i % NUM_WS, ("const", "random", "off")[i % 3],
                       (i * 2654435761) % 2**32, knobs, ("all", "coarse", "middle", "fine")[i % 4])


def values(i: int) -> np.ndarray:
    return np.arange(len(PARAMS), dtype=np.float64) * 0.5 + i


def assert_frame_equal(got: LatentFrame, want: LatentFrame) -> None:
    assert (got.index, got.t, got.psi, got.cutoff, got.noise_mode, got.noise_seed) == \
        (want.index, want.t, want.psi, want.cutoff, want.noise_mode, want.noise_seed)
    assert got.z.dtype == want.z.dtype == np.float32 and got.z.tobytes() == want.z.tobytes()
    assert got.mix.dtype == want.mix.dtype == np.float32 and got.mix.tobytes() == want.mix.tobytes()
    assert got.directions.dtype == want.directions.dtype == np.float32
    assert got.directions.tobytes() == want.directions.tobytes() and got.direction_layers == want.direction_layers
