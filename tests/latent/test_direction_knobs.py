"""direction.1..8 and direction.layers: from the parameter table through the conductor; what the engine loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.latent.conductor import Conductor
from instrument.latent.directions import (
    LAYER_RANGES, NUM_KNOBS, QUICK_SAMPLES, compute_directions, directions_path, knob_directions, save_directions,
    scaled_components,
)
from instrument.models.loader import load_model
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import save_generator
from instrument.params import PARAMS, ParamStore

TINY = GeneratorConfig(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32)


def test_the_table_has_eight_knobs_and_a_layer_choice_matching_the_directions_module():
    spec = {p.name: p for p in PARAMS}
    for k in range(1, NUM_KNOBS + 1):
        p = spec[f"direction.{k}"]
        assert (p.lo, p.hi, p.default, p.unit, p.kind) == (-5.0, 5.0, 0.0, "σ", "float") and p.smoothing_s > 0
    assert spec["direction.layers"].choices == LAYER_RANGES and spec["direction.layers"].label(0) == "all"


def test_frames_carry_the_smoothed_amounts_and_the_layer_choice():
    store = ParamStore()
    conductor = Conductor(store, z_dim=16, num_ws=12, seed=0)
    first = conductor.step(0.0, 0.0)
    assert first.directions.dtype == np.float32 and first.directions.shape == (NUM_KNOBS,)
    assert not first.directions.any() and first.direction_layers == "all"
    store.set("direction.3", 2.0)
    store.set("direction.8", -7.0)  # clamped to -5
    store.set("direction.layers", 2)
    half = conductor.step(0.05, 0.05).directions  # one smoothing time constant
    assert 0.5 < half[2] < 2.0 and half[0] == 0.0
    for i in range(200):
        frame = conductor.step(0.1 + i / 60, 1 / 60)
    assert frame.directions[2] == pytest.approx(2.0) and frame.directions[7] == pytest.approx(-5.0)
    assert frame.direction_layers == "middle"
    assert frame.directions is not conductor.step(5.0, 1 / 60).directions  # each frame owns its arrays


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("knobs") / "tiny.safetensors"
    save_generator(make_generator(TINY, seed=1, w_avg_samples=256), path)
    return path


def test_the_engine_plays_the_file_beside_the_model_when_it_belongs_to_it(model_file):
    model = load_model(str(model_file), torch.device("cpu"))
    d = compute_directions(model.generator, n_samples=1000, n_components=12, seed=3)
    d.model_sha256 = model.sha256
    save_directions(directions_path(model_file), d)
    lines = []
    knobs = knob_directions(str(model_file), model, lines.append)
    assert torch.equal(knobs.scaled, scaled_components(d)) and lines == []
    assert knobs.source == "tiny.directions.safetensors (1000 samples)"
    directions_path(model_file).unlink()


def test_without_a_file_a_quick_estimate_plays_and_one_line_says_how_to_make_the_full_set(model_file):
    model = load_model(str(model_file), torch.device("cpu"))
    lines = []
    knobs = knob_directions(str(model_file), model, lines.append)
    want = scaled_components(compute_directions(model.generator, QUICK_SAMPLES, NUM_KNOBS, seed=0))
    assert torch.equal(knobs.scaled, want) and knobs.source.startswith("quick estimate")
    assert len(lines) == 1 and f"instrument directions --model {model_file}" in lines[0]


def test_directions_of_another_model_are_refused_and_the_estimate_plays(model_file, tmp_path):
    model = load_model(str(model_file), torch.device("cpu"))
    d = compute_directions(model.generator, n_samples=1000, n_components=8, seed=0)
    d.model_sha256 = "ab" * 32
    save_directions(directions_path(model_file), d)
    lines = []
    try:
        knobs = knob_directions(str(model_file), model, lines.append)
    finally:
        directions_path(model_file).unlink()
    assert knobs.source.startswith("quick estimate") and len(lines) == 2
    assert "computed for model abababababab" in lines[0] and "recompute them" in lines[0]


def test_a_mapping_that_cannot_be_sampled_leaves_the_knobs_at_zero_in_one_line(model_file):
    model = load_model(str(model_file), torch.device("cpu"))
    model.generator.z_dim = 7  # z of the wrong length: sampling the mapping network raises
    lines = []
    knobs = knob_directions(str(model_file), model, lines.append)
    assert knobs.source == "none" and not knobs.scaled.any() and knobs.scaled.shape == (NUM_KNOBS, TINY.w_dim)
    assert len(lines) == 1 and "direction.* knobs do nothing" in lines[0] and "\n" not in lines[0]


def test_the_bundled_model_ships_its_directions_where_the_engine_looks():
    from instrument.latent.directions import _default_out, load_directions
    from instrument.models.loader import bundled_weights
    bundled = bundled_weights()
    if bundled is None:
        pytest.skip("no bundled weights yet: the untrained default plays a quick estimate")
    assert _default_out("default") == directions_path(bundled)  # `instrument directions --model default` writes it
    model = load_model(None, torch.device("cpu"))
    d = load_directions(directions_path(bundled), expect_sha256=model.sha256)
    knobs = knob_directions(None, model, log=pytest.fail)         # no log line: the shipped file is used
    assert torch.equal(knobs.scaled, scaled_components(d))
