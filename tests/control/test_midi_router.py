"""The MIDI router on messages and bytes: 14-bit pairs, NRPN, relative encoders, pick-up, learn, clock, fuzz."""

from __future__ import annotations

import random
from pathlib import Path

import mido
import pytest

from instrument.control.midi_decode import ClockTempo, relative_ticks
from instrument.control.midi_map import Mapping, MappingError
from instrument.control.midi_router import MidiRouter
from instrument.latent.conductor import Action, Conductor
from instrument.params import ParamStore


class Recorder:
    """Stands in for the conductor: keeps what was posted."""

    def __init__(self):
        self.posted = []

    def post(self, action):
        self.posted.append(action)


def router(rows, tmp_path=None, **kw):
    store = ParamStore()
    path = (tmp_path or Path("/nonexistent")) / "midi.toml"
    return MidiRouter(store, Recorder(), Mapping.from_dict({"binding": rows}), path, **kw), store


def cc(number, value, channel=0):
    return mido.Message("control_change", channel=channel, control=number, value=value)


def send(r, *msgs):
    for m in msgs:
        r.handle(m, 0.0)


def test_cc_moves_a_parameter_along_its_range_and_curve():
    r, store = router([{"type": "cc", "number": 7, "param": "spring.stiffness", "lo": 1.0, "hi": 100.0,
                        "takeover": False}])
    send(r, cc(7, 127))
    assert store.get("spring.stiffness") == 100.0
    send(r, cc(7, 0))
    assert store.get("spring.stiffness") == 1.0
    send(r, cc(7, 64))
    assert store.get("spring.stiffness") == pytest.approx(1.0 * 100.0 ** (64 / 127))
    assert r.counts["midi_params"] == 3 and r.counts["midi_errors"] == 0


def test_14_bit_pairs_combine_exactly_msb_then_lsb_and_lsb_only():
    r, store = router([{"type": "cc", "number": 1, "param": "wander.amount", "bits": 14, "takeover": False}])
    send(r, cc(33, 99))                                  # an LSB before any MSB is ignored
    assert store.get("wander.amount") == 0.0
    send(r, cc(1, 64))                                   # MSB resets the LSB to 0
    assert store.get("wander.amount") == 64 * 128 / 16383
    send(r, cc(33, 5))
    assert store.get("wander.amount") == (64 * 128 + 5) / 16383
    send(r, cc(33, 127))                                 # LSB-only update keeps the MSB
    assert store.get("wander.amount") == (64 * 128 + 127) / 16383
    send(r, cc(1, 127), cc(33, 127))
    assert store.get("wander.amount") == 1.0


def nrpn(number, msb, lsb=None, channel=0):
    msgs = [cc(99, number >> 7, channel), cc(98, number & 0x7F, channel), cc(6, msb, channel)]
    return msgs + ([cc(38, lsb, channel)] if lsb is not None else [])


def test_nrpn_selects_and_data_entry_in_7_and_14_bits():
    r, store = router([{"type": "nrpn", "number": 1000, "param": "wander.amount", "bits": 14, "takeover": False},
                       {"type": "nrpn", "number": 5, "param": "fx.pixelsort.amount", "takeover": False},
                       {"type": "cc", "number": 6, "param": "fx.feedback.amount", "takeover": False}])
    send(r, *nrpn(1000, 100, 3))
    assert store.get("wander.amount") == (100 * 128 + 3) / 16383
    send(r, *nrpn(5, 127))
    assert store.get("fx.pixelsort.amount") == 1.0
    assert store.get("fx.feedback.amount") == 0.0        # data entry went to the NRPN, not to cc 6
    send(r, cc(101, 0), cc(100, 0), cc(6, 12))           # RPN 0 (bend range) is consumed
    assert store.get("fx.feedback.amount") == 0.0
    send(r, cc(99, 127), cc(98, 127), cc(6, 127))        # NRPN null: cc 6 is a plain knob again
    assert store.get("fx.feedback.amount") == pytest.approx(0.99)


@pytest.mark.parametrize("mode, values", [
    ("relative-twos", {1: 1, -1: 127, 3: 3, -3: 125}),
    ("relative-signed", {1: 1, -1: 65, 3: 3, -3: 67}),
    ("relative-offset", {1: 65, -1: 63, 3: 67, -3: 61}),
])
def test_relative_encodings(mode, values):
    for ticks, value in values.items():
        assert relative_ticks(value, mode) == ticks
    r, store = router([{"type": "cc", "number": 10, "param": "wander.amount", "mode": mode, "step": 0.01}])
    store.set("wander.amount", 0.5)
    for ticks, value in values.items():
        before = store.get("wander.amount")
        send(r, cc(10, value))
        assert store.get("wander.amount") - before == pytest.approx(0.01 * ticks)


