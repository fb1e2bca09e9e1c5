"""SynthesisPool, the hand-off between synthesis threads and the drawing thread: order, errors, shutdown."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from instrument.record.synthesis import SynthesisPool


class Stub:
    """A renderer whose 'pixels' are the latent's number; raises at `bad`."""

    def __init__(self, bad: int | None = None):
        self.bad, self.threads = bad, set()

    def images(self, latents):
        self.threads.add(threading.current_thread().name)
        if self.bad in latents:
            raise ValueError(f"frame {self.bad} is bad")
        return [np.full((2, 2, 3), n, np.uint8) for n in latents]


def chunks(n: int, size: int = 3, fail_at: int | None = None):
    for start in range(0, n, size):
        if fail_at is not None and start >= fail_at:
            raise OSError("z-log row unreadable")
        yield [SimpleNamespace(latent=i) for i in range(start, min(start + size, n))]


def no_pool_threads() -> bool:
    return not any(t.name.startswith(("synthesis-", "render-shots")) for t in threading.enumerate())


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_chunks_come_back_in_order(workers):
    stubs = []
    with SynthesisPool(chunks(40), lambda: stubs.append(Stub()) or [stubs[-1]], workers) as pool:
        got = [(shot.latent, int(img[0, 0, 0])) for item in pool for shot, img in zip(item.shots, item.images[0])]
    assert got == [(i, i) for i in range(40)]
    assert {name for s in stubs for name in s.threads} == {f"synthesis-{k}" for k in range(workers)}
    assert no_pool_threads()


def test_a_worker_error_is_raised_in_order():
    seen = []
    with pytest.raises(ValueError, match="frame 13 is bad"):
        with SynthesisPool(chunks(40), lambda: [Stub(bad=13)], 2) as pool:
            for item in pool:
                seen += [s.latent for s in item.shots]
    assert seen == list(range(12))           # chunks before the bad one, none after
    assert no_pool_threads()


def test_an_error_in_the_shots_is_raised_in_order():
    seen = []
    with pytest.raises(OSError, match="unreadable"):
        with SynthesisPool(chunks(40, fail_at=9), lambda: [Stub()], 2) as pool:
            for item in pool:
                seen += [s.latent for s in item.shots]
    assert seen == list(range(9))
    assert no_pool_threads()


def test_leaving_early_stops_every_thread():
    with SynthesisPool(chunks(10_000), lambda: [Stub()], 2, depth=1) as pool:
        next(iter(pool))
    assert no_pool_threads()
