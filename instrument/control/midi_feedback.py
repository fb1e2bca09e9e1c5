"""Value feedback to controllers: LED rings, button lights and motor faders follow changes made elsewhere.

A thread ("midi-feedback") wakes at most FEEDBACK_HZ, compares every bound parameter's value (as the control's
7- or 14-bit position) with what the controller last showed, and sends the difference to the output ports of the
devices whose inputs are open. What the controller last showed is what we last sent or what it last sent us
(`MidiRouter.echo`), so a fader being moved is never echoed back at itself. Nothing here runs on a port callback.

    cc          value (7-bit), or MSB on cc n then LSB on cc n+32 (14-bit)
    note        note on velocity 127 when the value is in the upper half, note off otherwise (button lights)
    nrpn        99/98 select, then data entry 6 (and 38 for 14-bit)
    pitchbend   not sent (motorised pitch wheels are rare)
"""

from __future__ import annotations

import re
import threading

from instrument.control.midi_map import OMNI, Binding, Mapping

FEEDBACK_HZ = 30.0
RESCAN_S = 2.0
_JACK_DUPLICATE = re.compile(r"-\d{2}$")                        # JACK renames a second client 'x' to 'x-01'
_A2J = re.compile(r"^(?P<device>.*?) \[\d+\] \((capture|playback)\)")  # a2jmidid: 'a2j:nanoKONTROL2 [20] (capture)'


def device_of(port_name: str) -> str:
    """The device a port belongs to, so an input finds the output of the same controller.

    'nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0' -> 'nanoKONTROL2'; 'dev-01:leds' -> 'dev';
    'a2j:nanoKONTROL2 [20] (playback): nanoKONTROL2 MIDI 1' -> 'nanoKONTROL2'."""
    client, _, port = port_name.partition(":")
    bridged = _A2J.match(port.strip()) if client == "a2j" else None
    return bridged["device"] if bridged else _JACK_DUPLICATE.sub("", client)


def position(b: Binding, value: float) -> int:
    """The raw control value (0..127, or 0..16383 for a 14-bit binding) that shows `value`."""
    top = 16383 if b.bits == 14 else 127
    return round(b.unit_of(value) * top)


def messages_for(b: Binding, code: int, channel: int) -> list[list[int]]:
    """MIDI bytes that set control `b` on `channel` to raw value `code` (see the module table)."""
    status = 0xB0 | channel
    if b.type == "cc" and b.bits == 14:
        return [[status, b.number, code >> 7], [status, b.number + 32, code & 0x7F]]
    if b.type == "cc":
        return [[status, b.number, code]]
    if b.type == "note":
        lit = code >= (64 if b.bits == 7 else 8192)
        return [[0x90 | channel, b.number, 127]] if lit else [[0x80 | channel, b.number, 0]]
    if b.type == "nrpn":
        select = [[status, 99, b.number >> 7], [status, 98, b.number & 0x7F]]
        data = [[status, 6, code >> 7], [status, 38, code & 0x7F]] if b.bits == 14 else [[status, 6, code]]
        return select + data
    return []


class FeedbackState:
    """What each bound control shows; `changes` says what to send. Pure: values and echoes in, bytes out."""

    def __init__(self):
        self.shown: dict[tuple, int] = {}    # binding key -> raw value the controller shows (we sent or it sent)
        self._seen: dict[tuple, int] = {}    # binding key -> serial of the last echo taken into account
        self._told: set[tuple] = set()       # keys whose shown value the controller itself reported

    def forget(self) -> None:
        """A new output port: everything is sent again, except what the controller told us it shows."""
        self.shown = {key: code for key, code in self.shown.items() if key in self._told}

    def changes(self, mapping: Mapping, values, slot_of: dict[str, int], echo: dict[tuple, tuple]) -> list[list[int]]:
        """Bytes for every bound control whose value moved away from what the controller shows."""
        out: list[list[int]] = []
        for b in list(mapping.bindings.values()):
            if not b.param or b.type == "pitchbend":
                continue
            channel, received, serial = echo.get(b.key, (None, None, 0))
            if serial != self._seen.get(b.key, 0):       # the controller moved since: it shows what it sent
                self._seen[b.key] = serial
                if received is not None:
                    self.shown[b.key] = received
                    self._told.add(b.key)
            code = position(b, float(values[slot_of[b.param]]))
            if self.shown.get(b.key) == code:
                continue
            self.shown[b.key] = code
            self._told.discard(b.key)
            out += messages_for(b, code, channel if b.channel == OMNI and channel is not None else max(b.channel, 0))
        return out


