"""SpringDamper: exact propagator, frame-rate independence, damping regimes, kicks."""

import math

import numpy as np
import pytest

from instrument.latent.spring import SpringDamper, propagator


def _rk4_reference(e0, v0, tau_s, k, zeta, n=20000):
    """Brute-force the oscillator with tiny RK4 steps to check the closed form."""
    h, w = tau_s / n, math.sqrt(k)
    state = np.array([e0, v0], dtype=np.float64)
    f = lambda s: np.array([s[1], -k * s[0] - 2 * zeta * w * s[1]])  # noqa: E731
    for _ in range(n):
        a = f(state); b = f(state + h / 2 * a); c = f(state + h / 2 * b); d = f(state + h * c)  # noqa: E702
        state = state + h / 6 * (a + 2 * b + 2 * c + d)
    return state


@pytest.mark.parametrize("k", [0.1, 9.0, 200.0])
@pytest.mark.parametrize("zeta", [0.05, 0.3, 1.0 - 1e-9, 1.0, 1.0 + 1e-9, 1.5, 4.0])
def test_propagator_matches_numerical_integration(k, zeta):
    m00, m01, m10, m11 = propagator(0.7, k, zeta)
    for e0, v0 in [(1.0, 0.0), (0.0, 1.0)]:
        ref = _rk4_reference(e0, v0, 0.7, k, zeta, n=4000)
        got = np.array([m00 * e0 + m01 * v0, m10 * e0 + m11 * v0])
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("zeta", [0.2, 1.0, 2.5])
def test_propagator_composes(zeta):
    a, b = np.array(propagator(0.3, 9.0, zeta)).reshape(2, 2), np.array(propagator(0.45, 9.0, zeta)).reshape(2, 2)
    np.testing.assert_allclose(a @ b, np.array(propagator(0.75, 9.0, zeta)).reshape(2, 2), atol=1e-14)


def test_propagator_survives_huge_times():
    for zeta in (0.05, 1.0, 4.0):
        m = propagator(1e5, 200.0, zeta)
        assert all(math.isfinite(x) for x in m)
        assert max(abs(x) for x in m) < 1e-10


def _projection_history(zeta, dt_s=1 / 60, seconds=6.0):
    rng = np.random.default_rng(0)
    x0, target = rng.standard_normal((3, 64)), rng.standard_normal((3, 64))
    d = (x0 - target).ravel()
    spring, proj = SpringDamper(x0), []
    for _ in range(round(seconds / dt_s)):
        x = spring.step(target, dt_s, 9.0, zeta)
        proj.append(float((x - target).ravel() @ d))
    return np.array(proj), spring, target


def test_critically_damped_converges_without_overshoot():
    proj, spring, target = _projection_history(1.0)
    assert np.all(proj >= 0.0)
    assert np.all(np.diff(proj) <= 0.0)  # monotone approach
    assert np.abs(spring.x - target).max() < 1e-4


def test_under_damped_rings():
    proj, spring, target = _projection_history(0.2)
    assert proj.min() < -0.1 * proj[0]  # overshoots past the target
    assert np.count_nonzero(np.diff(np.sign(proj))) >= 3  # and oscillates
    assert abs(proj[-1]) < 0.05 * proj[0]  # decays: e^(-ζ ω t) = e^(-3.6) over 6 s


def _run(rate_hz, seconds=2.0, zeta=0.4):
    rng = np.random.default_rng(1)
    x0, v0, target = rng.standard_normal((3, 3, 32))
    spring = SpringDamper(x0, v0)
    for _ in range(round(seconds * rate_hz)):
        spring.step(target, 1.0 / rate_hz, 9.0, zeta)
    return spring


@pytest.mark.parametrize("zeta", [0.4, 1.0, 2.0])
def test_same_end_state_at_30_and_240_hz(zeta):
    a, b = _run(30, zeta=zeta), _run(240, zeta=zeta)
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.v, b.v, rtol=0, atol=1e-11)
    assert a.pending_s < 1e-9 and b.pending_s < 1e-9


def test_end_state_matches_closed_form():
    spring = SpringDamper(np.ones((1, 4)))
    for _ in range(60):
        spring.step(np.zeros((1, 4)), 1 / 30, 9.0, 1.0)
    w, t = 3.0, 2.0
    np.testing.assert_allclose(spring.x, (1 + w * t) * math.exp(-w * t), rtol=1e-12)


def test_remainder_is_carried_to_next_call():
    spring = SpringDamper(np.ones((1, 2)))
    spring.step(np.zeros((1, 2)), 0.0004, 9.0, 1.0)
    np.testing.assert_array_equal(spring.x, 1.0)  # less than one substep: nothing integrated yet
    assert spring.pending_s == pytest.approx(0.0004)
    spring.step(np.zeros((1, 2)), 0.0007, 9.0, 1.0)
    assert spring.x[0, 0] < 1.0
    assert spring.pending_s == pytest.approx(0.0001)


def test_kick_changes_velocity_and_spring_returns():
    target = np.zeros((2, 8))
    spring = SpringDamper(target)
    spring.kick(np.full((2, 8), 5.0))
    np.testing.assert_array_equal(spring.v, 5.0)
    peak = 0.0
    for _ in range(300):
        peak = max(peak, float(np.abs(spring.step(target, 1 / 60, 9.0, 1.0)).max()))
    assert peak > 0.5
    assert np.abs(spring.x).max() < 1e-3 and np.abs(spring.v).max() < 1e-2


@pytest.mark.parametrize("zeta", [0.05, 1.0, 4.0])
def test_stable_for_stiff_spring_and_long_frames(zeta):
    spring, peak = SpringDamper(np.ones((1, 3))), 0.0
    for _ in range(40):
        peak = max(peak, float(np.abs(spring.step(np.zeros((1, 3)), 0.5, 200.0, zeta)).max()))
    assert np.all(np.isfinite(spring.x)) and peak <= 1.0  # an explicit integrator would blow up at this dt
    assert np.abs(spring.x).max() < 1e-5


def test_reset_and_bad_substep():
    spring = SpringDamper(np.zeros((1, 2)))
    spring.reset(np.ones((1, 2)), np.full((1, 2), 2.0))
    np.testing.assert_array_equal(spring.x, 1.0)
    np.testing.assert_array_equal(spring.v, 2.0)
    with pytest.raises(ValueError):
        SpringDamper(np.zeros(2), substep_s=0.0)


def test_negative_dt_does_nothing():
    spring = SpringDamper(np.ones((1, 2)))
    spring.step(np.zeros((1, 2)), -1.0, 9.0, 1.0)
    np.testing.assert_array_equal(spring.x, 1.0)
