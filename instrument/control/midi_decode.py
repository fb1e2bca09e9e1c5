"""From mido messages to control events: 14-bit CC pairs, NRPN, relative encoder ticks, clock tempo, pick-up.

Pure state machines on messages and numbers, no ports and no threads; `midi_router` drives them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

NRPN_MSB, NRPN_LSB, RPN_MSB, RPN_LSB = 99, 98, 101, 100  # parameter-number select
DATA_MSB, DATA_LSB = 6, 38                               # data entry
DATA_INC, DATA_DEC = 96, 97                              # data increment / decrement of the selected (N)RPN
TICKS_PER_BEAT = 24                                      # MIDI clock: 0xF8 messages per quarter note
MAX_7, MAX_14 = 127, 16383


@dataclass(frozen=True)
class ControlEvent:
    type: str       # cc | note | pitchbend | nrpn
    channel: int    # 0..15
    number: int     # cc / note / nrpn number; 0 for pitchbend
    value: int      # 0..127 when bits == 7, 0..16383 when bits == 14; notes: velocity, 0 = note off
    bits: int = 7
    lsb: bool = False  # this event came from an LSB (cc n+32 or data entry 38)
    ticks: int = 0     # data increment (+1) / decrement (-1) of an NRPN: a relative step, value unused

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.type, self.channel, self.number)

    def unit(self, bits: int) -> float:
        """The value as a 0..1 control position, read with a binding's resolution (7 or 14 bits)."""
        if self.bits == 14 and bits == 7:
            return (self.value >> 7) / MAX_7
        return self.value / (MAX_7 if self.bits == 7 else MAX_14)


@dataclass
class _ParamNumber:
    """Per-channel (N)RPN selection state."""
    msb: int | None = None
    lsb: int | None = None
    rpn: bool = False           # an RPN is selected: its data entry is consumed, not routed
    data_msb: int | None = None

    @property
    def nrpn(self) -> int | None:
        if self.rpn or self.msb is None or self.lsb is None or (self.msb, self.lsb) == (127, 127):
            return None
        return self.msb << 7 | self.lsb


class ControlDecoder:
    """Turns one port's channel messages into ControlEvents; keeps 14-bit and NRPN state per channel.

    `wide_ccs` names the (channel, cc) pairs bound as 14-bit: their MSB resets the LSB to 0 (as the MIDI spec
    says), and cc+32 then updates the low 7 bits. CC 98..101 are always taken as (N)RPN selects.
    """

    def __init__(self, wide_ccs: frozenset[tuple[int, int]] = frozenset()):
        self.wide_ccs = wide_ccs
        self._msb: dict[tuple[int, int], int] = {}
        self._pn = [_ParamNumber() for _ in range(16)]

    def feed(self, msg) -> ControlEvent | None:
        """The control event a message makes, or None (selects, clock, sysex, half a pair...)."""
        kind = msg.type
        if kind == "control_change":
            return self._cc(msg.channel, msg.control, msg.value)
        if kind == "note_on":
            return ControlEvent("note", msg.channel, msg.note, msg.velocity)
        if kind == "note_off":
            return ControlEvent("note", msg.channel, msg.note, 0)
        if kind == "pitchwheel":
            return ControlEvent("pitchbend", msg.channel, 0, msg.pitch + 8192, 14)
        return None

    def _cc(self, channel: int, number: int, value: int) -> ControlEvent | None:
        if number in (NRPN_MSB, NRPN_LSB, RPN_MSB, RPN_LSB):
            self._select(self._pn[channel], number, value)
            return None
        pn = self._pn[channel]
        if number in (DATA_MSB, DATA_LSB) and (pn.rpn or pn.nrpn is not None):
            return self._data(channel, pn, number, value)
        if number in (DATA_INC, DATA_DEC) and (pn.rpn or pn.nrpn is not None):
            return self._step(channel, pn, number)
        if (channel, number) in self.wide_ccs:
            self._msb[(channel, number)] = value
            return ControlEvent("cc", channel, number, value << 7, 14)
        if 32 <= number < 64 and (channel, number - 32) in self.wide_ccs:
            return self._wide_lsb(channel, number - 32, value)
        return ControlEvent("cc", channel, number, value)

    def _wide_lsb(self, channel: int, number: int, value: int) -> ControlEvent | None:
        msb = self._msb.get((channel, number))
        if msb is None:  # why: an LSB before any MSB has nothing to complete
            return None
        return ControlEvent("cc", channel, number, msb << 7 | value, 14, lsb=True)

    @staticmethod
    def _select(pn: _ParamNumber, number: int, value: int) -> None:
        if number in (RPN_MSB, RPN_LSB):
            pn.rpn, pn.msb, pn.lsb = True, None, None
        elif number == NRPN_MSB:
            pn.rpn, pn.msb = False, value
        else:
            pn.rpn, pn.lsb = False, value
        pn.data_msb = None

    @staticmethod
    def _step(channel: int, pn: _ParamNumber, number: int) -> ControlEvent | None:
        """Data increment/decrement: one tick per message whatever its value (RP-018 leaves the value unused)."""
        if pn.rpn:
            return None
        return ControlEvent("nrpn", channel, pn.nrpn, 0, 14, ticks=1 if number == DATA_INC else -1)

    @staticmethod
    def _data(channel: int, pn: _ParamNumber, number: int, value: int) -> ControlEvent | None:
        if pn.rpn:
            return None  # why: RPN data (pitch-bend range, tuning) must not move a knob bound to cc 6
        if number == DATA_MSB:
            pn.data_msb = value
            return ControlEvent("nrpn", channel, pn.nrpn, value << 7, 14)
        if pn.data_msb is None:
            return None
        return ControlEvent("nrpn", channel, pn.nrpn, pn.data_msb << 7 | value, 14, lsb=True)


