"""Visual -> audio latent coupling and the audio-rate interpolator."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.audio.coupling import LatentCoupling, LatentInterpolator

LATENT_DIM, Z_DIM = 16, 256
HOP_S = 128 / 48000


def coupling(seed: int = 0) -> LatentCoupling:
    rng = np.random.default_rng(123)
    return LatentCoupling(rng.normal(0, 0.3, LATENT_DIM), rng.uniform(0.2, 1.5, LATENT_DIM), Z_DIM, seed)


def test_deterministic_for_a_seed():
    z = np.random.default_rng(0).standard_normal((4, Z_DIM))
    np.testing.assert_array_equal(coupling(5)(z), coupling(5)(z))
    assert not np.allclose(coupling(5)(z), coupling(6)(z))


def test_amount_zero_gives_the_offset_latent():
    c = coupling()
    z = np.random.default_rng(1).standard_normal(Z_DIM) * 10
    np.testing.assert_allclose(c(z, amount=0.0), c.latent_mean, atol=1e-6)
    offset = np.linspace(-1, 1, LATENT_DIM)
    np.testing.assert_allclose(c(z, amount=0.0, offset=offset), c.unstandardise(offset), atol=1e-6)


def test_visual_normal_maps_to_posterior_spread():
    c = coupling()
    out = c(np.random.default_rng(2).standard_normal((4000, Z_DIM)))  # [4000, latent_dim]
    standard = (out - c.latent_mean) / c.latent_std
    assert np.all(np.abs(standard.mean(0)) < 0.1)
    assert np.all((standard.std(0) > 0.75) & (standard.std(0) < 1.05))  # tanh limit shrinks the tails a little


def test_outputs_stay_within_posterior_range():
    c = coupling()
    low, high = c.bounds()
    for scale in (1.0, 10.0, 1e4):
        out = c(np.random.default_rng(3).standard_normal((500, Z_DIM)) * scale, scale=scale)
        assert np.all(out >= low) and np.all(out <= high)


def test_wrong_visual_width_is_named():
    with pytest.raises(ValueError, match=r"expected \[\.\.\., 256\]"):
        coupling()(np.zeros(255))


def hop_latents(arrival_jitter_s: float, seed: int = 0, seconds: float = 3.0):
    """Drive an interpolator with 30 Hz visual latents (jittered) and step it once per hop."""
    rng = np.random.default_rng(seed)
    c = coupling()
    interp = LatentInterpolator(LATENT_DIM, HOP_S, initial=c.latent_mean)
    arrivals = np.cumsum(1 / 30 + rng.uniform(-arrival_jitter_s, arrival_jitter_s, int(seconds * 30)))
    visual = c(rng.standard_normal((len(arrivals), Z_DIM)))
    out, i = [], 0
    for k in range(int(seconds / HOP_S)):
        t = k * HOP_S
        while i < len(arrivals) and arrivals[i] <= t:
            interp.push(visual[i], arrivals[i])
            i += 1
        out.append(interp.step(t))
    return np.array(out), visual, c


def test_interpolation_has_no_steps_with_jittery_30hz_input():
    out, visual, c = hop_latents(arrival_jitter_s=0.012)
    max_visual_jump = np.abs(np.diff(visual, axis=0)).max()
    per_hop = np.abs(np.diff(out, axis=0)).max()
    # a glide spans about one visual interval (~12 hops), so no hop moves more than a fraction of a visual jump
    assert per_hop < 0.35 * max_visual_jump, (per_hop, max_visual_jump)
    low, high = c.bounds()
    assert np.all(out >= low - 1e-6) and np.all(out <= high + 1e-6)


def test_interpolation_reaches_each_target():
    interp = LatentInterpolator(2, HOP_S)
    interp.push([0.0, 0.0], 0.0)
    interp.push([1.0, -1.0], 1 / 30)
    np.testing.assert_allclose(interp.step(1 / 30 + 0.2), [1.0, -1.0])


def test_late_arrival_after_hops_played_does_not_jump_back():
    interp = LatentInterpolator(1, HOP_S)
    interp.push([0.0], 0.0)
    interp.push([1.0], 0.03)
    a = interp.step(0.05)  # audio ran ahead of the next visual stamp
    interp.push([0.0], 0.04)  # stamped earlier than the hop already played
    b = interp.step(0.05 + HOP_S)
    assert abs(float(b[0] - a[0])) < 0.2


def test_first_latent_glides_from_initial():
    interp = LatentInterpolator(1, HOP_S, initial=[0.5])
    assert interp.step(0.0)[0] == 0.5
    interp.push([1.5], 0.01)
    assert 0.5 < interp.step(0.01 + HOP_S)[0] < 0.6


def test_block_matches_steps():
    one, two = LatentInterpolator(3, HOP_S), LatentInterpolator(3, HOP_S)
    for interp in (one, two):
        interp.push([0, 0, 0], 0.0)
        interp.push([1, 2, 3], 0.033)
    np.testing.assert_array_equal(one.block(0.033, 10), np.stack([two.step(0.033 + k * HOP_S) for k in range(10)]))