class MidiFeedback:
    """The "midi-feedback" thread: opens the outputs of the devices `midi` reads from and keeps their lights in
    step with the parameters. Errors are counted in the router's `midi_errors`, never raised."""

    def __init__(self, midi, rate_hz: float = FEEDBACK_HZ, rescan_s: float = RESCAN_S):
        self.midi, self.router, self.store = midi, midi.router, midi.router.store
        self.period_s, self.rescan_every = 1.0 / rate_hz, max(1, round(rescan_s * rate_hz))
        self.state = FeedbackState()
        self.slot_of = dict(self.store.index)
        self.sent = 0
        self._outs: dict[str, object] = {}
        self._opened: list[str] = []             # outputs opened at the last rescan
        self._spares: list = []                  # closed clients, reused (see MidiInput._close for why)
        self._scanner = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def open_ports(self) -> list[str]:
        return sorted(self._outs)

    def start(self) -> "MidiFeedback":
        from instrument.control.midi import new_port  # why here: midi imports this module
        try:
            self._scanner = new_port("out", self.midi.api, f"{self.midi.client_name}-feedback")
        except Exception as exc:
            self.router.record_error(f"MIDI feedback off: cannot open an output client through {self.midi.api}: {exc}")
            return self
        self._thread = threading.Thread(target=self._run, name="midi-feedback", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self.period_s):
            if ticks % self.rescan_every == 0:
                self.rescan()
            ticks += 1
            self.tick()

    def tick(self) -> None:
        """Send what changed to every open output."""
        if not self._outs:
            return
        data = self.state.changes(self.router.mapping, self.store.values, self.slot_of, self.router.echo)
        for name, port in list(self._outs.items()):
            for message in data:
                try:
                    port.send_message(message)
                    self.sent += 1
                except Exception as exc:
                    self.router.record_error(f"MIDI feedback to '{name}': {exc}")
                    break

    def rescan(self) -> None:
        """Open the outputs of devices with an open input; close outputs that vanished or lost their input."""
        try:
            names = self._scanner.get_ports()
        except Exception as exc:  # why: a dying server must not end the thread
            self.router.record_error(f"cannot list MIDI outputs through {self.midi.api}: {exc}")
            return
        devices = {device_of(n) for n in self.midi.open_ports}
        wanted = {n: i for i, n in enumerate(names) if device_of(n) in devices}
        for name in [n for n in self._outs if n not in wanted]:
            self._close(name)
        if self._opened:  # why: JACK connects a new port a cycle or more later; the first dump may go nowhere
            self.state.forget()
        self._opened = [name for name, index in wanted.items() if name not in self._outs and self._open(index, name)]

    def _open(self, index: int, name: str) -> bool:
        from instrument.control.midi import new_port
        try:
            port = self._spares.pop() if self._spares else new_port("out", self.midi.api, self.midi.client_name)
            port.open_port(index, "feedback")
        except Exception as exc:
            self.router.record_error(f"cannot open MIDI output '{name}' for feedback: {exc}")
            return False
        self._outs[name] = port
        self.state.forget()  # why: a controller plugged in late gets every value (and again at the next rescan)
        return True

    def _close(self, name: str) -> None:
        port = self._outs.pop(name)
        try:
            port.close_port()
            self._spares.append(port)
        except Exception as exc:
            self.router.record_error(f"closing MIDI output '{name}': {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        for port in [*self._outs.values(), *self._spares] + ([self._scanner] if self._scanner else []):
            try:
                port.close_port()
                port.delete()
            except Exception as exc:
                self.router.record_error(f"closing MIDI feedback: {exc}")
        self._outs, self._spares, self._scanner = {}, [], None

    def stats(self) -> dict:
        return {"midi_feedback_ports": len(self._outs), "midi_feedback_sent": self.sent}
