"""Wander: deterministic, exactly zero at amount 0, bounded, smooth, speed scales time."""

import numpy as np

from instrument.latent.wander import Wander

SHAPE = (3, 512)


def _run(seed, dts, speed_hz=0.5, amount=0.3):
    w = Wander(SHAPE, seed)
    return np.stack([w.step(dt, speed_hz, amount) for dt in dts])


def test_same_seed_and_steps_give_identical_output():
    dts = np.random.default_rng(0).uniform(0.005, 0.04, size=200)
    a, b = _run(7, dts), _run(7, dts)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, _run(8, dts))


def test_amount_zero_is_exactly_zero():
    w = Wander(SHAPE, 1)
    for _ in range(10):
        off = w.step(1 / 60, 2.0, 0.0)
        assert off.shape == SHAPE and np.all(off == 0.0)


def test_bounded_and_scaled_as_a_fraction_of_the_radius():
    w, norms = Wander(SHAPE, 2), []
    for _ in range(2000):
        off = w.step(1 / 30, 1.0, 0.2)
        assert np.abs(off).max() <= 0.2 * w.bound + 1e-12
        norms.append(np.linalg.norm(off, axis=-1) / np.sqrt(512))
    assert 0.15 < np.mean(norms) < 0.25  # |offset| ≈ amount · radius


def test_smooth_small_steps_give_small_changes():
    w = Wander(SHAPE, 3)
    prev = w.step(0.0, 1.0, 1.0)
    for _ in range(100):
        cur = w.step(1e-3, 1.0, 1.0)
        assert np.abs(cur - prev).max() < 0.05  # ≤ bound · 2π · 1.5 Hz · 1 ms ≈ 0.027
        prev = cur


def test_speed_scales_time_and_amount_scales_linearly():
    slow, fast = Wander(SHAPE, 4), Wander(SHAPE, 4)
    for _ in range(50):
        a = slow.step(0.02, 1.0, 0.5)
        b = fast.step(0.01, 2.0, 0.5)
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(slow.offset(1.0), 2.0 * slow.offset(0.5), atol=1e-15)
    assert not np.allclose(a, Wander(SHAPE, 4).step(0.0, 1.0, 0.5))  # it did move
