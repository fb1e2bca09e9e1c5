"""OSC 1.0 bytes on the wire: decode a datagram into messages, encode the few replies we send.

Our own small codec rather than python-osc's parser, for three reasons: we need the typetags (to say which one
was wrong), bundles must be applied at once whatever their timetag (python-osc's server sleeps on future ones),
and a fuzzed datagram must end in one `WireError`, never a log line per unknown tag.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

BUNDLE_TAG = b"#bundle\0"
MAX_BUNDLE_DEPTH = 8            # nested bundles deeper than this are refused (a fuzzed packet could nest 1000)
_FIXED = {"i": (">i", 4), "h": (">q", 8), "f": (">f", 4), "d": (">d", 8), "t": (">Q", 8), "r": (">I", 4)}
_CONST = {"T": True, "F": False, "N": None, "I": None}


class WireError(ValueError):
    """A datagram that is not valid OSC; the message says where it broke."""


class OscMessage(NamedTuple):
    address: str      # "/instrument/spring/stiffness"
    typetags: str     # without the comma: "f", "si", "" for none
    args: tuple       # Python values: int, float, str, bytes, True/False/None


# Decoding.
def decode(dgram: bytes) -> list[OscMessage]:
    """Every message in a datagram, bundles flattened in order; timetags are read and ignored."""
    if dgram.startswith(BUNDLE_TAG):
        return _bundle(dgram, 0)
    return [_message(dgram)]


def _bundle(dgram: bytes, depth: int) -> list[OscMessage]:
    if depth >= MAX_BUNDLE_DEPTH:
        raise WireError(f"bundle nested deeper than {MAX_BUNDLE_DEPTH} levels")
    if len(dgram) < 16:
        raise WireError(f"bundle of {len(dgram)} bytes is shorter than its 16-byte header")
    messages, at = [], 16  # "#bundle\0" + 8-byte timetag, deliberately unused: we apply at once
    while at < len(dgram):
        size, at = _unpack(">i", 4, dgram, at)
        if size <= 0 or size % 4 or at + size > len(dgram):
            raise WireError(f"bundle element size {size} at byte {at - 4} does not fit the {len(dgram)}-byte bundle")
        element = dgram[at:at + size]
        messages += _bundle(element, depth + 1) if element.startswith(BUNDLE_TAG) else [_message(element)]
        at += size
    return messages


def _message(dgram: bytes) -> OscMessage:
    address, at = _string(dgram, 0)
    if not address.startswith("/"):
        raise WireError(f"OSC address must start with '/', got {address[:40]!r}")
    if at == len(dgram):
        return OscMessage(address, "", ())  # no typetag string at all: an old-style message without arguments
    tags, at = _string(dgram, at)
    if not tags.startswith(","):
        raise WireError(f"typetag string must start with ',', got {tags[:40]!r} after {address[:60]}")
    args = []
    for tag in tags[1:]:
        value, at = _argument(tag, dgram, at)
        args.append(value)
    if at != len(dgram):
        raise WireError(f"{len(dgram) - at} bytes left over after the arguments ',{tags[1:41]}' of {address[:60]}")
    return OscMessage(address, tags[1:], tuple(args))


def _argument(tag: str, dgram: bytes, at: int):
    if tag in _FIXED:
        return _unpack(*_FIXED[tag], dgram, at)
    if tag in _CONST:
        return _CONST[tag], at
    if tag in "sS":
        return _string(dgram, at)
    if tag == "b":
        size, at = _unpack(">i", 4, dgram, at)
        end = at + size
        if size < 0 or end > len(dgram):
            raise WireError(f"blob of {size} bytes at byte {at - 4} overruns the {len(dgram)}-byte datagram")
        return dgram[at:end], end + (-size % 4)
    if tag in "cm":
        code, at = _unpack(">I", 4, dgram, at)
        return (chr(code & 0x10FFFF) if tag == "c" else code.to_bytes(4, "big")), at
    raise WireError(f"unsupported OSC typetag {tag!r} (supported: i h f d s S b T F N I t c r m)")


def _string(dgram: bytes, at: int) -> tuple[str, int]:
    end = dgram.find(b"\0", at)
    if end < 0:
        raise WireError(f"string at byte {at} has no NUL terminator")
    try:
        text = dgram[at:end].decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(f"string at byte {at} is not UTF-8") from None
    return text, end + 4 - (end % 4)


def _unpack(fmt: str, size: int, dgram: bytes, at: int):
    if at + size > len(dgram):
        raise WireError(f"argument at byte {at} needs {size} bytes, the datagram ends at {len(dgram)}")
    return struct.unpack_from(fmt, dgram, at)[0], at + size


# Encoding: strings, 32-bit floats and ints are all we ever send.
def encode(address: str, *args) -> bytes:
    """One OSC message; args are str ('s'), bool ('T'/'F'), int ('i') or float ('f')."""
    tags, data = [","], []
    for value in args:
        if isinstance(value, bool):
            tags.append("T" if value else "F")
        elif isinstance(value, str):
            tags.append("s")
            data.append(_pad(value.encode("utf-8")))
        elif isinstance(value, int):
            tags.append("i")
            data.append(struct.pack(">i", value))
        else:
            tags.append("f")
            data.append(struct.pack(">f", float(value)))
    return _pad(address.encode("utf-8")) + _pad("".join(tags).encode()) + b"".join(data)


def encode_bundle(messages: list[bytes], timetag: int = 1) -> bytes:
    """A bundle of already-encoded messages; timetag 1 means 'immediately' (NTP fixed point otherwise)."""
    body = b"".join(struct.pack(">i", len(m)) + m for m in messages)
    return BUNDLE_TAG + struct.pack(">Q", timetag) + body


def _pad(raw: bytes) -> bytes:
    """NUL-terminate and pad to a multiple of 4 bytes (always at least one NUL)."""
    return raw + b"\0" * (4 - len(raw) % 4)
