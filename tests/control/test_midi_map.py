"""Controller mappings: every preset loads, bindings map along curves and ranges, bad files fail in one line."""

from __future__ import annotations

import math

import pytest

from instrument.control.midi_map import ACTIONS, Binding, Mapping, MappingError, load_preset, preset_paths
from instrument.params import PARAMS, ParamStore

EXPECTED_PRESETS = {"nanokontrol2", "midimix", "launchcontrol_xl", "generic"}


def test_every_preset_loads_and_validates():
    names = {p.stem for p in preset_paths()}
    assert EXPECTED_PRESETS <= names
    for path in preset_paths():
        mapping = Mapping.load(path)
        assert len(mapping.bindings) >= 20, path
        assert any(b.param for b in mapping.bindings.values()) and any(b.action for b in mapping.bindings.values())


@pytest.mark.parametrize("name", sorted(EXPECTED_PRESETS))
def test_preset_names_resolve_and_round_trip_through_toml(name, tmp_path):
    mapping = load_preset(name)
    mapping.save(tmp_path / "copy.toml")
    assert Mapping.load(tmp_path / "copy.toml") == mapping


def test_binding_maps_along_the_parameter_curve():
    b = Binding("cc", 0, 1, param="spring.stiffness")  # exp, 0.1 .. 200
    p = ParamStore().spec("spring.stiffness")
    for u in (0.0, 0.25, 0.5, 1.0):
        assert b.value_at(u) == pytest.approx(p.from_unit(u))
        assert b.unit_of(b.value_at(u)) == pytest.approx(u)


def test_binding_range_and_curve_override():
    b = Binding("cc", 0, 1, param="spring.stiffness", lo=1.0, hi=100.0, curve="lin")
    assert b.value_at(0) == 1.0 and b.value_at(1) == 100.0 and b.value_at(0.5) == pytest.approx(50.5)
    e = Binding("cc", 0, 1, param="truncation.psi", lo=0.5, hi=2.0, curve="exp")
    assert e.value_at(0.5) == pytest.approx(math.sqrt(0.5 * 2.0))


def _error(tmp_path, body: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(MappingError) as info:
        Mapping.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_unknown_parameter_suggests_the_nearest(tmp_path):
    msg = _error(tmp_path, '[[binding]]\ntype = "cc"\nnumber = 3\nparam = "sprng.stiffness"\n')
    assert "binding 1" in msg and "did you mean 'spring.stiffness'" in msg


def test_unknown_action_suggests_the_nearest(tmp_path):
    msg = _error(tmp_path, '[[binding]]\ntype = "note"\nnumber = 3\naction = "recal"\nargs = [1]\n')
    assert "did you mean 'recall'" in msg


@pytest.mark.parametrize("row, words", [
    ('type = "cc"\nchannel = 16\nnumber = 1\nparam = "wander.amount"', "channel must be in range 0..15"),
    ('type = "cc"\nnumber = 128\nparam = "wander.amount"', "cc number must be in range 0..127"),
    ('type = "knob"\nnumber = 1\nparam = "wander.amount"', "type 'knob'"),
    ('type = "cc"\nnumber = 40\nbits = 14\nparam = "wander.amount"', "MSB number in 0..31"),
    ('type = "cc"\nnumber = 1\nparam = "wander.amount"\nlo = 3.0', "outside wander.amount's range"),
    ('type = "cc"\nnumber = 1\naction = "recall"', "takes (slot)"),
    ('type = "cc"\nnumber = 1\nparam = "wander.amount"\nmode = "relative-2s"', "mode 'relative-2s'"),
    ('type = "cc"\nnumber = 1\nparam = "wander.amount"\ncolour = 3', "unknown key 'colour'"),
])
def test_bad_bindings_give_one_line_errors(tmp_path, row, words):
    assert words in _error(tmp_path, f"[[binding]]\n{row}\n")


def test_broken_toml_names_the_file(tmp_path):
    assert "cannot read the mapping" in _error(tmp_path, "binding = [ {")


def test_every_action_the_presets_use_is_a_conductor_action():
    used = {b.action for p in preset_paths() for b in Mapping.load(p).bindings.values() if b.action}
    assert used <= set(ACTIONS)
    params = {b.param for p in preset_paths() for b in Mapping.load(p).bindings.values() if b.param}
    assert params <= {p.name for p in PARAMS}


def test_later_binding_of_the_same_control_replaces_the_earlier():
    m = Mapping.from_dict({"binding": [{"type": "cc", "number": 1, "param": "wander.amount"},
                                       {"type": "cc", "number": 1, "param": "wander.speed"}]})
    assert len(m.bindings) == 1 and m.lookup("cc", 0, 1).param == "wander.speed"