def test_soft_takeover_blocks_a_jump_and_picks_up_on_crossing():
    r, store = router([{"type": "cc", "number": 2, "param": "wander.amount"}])
    send(r, cc(2, 10))
    assert store.get("wander.amount") == pytest.approx(10 / 127)      # untouched parameter: follows at once
    store.set("wander.amount", 0.8)                                     # another source (OSC) moves it
    send(r, cc(2, 20), cc(2, 60))
    assert store.get("wander.amount") == 0.8 and r.counts["midi_blocked"] == 2
    send(r, cc(2, 110))                                                 # crosses 0.8 * 127 = 101.6
    assert store.get("wander.amount") == pytest.approx(110 / 127)
    send(r, cc(2, 30))                                                  # picked up: follows again
    assert store.get("wander.amount") == pytest.approx(30 / 127)


def test_soft_takeover_picks_up_within_tolerance():
    r, store = router([{"type": "cc", "number": 2, "param": "wander.amount"}])
    store.set("wander.amount", 0.5)
    send(r, cc(2, 0))
    store.set("wander.amount", 0.5)
    send(r, cc(2, 64))                                                  # 64/127 = 0.504: within tolerance
    assert store.get("wander.amount") == pytest.approx(64 / 127)


def test_note_scales_kick_and_cc_buttons_fire_on_press_only():
    r, _ = router([{"type": "note", "number": 36, "action": "kick", "args": [2.0]},
                   {"type": "cc", "number": 41, "action": "recall", "args": [3]}])
    send(r, mido.Message("note_on", note=36, velocity=127), mido.Message("note_off", note=36),
         mido.Message("note_on", note=36, velocity=0))
    send(r, cc(41, 127), cc(41, 127), cc(41, 0), cc(41, 127))
    posted = r.conductor.posted
    assert posted[0] == Action("kick", (2.0,))
    assert posted[1:] == [Action("recall", (3,)), Action("recall", (3,))]


def test_pitchbend_and_mod_wheel_are_bindable():
    r, store = router([{"type": "pitchbend", "param": "fx.feedback.rotate", "takeover": False},
                       {"type": "cc", "number": 1, "param": "wander.amount", "takeover": False}])
    send(r, mido.Message("pitchwheel", pitch=8191), cc(1, 127))
    assert store.get("fx.feedback.rotate") == 10.0 and store.get("wander.amount") == 1.0
    send(r, mido.Message("pitchwheel", pitch=-8192))
    assert store.get("fx.feedback.rotate") == -10.0


