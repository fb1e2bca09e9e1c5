"""slerp / lerp / to_shell / latent_from_seed / Glide."""

import numpy as np
import pytest

from instrument.latent.interp import Glide, latent_from_seed, lerp, slerp, smoothstep, to_shell

RNG = np.random.default_rng(3)


def _unit(n=512, rows=()):
    v = RNG.standard_normal(rows + (n,))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_slerp_endpoints_are_exact():
    a, b = RNG.standard_normal(512), RNG.standard_normal(512)
    np.testing.assert_array_equal(slerp(a, b, 0.0), a)
    np.testing.assert_array_equal(slerp(a, b, 1.0), b)


def test_slerp_preserves_unit_norm_and_moves_at_constant_angle():
    a, b = _unit(), _unit()
    ts = np.linspace(0, 1, 11)
    path = np.stack([slerp(a, b, t) for t in ts])
    np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 1.0, atol=1e-12)
    angles = np.arccos(np.clip(np.sum(path[1:] * path[:-1], axis=-1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], atol=1e-9)


def test_slerp_blends_norms_linearly():
    a, b = 2.0 * _unit(), 4.0 * _unit()
    assert np.linalg.norm(slerp(a, b, 0.25)) == pytest.approx(2.5)


def test_slerp_antiparallel_is_finite_unit_and_turns_through_a_perpendicular():
    a = _unit()
    mid = slerp(a, -a, 0.5)
    assert np.all(np.isfinite(mid))
    assert np.linalg.norm(mid) == pytest.approx(1.0)
    assert abs(mid @ a) < 1e-12
    np.testing.assert_allclose(slerp(a, -a, 0.999999), -a, atol=1e-5)


def test_slerp_nearly_antiparallel_and_nearly_parallel():
    a = _unit()
    for b in (-a + 1e-13 * _unit(), -a + 1e-6 * _unit(), a + 1e-13 * _unit(), a.copy()):
        path = np.stack([slerp(a, b, t) for t in np.linspace(0, 1, 9)])
        assert np.all(np.isfinite(path))
        np.testing.assert_allclose(np.linalg.norm(path, axis=-1), np.linalg.norm(a), rtol=1e-6)
        np.testing.assert_allclose(slerp(a, b, 1 - 1e-9), b, atol=1e-6)


def test_slerp_batches_rows_with_their_own_t():
    a, b = _unit(rows=(3,)), _unit(rows=(3,))
    t = np.array([0.0, 0.3, 1.0])
    out = slerp(a, b, t)
    for i in range(3):
        np.testing.assert_allclose(out[i], slerp(a[i], b[i], t[i]), atol=1e-15)


def test_slerp_with_zero_vector_falls_back_to_lerp():
    a, b = np.zeros(8), np.ones(8)
    np.testing.assert_allclose(slerp(a, b, 0.5), 0.5)


def test_lerp_and_smoothstep():
    np.testing.assert_allclose(lerp(np.zeros(3), np.full(3, 2.0), 0.25), 0.5)
    assert smoothstep(0.0) == 0 and smoothstep(1.0) == 1 and smoothstep(0.5) == 0.5
    assert smoothstep(-3.0) == 0 and smoothstep(7.0) == 1


def test_to_shell_radius():
    z = RNG.standard_normal((5, 512)) * RNG.uniform(0.1, 10, size=(5, 1))
    np.testing.assert_allclose(np.linalg.norm(to_shell(z), axis=-1), np.sqrt(512), rtol=1e-12)
    out = np.empty((5, 512), dtype=np.float32)
    assert to_shell(z, out=out) is out
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.sqrt(512), rtol=1e-6)
    direction = z / np.linalg.norm(z, axis=-1, keepdims=True)
    np.testing.assert_allclose(to_shell(z) / np.sqrt(512), direction, atol=1e-14)


def test_to_shell_zero_row_is_a_fixed_shell_point():
    z = to_shell(np.zeros((2, 16)))
    np.testing.assert_allclose(np.linalg.norm(z, axis=-1), 4.0)
    assert np.all(np.isfinite(z))


def test_latent_from_seed_matches_stylegan_seeds():
    z = latent_from_seed(42, 512)
    ref = np.random.RandomState(42).randn(512)
    np.testing.assert_allclose(z, ref * np.sqrt(512) / np.linalg.norm(ref))
    with pytest.raises(ValueError):
        latent_from_seed(-1, 512)


def test_glide_goes_from_start_to_target_in_seconds():
    a, b = to_shell(_unit(rows=(2,))), to_shell(_unit(rows=(2,)))
    g = Glide(a, seconds=1.0)
    np.testing.assert_array_equal(g.position(), a)  # starts settled
    g.retarget(b, a)
    dists = [np.linalg.norm(g.step(0.1) - b) for _ in range(10)]
    assert np.all(np.diff(dists) < 0)
    assert g.done
    np.testing.assert_array_equal(g.position(), b)
    np.testing.assert_allclose(np.linalg.norm(g.step(0.1), axis=-1), np.sqrt(512))


def test_glide_eases_in_and_rows_move_independently():
    a, b = to_shell(_unit(rows=(2,))), to_shell(_unit(rows=(2,)))
    g = Glide(a, seconds=1.0)
    g.retarget(b[1], a[1], row=1)
    first = g.step(0.01)
    np.testing.assert_array_equal(first[0], a[0])
    assert np.linalg.norm(first[1] - a[1]) < 1e-3 * np.linalg.norm(b[1] - a[1])


def test_glide_changes_of_seconds_and_kind_do_not_jump():
    a, b = to_shell(_unit(rows=(1,))), to_shell(_unit(rows=(1,)))
    arc = np.sqrt(512) * np.arccos(np.clip(a[0] @ b[0] / 512, -1, 1))
    g = Glide(a, seconds=2.0, kind="slerp")
    g.retarget(b[0], a[0], row=0)
    prev = g.step(0.5)
    for i in range(40):
        if i in (5, 10):
            before = g.position()
            g.seconds = 0.3 if i == 5 else g.seconds
            g.set_kind("lerp" if i == 10 else g.kind)
            np.testing.assert_allclose(g.step(0.0), before, atol=1e-12)  # no jump in position
        x = g.step(0.02)
        assert np.linalg.norm(x - prev) <= 1.6 * arc * 0.02 / g.seconds  # smoothstep peaks at 1.5× mean speed
        prev = x
    assert g.done
    np.testing.assert_array_equal(prev, b)
    with pytest.raises(ValueError):
        g.set_kind("cubic")


def test_glide_of_a_single_latent():
    a, b = to_shell(_unit()), to_shell(_unit())
    g = Glide(a, seconds=1.0, kind="lerp")
    g.retarget(b, a)
    g.step(0.4)
    g.set_kind("slerp")
    for _ in range(12):
        x = g.step(0.1)
    assert x.shape == (512,) and g.done
    np.testing.assert_array_equal(x, b)
