"""The OSC codec against python-osc's: what one writes the other reads."""

from __future__ import annotations

import pytest
from pythonosc.osc_message import OscMessage as PyOscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from instrument.control.osc_wire import MAX_BUNDLE_DEPTH, WireError, decode, encode, encode_bundle


def test_decode_reads_every_typetag_python_osc_writes():
    b = OscMessageBuilder("/x")
    for tag, value in [("i", -3), ("h", 2**40), ("f", 0.5), ("d", 0.1), ("s", "héllo"), ("b", b"\x01\x02\x03"),
                       ("T", True), ("F", False), ("N", None)]:
        b.add_arg(value, tag)
    [message] = decode(b.build().dgram)
    assert message.typetags == "ihfdsbTFN"
    assert message.args == (-3, 2**40, 0.5, 0.1, "héllo", b"\x01\x02\x03", True, False, None)


def test_encode_is_read_by_python_osc():
    parsed = PyOscMessage(encode("/instrument/error", "/a/b", 1, 0.25, True))
    assert parsed.address == "/instrument/error" and parsed.params == ["/a/b", 1, 0.25, True]


def test_message_without_typetag_string_has_no_arguments():
    assert decode(b"/instrument/kick\0\0\0\0") == [("/instrument/kick", "", ())]


def test_nested_bundles_flatten_in_order():
    inner = encode_bundle([encode("/b", 2.0)], timetag=123 << 32)
    assert [m.address for m in decode(encode_bundle([encode("/a", 1.0), inner, encode("/c")]))] == ["/a", "/b", "/c"]


def test_bundles_nested_too_deep_are_refused():
    packet = encode("/a")
    for _ in range(MAX_BUNDLE_DEPTH + 1):
        packet = encode_bundle([packet])
    with pytest.raises(WireError, match="nested deeper"):
        decode(packet)


@pytest.mark.parametrize("data, words", [(b"/a\0\0,i\0\0\0\0", "needs 4 bytes"), (b"/a\0\0i\0\0\0", "','"),
                                         (b"a\0\0\0", "start with '/'"), (b"/a\0\0,\0\0\0xxxx", "left over"),
                                         (b"/a\0\0,[\0\0", "unsupported OSC typetag '['")])
def test_broken_messages_say_where(data, words):
    with pytest.raises(WireError, match=words.replace("[", r"\[")):
        decode(data)
