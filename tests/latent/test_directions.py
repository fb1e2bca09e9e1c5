"""PCA directions in w (GANSpace) on a tiny generator."""

from __future__ import annotations

import pytest
import torch

from instrument.errors import ModelError
from instrument.latent.directions import (
    apply_directions, compute_directions, directions_path, layer_range, load_directions, main_directions,
    save_directions, scaled_components,
)
from instrument.models.convert import sha256
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import save_generator

TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)
SAMPLES = 4000


@pytest.fixture(scope="module")
def G():
    return make_generator(TINY, seed=1, w_avg_samples=256)


@pytest.fixture(scope="module")
def dirs(G):
    return compute_directions(G, n_samples=SAMPLES, n_components=8, seed=0, batch=1000)


def test_components_are_orthonormal_and_sign_fixed(dirs):
    c = dirs.components.double()
    torch.testing.assert_close(c @ c.T, torch.eye(8, dtype=torch.float64), atol=1e-5, rtol=0)
    rows = torch.arange(8)
    assert (c[rows, c.abs().argmax(dim=1)] > 0).all()


def test_variance_is_sorted_and_explained_ratio_is_a_fraction(dirs):
    assert (dirs.std[:-1] >= dirs.std[1:]).all() and (dirs.std > 0).all()
    ratio = dirs.explained_variance_ratio
    assert (ratio[:-1] >= ratio[1:]).all() and 0 < ratio.sum() <= 1 + 1e-6


def test_deterministic_for_a_seed_and_independent_of_batch(G, dirs):
    again = compute_directions(G, n_samples=SAMPLES, n_components=8, seed=0, batch=1000)
    assert torch.equal(again.components, dirs.components) and torch.equal(again.std, dirs.std)
    other_batch = compute_directions(G, n_samples=SAMPLES, n_components=8, seed=0, batch=512)
    torch.testing.assert_close(other_batch.components, dirs.components, atol=1e-4, rtol=0)
    assert not torch.equal(compute_directions(G, n_samples=SAMPLES, n_components=8, seed=1).mean, dirs.mean)


def test_std_matches_the_projection_of_fresh_samples(G, dirs):
    w = G.mapping(torch.randn(4000, TINY.z_dim, generator=torch.Generator().manual_seed(9)))[:, 0]
    proj = (w - dirs.mean) @ dirs.components.T  # [n, k]
    torch.testing.assert_close(proj.std(dim=0), dirs.std, rtol=0.1, atol=0)


def test_save_load_round_trip_and_model_check(tmp_path, dirs):
    dirs.model_sha256 = "ab" * 32
    path = tmp_path / "d.directions.safetensors"
    save_directions(path, dirs)
    back = load_directions(path, expect_sha256="ab" * 32)
    for name in ("components", "std", "mean"):
        assert torch.equal(getattr(back, name), getattr(dirs, name))
    assert back.total_variance == pytest.approx(dirs.total_variance) and back.samples == SAMPLES
    with pytest.raises(ModelError, match="computed for model abababababab"):
        load_directions(path, expect_sha256="cd" * 32)
    with pytest.raises(ModelError, match="could not be read"):
        load_directions(tmp_path / "missing.safetensors")


def test_amount_zero_is_identity_and_layers_outside_the_range_stay(G, dirs):
    ws = G.mapping(torch.randn(2, TINY.z_dim, generator=torch.Generator().manual_seed(3)))
    assert torch.equal(apply_directions(ws, dirs, torch.zeros(8), 0, G.num_ws), ws)
    amounts = torch.zeros(8)
    amounts[0] = 2.0
    lo, hi = layer_range("middle", G.num_ws)
    moved = apply_directions(ws, dirs, amounts, lo, hi)
    assert torch.equal(moved[:, :lo], ws[:, :lo]) and torch.equal(moved[:, hi:], ws[:, hi:])
    step = (moved[:, lo:hi] - ws[:, lo:hi]) @ dirs.components[0]
    torch.testing.assert_close(step, torch.full_like(step, 2 * dirs.std[0].item()), rtol=1e-4, atol=1e-5)


def test_out_in_place_and_tensor_bounds_match(G, dirs):
    ws = G.mapping(torch.randn(1, TINY.z_dim, generator=torch.Generator().manual_seed(4)))
    amounts = torch.linspace(-1, 1, 8)
    expected = apply_directions(ws, dirs, amounts, 0, 4)
    scaled = scaled_components(dirs)
    buf = ws.clone()
    apply_directions(buf, scaled, amounts, torch.tensor(0), torch.tensor(4), out=buf)
    torch.testing.assert_close(buf, expected)


def test_moving_along_direction_one_changes_the_image(G, dirs):
    ws = G.mapping(torch.randn(1, TINY.z_dim, generator=torch.Generator().manual_seed(5)))
    amounts = torch.zeros(8)
    base = G.synthesis(ws, noise_mode="const")
    amounts[0] = 3.0
    moved = G.synthesis(apply_directions(ws, dirs, amounts, 0, G.num_ws), noise_mode="const")
    floor = 0.05 * base.abs().mean().item()
    assert (moved - base).abs().mean().item() > floor


def test_layer_ranges_follow_the_mix_groups():
    assert [layer_range(n, 12) for n in ("all", "coarse", "middle", "fine")] == [(0, 12), (0, 4), (4, 8), (8, 12)]
    with pytest.raises(ValueError, match="choose one of all, coarse, middle, fine"):
        layer_range("mid", 12)


def test_command_writes_directions_beside_the_model(tmp_path, G, capsys):
    model = tmp_path / "tiny.safetensors"
    save_generator(G, model)
    assert main_directions(["--model", str(model), "--samples", "1000", "--components", "4"]) == 0
    d = load_directions(directions_path(model), expect_sha256=sha256(model))
    assert d.components.shape == (4, TINY.w_dim) and directions_path(model).name == "tiny.directions.safetensors"
    assert "explained variance" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_traced_graph_sees_amounts_updated_in_place(G, dirs):
    """How FrameRenderer uses it: amounts, bounds and σ·d are trace inputs, changed in place between frames."""
    ws = G.mapping(torch.randn(1, TINY.z_dim, generator=torch.Generator().manual_seed(6)))
    scaled, amounts = scaled_components(dirs), torch.zeros(8)
    lo, hi = torch.tensor(0), torch.tensor(G.num_ws)
    traced = torch.jit.trace(lambda w, a, s, l, h: apply_directions(w, s, a, l, h), (ws, amounts, scaled, lo, hi))
    amounts[2] = 1.5
    lo.fill_(4)
    hi.fill_(8)
    torch.testing.assert_close(traced(ws, amounts, scaled, lo, hi), apply_directions(ws, dirs, amounts, 4, 8))
