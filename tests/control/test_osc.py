"""OSC dispatch on bytes: datagrams fed to `OscServer.handle_datagram`, no sockets (python-osc builds the input)."""

from __future__ import annotations

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from instrument.control.osc import MAX_SUBSCRIBERS, OscServer, namespace_table
from instrument.control.osc_wire import decode, encode, encode_bundle
from instrument.latent.conductor import Action, Conductor
from instrument.params import PARAMS, ParamStore

SENDER = ("127.0.0.1", 50000)


@pytest.fixture
def osc():
    store = ParamStore()
    return OscServer(store, Conductor(store, z_dim=16, num_ws=6, seed=0), port=0)


def build(address: str, *typed) -> bytes:
    """A datagram with explicit typetags: build('/a', ('f', 0.5), ('h', 3))."""
    b = OscMessageBuilder(address)
    for tag, value in typed:
        b.add_arg(value, tag)
    return b.build().dgram


def errors_of(replies) -> list[tuple]:
    return [decode(data)[0].args for data, _ in replies if decode(data)[0].address == "/instrument/error"]


# Parameters: every numeric typetag, labels for enums, clamping.
@pytest.mark.parametrize("tag, value, expected", [
    ("f", 0.5, 0.5), ("d", 0.25, 0.25), ("i", 0, 0.0), ("h", 0, 0.0), ("T", True, 0.99), ("F", False, 0.0)])
def test_every_numeric_typetag_sets_a_float_param(osc, tag, value, expected):
    assert osc.handle_datagram(build("/instrument/fx/feedback/amount", (tag, value)), SENDER) == []
    assert osc.store.get("fx.feedback.amount") == pytest.approx(expected)
    assert osc.messages == 1 and osc.errors == 0


def test_int64_and_double_reach_int_and_enum_params(osc):
    osc.handle_datagram(build("/instrument/truncation/cutoff", ("h", 7)), SENDER)
    osc.handle_datagram(build("/instrument/noise/mode", ("d", 2.0)), SENDER)
    assert osc.store.get("truncation.cutoff") == 7 and osc.store.get("noise.mode") == 2


def test_enum_accepts_its_label(osc):
    osc.handle_datagram(build("/instrument/motion/mode", ("s", "slerp")), SENDER)
    assert osc.store.get("motion.mode") == 1 and osc.errors == 0


def test_unknown_enum_label_is_answered_with_the_choices(osc):
    replies = osc.handle_datagram(build("/instrument/motion/mode", ("s", "slurp")), SENDER)
    [(address, reason)] = errors_of(replies)
    assert address == "/instrument/motion/mode" and "spring, slerp, lerp" in reason
    assert replies[0][1] == SENDER and osc.store.get("motion.mode") == 0


def test_out_of_range_is_clamped_and_counted(osc):
    osc.handle_datagram(build("/instrument/spring/stiffness", ("f", 1e6)), SENDER)
    osc.handle_datagram(build("/instrument/truncation/psi", ("i", -5)), SENDER)
    assert osc.store.get("spring.stiffness") == 200.0 and osc.store.get("truncation.psi") == -1.0
    assert osc.stats()["osc_clamped"] == 2 and osc.errors == 0


def test_nan_is_refused_not_stored(osc):
    [(_, reason)] = errors_of(osc.handle_datagram(build("/instrument/spring/damping", ("f", float("nan"))), SENDER))
    assert "finite" in reason and osc.store.get("spring.damping") == 1.0


@pytest.mark.parametrize("typed, words", [((), "exactly one"), ((("f", 1.0), ("f", 2.0)), "got 2"),
                                          ((("s", "loud"),), "must be a number"), ((("b", b"xx"),), "bytes")])
def test_wrong_arguments_are_answered_and_counted(osc, typed, words):
    [(address, reason)] = errors_of(osc.handle_datagram(build("/instrument/spring/kick", *typed), SENDER))
    assert address == "/instrument/spring/kick" and words in reason and "\n" not in reason
    assert osc.errors == 1 and osc.store.get("spring.kick") == 1.5


