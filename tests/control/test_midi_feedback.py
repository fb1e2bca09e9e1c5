"""Value feedback to controllers: pure logic on bindings and values, then through real JACK MIDI ports."""

from __future__ import annotations

import pytest

from instrument.control.midi_feedback import FeedbackState, device_of, messages_for, position
from instrument.control.midi_map import Mapping
from instrument.control.midi_router import MidiRouter
from instrument.params import ParamStore
from waiting import wait_for

ROWS = [{"type": "cc", "number": 7, "param": "wander.amount", "takeover": False},
        {"type": "cc", "number": 1, "bits": 14, "param": "audio.gain", "takeover": False},
        {"type": "note", "number": 40, "param": "timbre.freeze", "mode": "toggle"},
        {"type": "nrpn", "number": 300, "param": "fx.pixelsort.amount"},
        {"type": "pitchbend", "param": "fx.feedback.rotate"},
        {"type": "note", "number": 41, "action": "kick"}]


class Recorder:
    def post(self, action):
        pass


def rig():
    store = ParamStore()
    router = MidiRouter(store, Recorder(), Mapping.from_dict({"binding": ROWS}))
    return store, router, FeedbackState()


def changes(store, router, state):
    return state.changes(router.mapping, store.values, store.index, router.echo)


@pytest.mark.parametrize("name, device", [
    ("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0", "nanoKONTROL2"), ("dev-x-01:leds", "dev-x"), ("dev-x:ctl", "dev-x"),
    ("a2j:nanoKONTROL2 [20] (playback): nanoKONTROL2 MIDI 1", "nanoKONTROL2"), ("a2j:other", "a2j")])
def test_an_input_and_its_output_name_the_same_device(name, device):
    assert device_of(name) == device


def test_messages_for_each_control_type():
    m = Mapping.from_dict({"channel": 2, "binding": ROWS}).bindings
    assert messages_for(m[("cc", 2, 7)], 100, 2) == [[0xB2, 7, 100]]
    assert messages_for(m[("cc", 2, 1)], 0x3FFF, 2) == [[0xB2, 1, 127], [0xB2, 33, 127]]
    assert messages_for(m[("note", 2, 40)], 127, 2) == [[0x92, 40, 127]]
    assert messages_for(m[("note", 2, 40)], 0, 2) == [[0x82, 40, 0]]
    assert messages_for(m[("nrpn", 2, 300)], 64, 2) == [[0xB2, 99, 2], [0xB2, 98, 44], [0xB2, 6, 64]]
    assert messages_for(m[("pitchbend", 2, 0)], 0, 2) == []


def test_first_tick_sends_every_bound_value_then_only_changes():
    store, router, state = rig()
    first = changes(store, router, state)
    assert [0xB0, 7, 0] in first and [0xB0, 1, 32] in first and [0x80, 40, 0] in first  # gain 0.5 of 0..2
    assert changes(store, router, state) == []
    store.set("wander.amount", 0.5)                      # e.g. from OSC, a journey or a preset
    store.set("timbre.freeze", 1)
    assert changes(store, router, state) == [[0xB0, 7, 64], [0x90, 40, 127]]


def test_a_value_the_controller_sent_is_not_echoed_back():
    store, router, state = rig()
    changes(store, router, state)
    router.handle_bytes([0xB0, 7, 99], 0.0)              # the player moves the knob
    assert changes(store, router, state) == []
    store.set("wander.amount", 0.0)                      # then OSC moves it back to 0
    assert changes(store, router, state) == [[0xB0, 7, 0]]
    router.handle_bytes([0xB0, 7, 99], 0.0)              # the knob again, to the same place as before
    assert changes(store, router, state) == []


def test_an_omni_binding_answers_on_the_channel_it_was_played_on():
    store = ParamStore()
    router = MidiRouter(store, Recorder(), Mapping.from_dict({"channel": "any", "binding": ROWS[:1]}))
    state = FeedbackState()
    assert changes(store, router, state) == [[0xB0, 7, 0]]
    router.handle_bytes([0xB5, 7, 10], 0.0)
    store.set("wander.amount", 1.0)
    assert changes(store, router, state) == [[0xB5, 7, 127]]


def test_position_follows_the_binding_range_and_curve():
    b = Mapping.from_dict({"binding": [{"type": "cc", "number": 0, "param": "spring.stiffness", "lo": 1.0,
                                        "hi": 100.0}]}).lookup("cc", 0, 0)
    assert position(b, 1.0) == 0 and position(b, 100.0) == 127 and position(b, 10.0) == 64


def test_the_preset_option_round_trips(tmp_path):
    mapping = Mapping.from_dict({"feedback": True, "binding": ROWS[:1]})
    mapping.save(tmp_path / "m.toml")
    assert Mapping.load(tmp_path / "m.toml").feedback is True
    assert not Mapping.from_dict({"binding": ROWS[:1]}).feedback


# Through JACK: an OSC change reaches a virtual input of the controller's device as a CC.
rtmidi = pytest.importorskip("rtmidi")


def test_an_osc_change_lights_the_controller_through_jack(jack_server, midi_sender, tmp_path, monkeypatch):
    from instrument.control.midi import MidiInput
    from instrument.control.osc import OscServer
    from instrument.control.osc_wire import encode
    from instrument.latent.conductor import Conductor
    for key, value in jack_server.items():
        monkeypatch.setenv(key, value)
    store = ParamStore()
    conductor = Conductor(store, z_dim=16, num_ws=6, seed=0)
    osc = OscServer(store, conductor, port=0)
    controller_out = midi_sender("test-fbdev", "ctl")                       # the knobs, in a process of their own
    leds, received = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "test-fbdev"), []  # its lights: 'test-fbdev-01:leds'
    leds.set_callback(lambda event, _: received.append(event[0]))
    leds.open_virtual_port("leds")
    midi = MidiInput(store, conductor, Mapping.from_dict({"feedback": True, "binding": ROWS[:3]}), api="jack",
                     ports=["test-fbdev"], user_path=tmp_path / "midi.toml", rescan_s=0.2)
    try:
        midi.start()
        assert wait_for(lambda: midi.feedback.open_ports == ["test-fbdev-01:leds"])
        assert wait_for(lambda: [0xB0, 7, 0] in received)                  # the dump on connecting
        osc.handle_datagram(encode("/instrument/wander/amount", 1.0), ("127.0.0.1", 1))
        osc.handle_datagram(encode("/instrument/audio/gain", 2.0), ("127.0.0.1", 1))
        assert wait_for(lambda: [0xB0, 7, 127] in received and [0xB0, 33, 127] in received)
        assert [0xB0, 1, 127] in received and midi.stats()["midi_errors"] == 0
        controller_out.send_message([0xB0, 7, 50])                          # the knob itself: no echo
        assert wait_for(lambda: store.get("wander.amount") == pytest.approx(50 / 127))
        count = len(received)
        store.set("timbre.freeze", 1)                                       # a later change still goes out
        assert wait_for(lambda: [0x90, 40, 127] in received)
        assert [0xB0, 7, 50] not in received[count:]
    finally:
        midi.stop()
        leds.delete()