# ---- relative encoders --------------------------------------------------------------------------------------
def relative_ticks(value: int, mode: str) -> int:
    """Signed ticks from one relative-encoder CC value.

    relative-twos    two's complement: 1..63 up, 127..64 down (127 = -1)
    relative-signed  sign-magnitude:   1..63 up, 65..127 down (65 = -1)
    relative-offset  binary offset 64: 65.. up, ..63 down (63 = -1)
    """
    if mode == "relative-twos":
        return value - 128 if value >= 64 else value
    if mode == "relative-signed":
        return -(value - 64) if value >= 64 else value
    if mode == "relative-offset":
        return value - 64
    raise ValueError(f"relative mode '{mode}' is not one of relative-twos, relative-signed, relative-offset")


# ---- soft takeover --------------------------------------------------------------------------------------------
@dataclass
class PickUp:
    """Soft takeover for one absolute control.

    While the parameter still holds what this control last wrote, every move applies. Once another source changed
    it, moves are ignored until the control crosses the parameter's position or comes within `tolerance` of it.
    """

    written: float | None = None   # the value this control last stored (or the value when the binding began)
    tolerance: float = 0.02        # control positions (0..1)
    last_u: float | None = None    # the control's previous position

    def admit(self, u: float, current: float, current_u: float) -> bool:
        previous, self.last_u = self.last_u, u
        if self.written is not None and current == self.written:
            return True
        if abs(u - current_u) <= self.tolerance:
            return True
        return previous is not None and (previous - current_u) * (u - current_u) <= 0


# ---- MIDI clock ----------------------------------------------------------------------------------------------
@dataclass
class ClockTempo:
    """Tempo from MIDI clock ticks: the mean tick interval over the last beat, smoothed by a one-pole filter."""

    smoothing: float = 0.25            # weight of each new estimate
    gap_s: float = 1.0                 # a pause this long restarts the estimate
    bpm: float = 0.0                   # 0 until two ticks have arrived
    ticks: int = 0
    _times_s: deque = field(default_factory=lambda: deque(maxlen=TICKS_PER_BEAT + 1))

    def tick(self, t_s: float) -> None:
        if self._times_s and not 0 < t_s - self._times_s[-1] < self.gap_s:
            self._times_s.clear()
        self._times_s.append(t_s)
        self.ticks += 1
        if len(self._times_s) < 2:
            return
        span_s = self._times_s[-1] - self._times_s[0]
        raw_bpm = 60.0 * (len(self._times_s) - 1) / (TICKS_PER_BEAT * span_s)
        self.bpm = raw_bpm if self.bpm == 0 else self.bpm + self.smoothing * (raw_bpm - self.bpm)

    def reset(self) -> None:
        """Start/stop: forget the tick history but keep the last tempo until new ticks arrive."""
        self._times_s.clear()