def test_unknown_address_gets_did_you_mean(osc):
    [(address, reason)] = errors_of(osc.handle_datagram(build("/instrument/sprng/stiffness", ("f", 1.0)), SENDER))
    assert address == "/instrument/sprng/stiffness"
    assert reason == ("unknown OSC address '/instrument/sprng/stiffness'; "
                      "did you mean '/instrument/spring/stiffness'?")


def test_far_off_address_points_to_the_namespace(osc):
    [(_, reason)] = errors_of(osc.handle_datagram(encode("/mixer/volume", 1.0), SENDER))
    assert "instrument osc-namespace" in reason and osc.errors == 1


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01\x02", b"hello", b"/no/terminator", b"#bundle\0short",
                                     encode("/instrument/kick", 1.0)[:-2], b"/a\0\0,q\0\0"])
def test_garbage_bytes_are_counted_as_malformed(osc, garbage):
    [(address, reason)] = errors_of(osc.handle_datagram(garbage, SENDER))
    assert address == "" and reason.startswith("malformed OSC datagram")
    assert osc.malformed == 1 and osc.errors == 1 and osc.messages == 0


def test_bundle_applies_all_its_messages_whatever_the_timetag(osc):
    far_future = 0xFFFF_FFF0 << 32  # NTP seconds in the upper 32 bits: early 2036
    inner = encode_bundle([encode("/instrument/wander/amount", 0.5)], timetag=far_future)
    osc.handle_datagram(encode_bundle([encode("/instrument/fx/feedback/rotate", 3.0), inner], far_future), SENDER)
    assert osc.store.get("fx.feedback.rotate") == 3.0 and osc.store.get("wander.amount") == 0.5
    assert osc.messages == 2


# Actions become conductor Actions.
def queued(osc) -> list[Action]:
    return osc.conductor._queue.drain()


@pytest.mark.parametrize("datagram, action", [
    (encode("/instrument/random"), Action("random_target", (0,))),
    (encode("/instrument/random", "c"), Action("random_target", (2,))),
    (encode("/instrument/kick", 2), Action("kick", (2.0,))),
    (encode("/instrument/keyframe/store", 3), Action("store", (3, 0))),
    (encode("/instrument/keyframe/recall", 4.0), Action("recall", (4,))),
    (encode("/instrument/journey/play", 1, 2, 3), Action("journey_play", ((1, 2, 3), 4.0))),
    (encode("/instrument/journey/toggle"), Action("journey_toggle")),
    (encode("/instrument/journey/stop"), Action("journey_stop")),
    (encode("/instrument/journey/next"), Action("journey_next")),
    (encode("/instrument/source/seed", "b", 1234), Action("set_source_seed", (1, 1234))),
    (encode("/instrument/source/keyframe", 2, 5), Action("set_source_keyframe", (2, 5))),
])
def test_action_addresses_post_actions(osc, datagram, action):
    assert osc.handle_datagram(datagram, SENDER) == []
    assert queued(osc) == [action]


@pytest.mark.parametrize("datagram, words", [
    (encode("/instrument/random", "d"), "source must be a, b, c"),
    (encode("/instrument/keyframe/recall", 99), "out of range 0..15"),
    (encode("/instrument/keyframe/recall", 1.5), "whole number"),
    (encode("/instrument/journey/play"), "one or more keyframe slots"),
    (encode("/instrument/journey/stop", 1), "no arguments"),
    (encode("/instrument/source/seed", "a"), "two arguments"),
    (encode("/instrument/record/start"), "not available yet"),
])
def test_bad_action_arguments_are_answered_not_posted(osc, datagram, words):
    [(_, reason)] = errors_of(osc.handle_datagram(datagram, SENDER))
    assert words in reason and queued(osc) == []


def test_actions_hook_registers_engine_actions():
    store, calls = ParamStore(), []
    osc = OscServer(store, Conductor(store, 16, 6, 0), actions={"record/start": lambda: calls.append("rec"),
                                                               "preset/load": lambda name: calls.append(name)})
    assert osc.handle_datagram(encode("/instrument/record/start"), SENDER) == []
    osc.handle_datagram(encode("/instrument/preset/load", "dusk"), SENDER)
    [(_, reason)] = errors_of(osc.handle_datagram(encode("/instrument/preset/load"), SENDER))
    assert calls == ["rec", "dusk"] and "TypeError" in reason


