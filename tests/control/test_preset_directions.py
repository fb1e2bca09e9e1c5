"""The shipped controller presets put GANSpace directions 1-8 on a row of 8 knobs."""

from __future__ import annotations

import pytest

from instrument.control.midi_map import load_preset

KNOB_ROWS = {"generic": range(21, 29),                              # knobs CC 21-28
             "launchcontrol_xl": range(49, 57),                     # pan/device row
             "midimix": (18, 22, 26, 30, 48, 52, 56, 60)}           # bottom knob row


@pytest.mark.parametrize("name", sorted(KNOB_ROWS))
def test_a_knob_row_moves_directions_1_to_8_over_their_whole_range(name):
    mapping = load_preset(name)
    bound = [mapping.lookup("cc", next(iter(mapping.bindings.values())).channel, cc) for cc in KNOB_ROWS[name]]
    assert [b.param for b in bound] == [f"direction.{k}" for k in range(1, 9)]
    assert [(b.value_at(0.0), b.value_at(1.0)) for b in bound] == [(-5.0, 5.0)] * 8