def test_learn_binds_saves_atomically_and_reloads_identically(tmp_path):
    r, store = router([{"type": "cc", "number": 5, "param": "wander.speed"}], tmp_path)
    r.arm("truncation.psi")
    assert r.armed == "truncation.psi"
    send(r, mido.Message("note_off", note=1), cc(5, 127))             # replaces cc 5's binding
    r.arm("recall", 4)
    send(r, mido.Message("note_on", note=60, velocity=90))
    assert r.armed is None and r.counts["midi_learned"] == 2
    saved = Mapping.load(tmp_path / "midi.toml")
    assert saved == r.mapping and saved.lookup("cc", 0, 5).param == "truncation.psi"
    assert saved.lookup("note", 0, 60).args == (4,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["midi.toml"]  # no temp file left behind


def test_learn_widens_a_cc_followed_by_its_lsb(tmp_path):
    r, store = router([], tmp_path)
    r.arm("wander.amount")
    send(r, cc(3, 64), cc(35, 1))
    assert r.mapping.lookup("cc", 0, 3).bits == 14
    send(r, cc(3, 127), cc(35, 127))
    assert store.get("wander.amount") == 1.0


def test_arming_an_unknown_target_fails_with_a_hint():
    r, _ = router([])
    with pytest.raises(MappingError, match="did you mean 'wander.amount'"):
        r.arm("wandr.amount")
    with pytest.raises(MappingError, match="takes"):
        r.arm("recall")


def test_clock_gives_a_smoothed_tempo():
    r, _ = router([])
    tick_s = 60.0 / (120.0 * 24)
    for i in range(24 * 8):
        r.handle(mido.Message("clock"), i * tick_s)
    assert r.stats()["midi_tempo_bpm"] == pytest.approx(120.0, abs=0.01)
    tempo = ClockTempo()
    jitter = random.Random(0)
    for i in range(24 * 16):
        tempo.tick(i * 60.0 / (90.0 * 24) + jitter.uniform(-0.001, 0.001))
    assert tempo.bpm == pytest.approx(90.0, abs=1.0)


def test_a_real_conductor_plays_a_note(tmp_path):
    store = ParamStore()
    conductor = Conductor(store, z_dim=16, num_ws=6, seed=0)
    mapping = Mapping.from_dict({"binding": [{"type": "note", "number": 40, "action": "random_target"}]})
    r = MidiRouter(store, conductor, mapping, tmp_path / "midi.toml")
    before = conductor.targets
    r.handle(mido.Message("note_on", note=40, velocity=100), 0.0)
    conductor.step(0, 0.01)
    assert conductor.actions_applied == 1 and not (conductor.targets == before).all()


def test_random_bytes_never_raise_and_errors_are_counted():
    r, _ = router([{"type": "cc", "number": n, "param": "wander.amount", "bits": 14 if n < 32 else 7}
                   for n in range(0, 64, 3)] + [{"type": "nrpn", "number": 3, "param": "fx.pixelsort.amount"}])
    rng = random.Random(1)
    data = bytes(rng.randrange(256) for _ in range(120_000))
    parser = mido.Parser()
    for i in range(0, len(data), 64):                     # a byte stream through mido's parser
        parser.feed(data[i:i + 64])
        for msg in parser:
            r.handle(msg, 0.0)
    for i in range(20_000):                               # single packets, as rtmidi delivers them
        r.handle_bytes(list(data[i * 3:i * 3 + rng.randrange(1, 4)]), 0.0)
    stats = r.stats()
    assert stats["midi_messages"] > 20_000 and stats["midi_errors"] > 0 and stats["midi_last_error"]


def test_nrpn_data_increment_and_decrement_step_the_selected_parameter():
    r, store = router([{"type": "nrpn", "number": 300, "param": "wander.amount", "step": 0.25}])
    send(r, cc(99, 2), cc(98, 44))                       # select NRPN 2·128 + 44 = 300
    send(r, cc(96, 0), cc(96, 0), cc(96, 127))           # three increments, whatever their value
    assert store.get("wander.amount") == 0.75
    send(r, cc(97, 0))
    assert store.get("wander.amount") == 0.5
    send(r, cc(101, 0), cc(100, 0), cc(96, 0))           # an RPN selected: its increments are consumed
    assert store.get("wander.amount") == 0.5 and r.counts["midi_unbound"] == 0


def test_an_omni_binding_answers_every_channel_and_round_trips(tmp_path):
    doc = {"channel": "any", "binding": [{"type": "cc", "number": 7, "param": "wander.amount", "takeover": False},
                                          {"type": "cc", "number": 8, "channel": 2, "param": "audio.gain",
                                           "takeover": False}]}
    r, store = router([])
    r.mapping = Mapping.from_dict(doc)
    send(r, cc(7, 127, channel=9))
    assert store.get("wander.amount") == 1.0
    send(r, cc(8, 127, channel=3))                       # the channel-2 binding ignores channel 3
    assert store.get("audio.gain") == 0.5 and r.counts["midi_unbound"] == 1
    r.mapping.save(tmp_path / "m.toml")
    assert 'channel = "any"' in (tmp_path / "m.toml").read_text()
    assert Mapping.load(tmp_path / "m.toml") == r.mapping


def test_an_omni_14_bit_cc_pairs_on_any_channel():
    r, store = router([])
    r.mapping = Mapping.from_dict({"channel": "any", "binding": [
        {"type": "cc", "number": 1, "bits": 14, "param": "wander.amount", "takeover": False}]})
    send(r, cc(1, 127, channel=5), cc(33, 127, channel=5))
    assert store.get("wander.amount") == 1.0


def test_the_clock_tempo_reaches_the_conductor_as_journey_bpm():
    r, store = router([])
    tick_s = 60.0 / (128.0 * 24)
    for i in range(24 * 4):
        r.handle(mido.Message("clock"), i * tick_s)
    assert store.get("journey.bpm") == pytest.approx(128.0, abs=0.05)
    version = store.version
    for i in range(24 * 4, 24 * 8):                      # a steady clock does not rewrite the value every tick
        r.handle(mido.Message("clock"), i * tick_s)
    assert store.version - version <= 1


def test_learn_last_arms_the_last_osc_parameter_from_a_button_and_says_so(tmp_path):
    r, store = router([{"type": "cc", "number": 45, "action": "learn_last"}], tmp_path)
    send(r, cc(45, 127))
    assert r.armed is None and "no parameter changed" in r.notice
    send(r, cc(45, 0))
    r.last_param = lambda: "spring.damping"
    send(r, cc(45, 127))
    assert r.armed == "spring.damping" and "armed: spring.damping" in r.notice
    send(r, cc(45, 0), cc(12, 99, channel=1))            # the button's own release is not learned
    assert r.mapping.lookup("cc", 1, 12).param == "spring.damping" and r.armed is None
    assert "cc 12 on channel 2 -> spring.damping" in r.notice
    send(r, cc(45, 127))                                 # the button still arms: its release was not swallowed
    assert r.armed == "spring.damping"
    assert Mapping.load(tmp_path / "midi.toml").lookup("cc", 1, 12).param == "spring.damping"


def test_arm_last_from_a_key_and_the_echo_kept_for_feedback():
    r, store = router([{"type": "cc", "number": 7, "param": "wander.amount", "takeover": False}])
    r.last_param = lambda: "audio.gain"
    assert r.arm_last() == "MIDI learn armed: audio.gain; move a control"
    r.disarm()
    send(r, cc(7, 100, channel=0))
    assert r.echo[("cc", 0, 7)] == (0, 100, 1)