def test_actions_hook_cannot_shadow_a_parameter(osc):
    with pytest.raises(ValueError, match="spring/stiffness"):
        osc.add_action("spring/stiffness", lambda v: None)


# Ping, subscriptions and feedback (replies returned, not sent).
def test_ping_answers_pong_to_the_sender(osc):
    [(data, target)] = osc.handle_datagram(encode("/instrument/ping", 42), SENDER)
    assert target == SENDER and decode(data)[0] == ("/instrument/pong", "f", (42.0,))


def test_feedback_sends_a_full_dump_then_only_changes(osc):
    osc.handle_datagram(encode("/instrument/subscribe", 7000), SENDER)
    first = osc.feedback()
    assert len(first) == len(PARAMS) and {t for _, t in first} == {("127.0.0.1", 7000)}
    assert osc.feedback() == []
    osc.store.set("fx.feedback.zoom", 1.1)  # another source writes the store
    [(data, _)] = osc.feedback()
    assert decode(data)[0].address == "/instrument/fx/feedback/zoom"
    assert decode(data)[0].args[0] == pytest.approx(1.1)


def test_unsubscribe_and_the_subscriber_limit(osc):
    for port in range(1, MAX_SUBSCRIBERS + 1):
        osc.handle_datagram(encode("/instrument/subscribe", port), SENDER)
    [(_, reason)] = errors_of(osc.handle_datagram(encode("/instrument/subscribe", 9999), SENDER))
    osc.handle_datagram(encode("/instrument/unsubscribe", 1), SENDER)
    assert "already 16 subscribers" in reason and len(osc.subscribers) == MAX_SUBSCRIBERS - 1


# The namespace.
def test_namespace_lists_every_parameter_and_action(osc):
    addresses = {row["address"] for row in osc.namespace()}
    assert {"/instrument/fx/feedback/amount", "/instrument/spring/stiffness", "/instrument/journey/play",
            "/instrument/source/seed", "/instrument/subscribe", "/instrument/record/start"} <= addresses
    assert len([a for a in addresses if a.count("/") >= 2]) >= len(PARAMS)


def test_namespace_table_is_a_markdown_table():
    lines = namespace_table().splitlines()
    assert lines[0].startswith("| address |") and all(line.count(" | ") == 5 for line in lines if "`" in line)


# Error replies are limited per sender; every error is still counted.
def test_a_flood_of_bad_packets_gets_a_burst_of_replies_then_a_trickle(osc):
    from instrument.control.osc import ERROR_BURST, ERROR_RATE_HZ
    bad, other = b"\xff" * 16, ("127.0.0.1", 50001)
    replies = [r for _ in range(1000) for r in osc.handle_datagram(bad, SENDER, now_s=100.0)]
    assert len(replies) == ERROR_BURST and osc.errors == 1000 and osc.errors_unanswered == 1000 - ERROR_BURST
    assert len(osc.handle_datagram(bad, other, now_s=100.0)) == 1           # another sender has its own budget
    later = [r for _ in range(100) for r in osc.handle_datagram(bad, SENDER, now_s=101.0)]
    assert len(later) == int(ERROR_RATE_HZ)                                 # one second later: rate_hz more
    assert osc.stats()["osc_errors_unanswered"] == osc.errors_unanswered


def test_the_last_parameter_set_is_remembered_for_learn(osc):
    osc.handle_datagram(encode("/instrument/spring/damping", 0.5), SENDER)
    osc.handle_datagram(encode("/instrument/kick"), SENDER)                  # actions leave it alone
    assert osc.last_param == "spring.damping"


def test_journey_tempo_is_an_osc_parameter(osc):
    osc.handle_datagram(encode("/instrument/journey/bpm", 128), SENDER)
    osc.handle_datagram(encode("/instrument/journey/sync", "beats"), SENDER)
    assert osc.store.get("journey.bpm") == 128.0 and osc.store.get("journey.sync") == 1.0
