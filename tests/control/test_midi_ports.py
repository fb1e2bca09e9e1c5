"""MidiInput on real ports through a JACK server (dummy backend): CC, notes, hot-plug, a vanishing sender."""

from __future__ import annotations

import time

import pytest

from instrument.control.midi import MidiInput, open_scanner
from instrument.control.midi_map import Mapping
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore
from waiting import wait_for

rtmidi = pytest.importorskip("rtmidi")
ROWS = [{"type": "cc", "number": 7, "param": "wander.amount", "takeover": False},
        {"type": "note", "number": 40, "action": "random_target"}]


@pytest.fixture
def sender(midi_sender):
    """sender(port) -> a virtual output 'test-sender-<port>:<port>' in a process of its own (conftest.py)."""
    return lambda port_name: midi_sender(f"test-sender-{port_name}", port_name)


def opened(midi, *port_names) -> bool:
    return midi.open_ports == [f"test-sender-{p}:{p}" for p in port_names]


@pytest.fixture
def rig(jack_server, tmp_path, monkeypatch):
    for key, value in jack_server.items():  # libjack reads these when rtmidi opens a client in this process
        monkeypatch.setenv(key, value)
    store = ParamStore()
    conductor = Conductor(store, z_dim=16, num_ws=6, seed=0)
    midi = MidiInput(store, conductor, Mapping.from_dict({"binding": ROWS}), api="jack", ports=["test-sender"],
                     user_path=tmp_path / "midi.toml", rescan_s=0.2)
    yield store, conductor, midi
    midi.stop()


def test_a_cc_and_a_note_arrive_through_jack(rig, sender):
    store, conductor, midi = rig
    out = sender("ctl")
    midi.start()
    assert midi.api == "jack" and wait_for(lambda: opened(midi, "ctl"))
    out.send_message([0xB0, 7, 127])
    assert wait_for(lambda: store.get("wander.amount") == 1.0)
    before = conductor.targets
    out.send_message([0x90, 40, 100])
    assert wait_for(lambda: conductor.pending == 1)
    conductor.step(0, 0.01)
    assert conductor.actions_applied == 1 and not (conductor.targets == before).all()
    out.delete()


def test_the_input_survives_its_sender_closing_and_picks_up_a_new_one(rig, sender):
    store, _, midi = rig
    out = sender("first")
    midi.start()
    assert wait_for(lambda: opened(midi, "first"))
    out.send_message([0xB0, 7, 64])
    out.delete()                                           # the sender vanishes mid-run
    assert wait_for(lambda: opened(midi))
    second = sender("second")                              # hot-plug: the rescan opens it
    assert wait_for(lambda: opened(midi, "second"))
    second.send_message([0xB0, 7, 127])
    assert wait_for(lambda: store.get("wander.amount") == 1.0)
    stats = midi.stats()
    assert stats["midi_ports_dropped"] >= 1 and stats["midi_errors"] == 0 and stats["midi_messages"] >= 1
    second.delete()


def test_learn_through_jack_saves_from_the_rescan_thread(rig, tmp_path, sender):
    store, _, midi = rig
    out = sender("learn")
    midi.start()
    assert wait_for(lambda: opened(midi, "learn"))
    midi.arm("fx.feedback.amount")
    out.send_message([0xB3, 20, 127])
    assert wait_for(lambda: (tmp_path / "midi.toml").exists())
    assert Mapping.load(tmp_path / "midi.toml").lookup("cc", 3, 20).param == "fx.feedback.amount"
    out.delete()


def test_stop_is_prompt(rig):
    _, _, midi = rig
    midi.start()
    t0 = time.monotonic()
    midi.stop()
    assert time.monotonic() - t0 < 1.0 and midi.stats()["midi_ports_open"] == 0


def test_a_missing_api_is_a_one_line_message(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-here")
    scanner, api, message = open_scanner("jack", "probe")
    assert scanner is None and api == "" and message.startswith("MIDI off:") and "\n" not in message
    midi = MidiInput(ParamStore(), None, Mapping(), api="jack")
    assert not midi.available and midi.start().stats()["midi_api"] == "off"
    midi.stop()
