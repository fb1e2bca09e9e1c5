"""The control layer inside a running engine: MIDI learn armed from a key after an OSC change, through JACK."""

from __future__ import annotations

import socket

import pytest

from instrument.control.midi_map import Mapping
from instrument.control.osc_wire import encode
from instrument.engine import Engine, PlayOptions
import waiting

rtmidi = pytest.importorskip("rtmidi")


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    return waiting.wait_for(condition, timeout_s, 0.01)


@pytest.mark.e2e
def test_key_l_arms_the_last_osc_parameter_and_a_jack_cc_binds_to_it(jack_server, midi_sender, tmp_path,
                                                                     monkeypatch):
    for key, value in jack_server.items():
        monkeypatch.setenv(key, value)
    options = PlayOptions(offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None, audio=False,
                          midi_api="jack", midi_map="generic", midi_ports=["test-learner"])
    engine = Engine(options, log=lambda line: None)
    engine.midi.router.user_path = tmp_path / "midi.toml"           # never the performer's own file
    knobs = midi_sender("test-learner", "knobs")
    try:
        engine.start()
        assert wait_for(lambda: engine.midi.open_ports == ["test-learner:knobs"])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(encode("/instrument/spring/damping", 0.5), ("127.0.0.1", engine.osc.port))
        assert wait_for(lambda: engine.osc.last_param == "spring.damping")
        engine.on_key("l")
        assert "MIDI learn armed: spring.damping; move a control" in engine.hud_lines()
        knobs.send_message([0xB0, 9, 127])                           # cc 9: unbound in the generic preset
        assert wait_for(lambda: (tmp_path / "midi.toml").exists())
        assert Mapping.load(tmp_path / "midi.toml").lookup("cc", 0, 9).param == "spring.damping"
        assert any("cc 9 on channel 1 -> spring.damping" in line for line in engine.hud_lines())
        knobs.send_message([0xB0, 9, 0])
        assert wait_for(lambda: engine.store.get("spring.damping") == 0.05)
    finally:
        engine.close()


@pytest.mark.e2e
def test_hud_and_stats_say_when_a_synced_journey_has_no_tempo():
    engine = Engine(PlayOptions(offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None, audio=False,
                                midi=False), log=lambda line: None)
    try:
        engine.store.set("journey.sync", 1)
        for slot in (0, 1):
            engine.conductor.act("store", slot)
        engine.conductor.act("journey_toggle")
        engine.run(0.3)
        assert engine.conductor.journey.playing
        assert "no tempo" in engine.stats()["journey_sync"]
        engine.store.set("journey.bpm", 120.0)
        assert any(line.startswith("journey sync: 4 beats at 120.0 BPM") for line in engine.hud_lines())
    finally:
        engine.close()
