"""FID / KID / path length, and the emoji feature network they measure in."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.train.features import (
    FEATURE_DIM, GROUPS, WEIGHTS_PATH, FeatureNet, embed, emoji_group, load_feature_net, save_feature_net,
)
from instrument.train.quality import (
    evaluate, fid, kid, mmd2_unbiased, path_length, slerp, sqrtm_product, trace_sqrt_product,
)

TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)


def gaussian(n: int, d: int = 16, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    """n samples of one fixed correlated Gaussian in d dimensions (the seed only picks the samples)."""
    mix = np.random.default_rng(100).standard_normal((d, d)) / math.sqrt(d) + np.eye(d)
    return np.random.default_rng(seed).standard_normal((n, d)) @ mix + shift


def random_spd(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((d, d + 3))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return FeatureNet().eval()


# The matrix square root and FID.

def test_sqrt_of_an_spd_product_squares_back_and_matches_the_eigenvalue_trace():
    s1, s2 = random_spd(12, 1), random_spd(12, 2)
    root = sqrtm_product(s1, s2)
    np.testing.assert_allclose(root @ root, s1 @ s2, atol=1e-9)
    reference = np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(0)).sum()  # scipy-free: eigenvalues of the product
    assert trace_sqrt_product(s1, s2) == pytest.approx(reference, rel=1e-9)
    assert np.trace(root) == pytest.approx(reference, rel=1e-9)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    a = gaussian(2000)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    values = [fid(a, gaussian(2000, shift=s, seed=1)) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[-1] > 10 * values[0]
    assert fid(a, gaussian(2000, shift=1.0, seed=1)) == pytest.approx(16.0, rel=0.1)  # |Δμ|² = 16 · 1²


# KID.

def test_kid_is_near_zero_for_two_samples_of_one_distribution_and_grows_with_a_shift():
    a, b = gaussian(400, seed=1), gaussian(400, seed=2)
    same, same_std = kid(a, b, subsets=10, subset_size=200)
    assert abs(same) < max(3 * same_std, 1e-3)
    shifted = [kid(a, gaussian(400, shift=s, seed=2), subsets=10, subset_size=200)[0] for s in (0.25, 0.5, 1.0)]
    assert shifted == sorted(shifted) and shifted[0] > abs(same)


def test_unbiased_mmd_averages_to_zero():
    vals = [mmd2_unbiased(gaussian(50, 4, seed=2 * i), gaussian(50, 4, seed=2 * i + 1)) for i in range(200)]
    spread = np.std(vals) / math.sqrt(len(vals))
    assert abs(np.mean(vals)) < 4 * spread


# Path length.

def test_slerp_ends_and_norms():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(slerp(a, b, torch.zeros(4)), a)
    torch.testing.assert_close(slerp(a, b, torch.ones(4)), b, atol=1e-5, rtol=1e-5)


def test_path_length_and_evaluate_on_a_tiny_generator(net):
    G = make_generator(TINY, seed=0, w_avg_samples=64)
    ppl = path_length(G, net, pairs=4, seed=0)
    assert math.isfinite(ppl) and ppl > 0
    reals = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    r = evaluate(G, net, reals, samples=10, ppl_pairs=4)
    assert r["samples"] == 10 and r["reference_images"] == 12
    assert all(math.isfinite(r[k]) for k in ("fid", "fid_floor", "kid", "kid_floor", "ppl"))


# The feature network.

def test_feature_net_shapes_for_64_and_128_inputs(net):
    for res in (64, 128):
        x = torch.rand(2, 3, res, res) * 2 - 1
        assert net.features(x).shape == (2, FEATURE_DIM) and net(x).shape == (2, len(GROUPS))
    images = np.zeros((3, 128, 128, 3), np.uint8)
    assert embed(net, images, batch=2).shape == (3, FEATURE_DIM)


def test_emoji_groups_from_codepoints():
    cases = {"\U0001F600": "Smileys & Emotion", "\U0001F469\u200D\U0001F680": "People & Body",
             "\U0001F44D\U0001F3FD": "People & Body", "\U0001F436": "Animals & Nature",
             "\U0001F355": "Food & Drink", "\U0001F680": "Travel & Places", "\u26BD": "Activities",
             "\U0001F4F7": "Objects", "\u267B": "Symbols", "1\uFE0F\u20E3": "Symbols",
             "\U0001F1EB\U0001F1F7": "Flags", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F":
             "Flags"}
    assert {e: GROUPS[emoji_group(e)] for e in cases} == cases


def test_feature_net_save_load_round_trip(tmp_path, net):
    path = tmp_path / "f.safetensors"
    save_feature_net(net, path, {"held_out_accuracy": 0.5})
    back, info = load_feature_net(path)
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(back.features(x), net.features(x))
    assert info == {"held_out_accuracy": 0.5}


@pytest.mark.skipif(not WEIGHTS_PATH.is_file(), reason=f"{WEIGHTS_PATH} not trained yet: "
                    "python -m instrument.train.features (see docs/quality.md)")
def test_shipped_feature_weights_load_and_are_small():
    net, info = load_feature_net()
    assert WEIGHTS_PATH.stat().st_size < 5 * 2**20
    assert info["held_out_accuracy"] > 1 / len(GROUPS)
    assert net.features(torch.zeros(1, 3, 128, 128)).shape == (1, FEATURE_DIM)
