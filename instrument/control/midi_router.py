"""Applies MIDI to the instrument: messages -> control events -> ParamStore.set / Conductor.post, plus MIDI learn.

Runs inside port callbacks (JACK's process thread under JACK), so each message costs a dict look-up, a
`store.set` or a `conductor.post`, and never raises: a bad message is counted and kept in `last_error`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import mido

from instrument.control.midi_decode import ClockTempo, ControlDecoder, ControlEvent, PickUp, relative_ticks
from instrument.control.midi_map import (ACTIONS, ROUTER_ACTIONS, USER_MAP_PATH, Binding, Mapping, MappingError,
                                         _hint, parse_binding)
from instrument.latent.conductor import Action
from instrument.params import ParamStore

COUNTERS = ("midi_messages", "midi_errors", "midi_unbound", "midi_blocked", "midi_params", "midi_actions",
            "midi_learned")
TEMPO_PARAM = "journey.bpm"   # the clock's tempo reaches the conductor as this value, so a z-log replays it
TEMPO_STEP_BPM = 0.1          # written rounded to this: clock jitter must not write the store 24 times a beat


class MidiRouter:
    """Routes messages from any number of ports (one decoder each) through one Mapping.

    `on_learned` is called (from the callback thread) after MIDI learn added a binding; by default the mapping is
    saved there and then. `MidiInput` passes a hook that wakes its own thread instead, which calls `save_learned`.
    """

    def __init__(self, store: ParamStore, conductor, mapping: Mapping, user_path: str | Path = USER_MAP_PATH,
                 on_learned: Callable[[], None] | None = None):
        self.store, self.conductor, self.mapping = store, conductor, mapping
        self.user_path = Path(user_path)
        self.on_learned = on_learned or self.save_learned
        self.last_param: Callable[[], str] = lambda: ""  # the parameter last changed from OSC or keys (engine sets)
        self.notice, self.notice_at_s = "", 0.0           # the last MIDI-learn message for the HUD, and when
        self.echo: dict[tuple, tuple] = {}                # binding key -> (channel, raw value | None, serial) received
        self.tempo = ClockTempo()
        self._tempo_written = 0.0
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.last_error = ""
        self._lock = threading.Lock()  # why: several ports call back from several threads
        self._decoders: dict[str, ControlDecoder] = {}
        self._pickups: dict[tuple, PickUp] = {}
        self._pressed: dict[tuple, bool] = {}
        self._armed: dict | None = None
        self._armed_by: Binding | None = None
        self._learned: Binding | None = None
        self._save_pending = self._just_learned = False

    # ---- input, from callback threads --------------------------------------------------------------------
    def handle_bytes(self, data, t_s: float, source: str = "") -> None:
        """Parse one complete message's bytes with mido and route it; malformed bytes are counted."""
        try:
            msg = mido.Message.from_bytes(data)
        except Exception as exc:  # why: any bytes at all may arrive; none may raise into rtmidi
            self.counts["midi_messages"] += 1
            self.record_error(f"malformed MIDI from {source or 'a port'}: {data!r:.60} ({exc}); check the sender")
            return
        self.handle(msg, t_s, source)

    def handle(self, msg, t_s: float, source: str = "") -> None:
        """Route one mido message that arrived at time t_s (perf_counter seconds); never raises."""
        self.counts["midi_messages"] += 1
        try:
            with self._lock:
                self._route(msg, t_s, source)
                learned, self._just_learned = self._just_learned, False
            if learned:
                self.on_learned()  # why: outside the lock, since the default hook saves under it
        except Exception as exc:  # why: an exception must never escape into rtmidi's callback thread
            self.record_error(f"MIDI {getattr(msg, 'type', '?')} from {source or 'a port'}: {exc}")

    def record_error(self, line: str) -> None:
        self.counts["midi_errors"] += 1
        self.last_error = line.replace("\n", " ")

    def _route(self, msg, t_s: float, source: str) -> None:
        if msg.type == "clock":
            self.tempo.tick(t_s)
            self._write_tempo()
            return
        if msg.type in ("start", "stop"):
            self.tempo.reset()
            return
        event = self._decoder(source).feed(msg)
        if event is None:
            return
        binding = self.mapping.lookup(*event.key)
        arming_button = binding is not None and binding is self._armed_by  # why: its release must not be learned
        if (self._armed is not None and not arming_button) or self._widen_learned(event):
            self._learn(event)
            return
        if binding is None:
            self.counts["midi_unbound"] += 1
        elif binding.param:
            self._apply_param(binding, event)
        else:
            self._apply_action(binding, event)

    def _write_tempo(self) -> None:
        bpm = round(self.tempo.bpm / TEMPO_STEP_BPM) * TEMPO_STEP_BPM
        if bpm > 0 and abs(bpm - self._tempo_written) >= TEMPO_STEP_BPM / 2:
            self._tempo_written = self.store.set(TEMPO_PARAM, bpm)

    def _decoder(self, source: str) -> ControlDecoder:
        decoder = self._decoders.get(source)
        if decoder is None:
            decoder = self._decoders[source] = ControlDecoder(self.mapping.wide_ccs())
        return decoder

    # ---- parameters --------------------------------------------------------------------------------------
    def _apply_param(self, b: Binding, event: ControlEvent) -> None:
        current = self.store.values[self.store.slot(b.param)]
        if event.ticks:
            u = b.unit_of(current) + event.ticks * b.step
        elif b.relative:
            u = b.unit_of(current) + relative_ticks(event.value & 0x7F, b.mode) * b.step
        elif b.mode == "toggle":
            if event.value == 0:
                return
            u = 0.0 if b.unit_of(current) >= 0.5 else 1.0
        else:
            u = event.unit(b.bits)
            if b.takeover and b.type != "note" and not self._pickup(b).admit(u, current, b.unit_of(current)):
                self.counts["midi_blocked"] += 1
                return
        self._pickup(b).written = self.store.set(b.param, b.value_at(u))
        absolute = not (event.ticks or b.relative or b.mode == "toggle")
        self.counts["midi_params"] += 1
        raw = round(u * (16383 if b.bits == 14 else 127)) if absolute else None  # what the control now shows
        self.echo[b.key] = (event.channel, raw, self.counts["midi_params"])  # read by MidiFeedback

    def _pickup(self, b: Binding) -> PickUp:
        pickup = self._pickups.get(b.key)
        if pickup is None:  # why: the value at first sight counts as ours, so an untouched parameter follows at once
            pickup = self._pickups[b.key] = PickUp(written=self.store.get(b.param))
        return pickup

    # ---- actions ------------------------------------------------------------------------------------------
    def _apply_action(self, b: Binding, event: ControlEvent) -> None:
        """Fire on a press: note on, or a CC crossing the middle upwards; note velocity scales a kick."""
        down = event.value > 0 if event.type == "note" else event.unit(7) >= 0.5
        was_down, self._pressed[b.key] = self._pressed.get(b.key, False), down
        if not down or (was_down and event.type != "note"):
            return
        if b.action in ROUTER_ACTIONS:
            self._arm_last(b)
            return
        args = b.args
        if b.action == "kick" and event.type == "note":
            args = (float(args[0] if args else 1.0) * event.value / 127.0,)
        self.conductor.post(Action(b.action, tuple(args)))
        self.counts["midi_actions"] += 1

    # ---- MIDI learn ---------------------------------------------------------------------------------------
    def arm(self, target: str, *args) -> None:
        """Bind the next control that moves to `target` (a parameter, or an action with its args)."""
        if target in self.store.index:
            row = {"param": target}
        elif target in ACTIONS:
            row = {"action": target, "args": list(args)}
        else:
            choices = list(self.store.index) + list(ACTIONS)
            raise MappingError(f"cannot learn '{target}': not a parameter or action{_hint(target, choices)}")
        parse_binding({"type": "note", **row}, 0, f"learn '{target}'")  # why: bad action args fail now, not later
        with self._lock:
            self._armed, self._learned, self._armed_by = row, None, None
            self._say(f"MIDI learn armed: {target}; move a control")

    def arm_last(self) -> str:
        """Arm learn for the parameter last changed from OSC or keys (key l, OSC midi/learn_last); the notice."""
        with self._lock:
            self._arm_last(None)
            return self.notice

    def _arm_last(self, by: Binding | None) -> None:
        """Under the lock. `by`, the button that armed, is never learned itself (its release would steal it)."""
        name = self.last_param()
        if name not in self.store.index:
            self._say("MIDI learn: no parameter changed from OSC or keys yet; move one there first")
            return
        self._armed, self._learned, self._armed_by = {"param": name}, None, by
        self._say(f"MIDI learn armed: {name}; move a control")

    def _say(self, text: str) -> None:
        self.notice, self.notice_at_s = text, time.perf_counter()

    def disarm(self) -> None:
        with self._lock:
            self._armed = None
            self._say("MIDI learn disarmed")

    @property
    def armed(self) -> str | None:
        row = self._armed
        return None if row is None else row.get("param") or row.get("action")

    def _learn(self, event: ControlEvent) -> None:
        if event.type == "note" and event.value == 0:
            return  # why: a note off must not steal a learn armed while the key was held
        row = self._armed if self._armed is not None else self._learned_row(bits=14)
        where = f"learned {event.type} {event.number} on channel {event.channel}"
        binding = parse_binding({"type": event.type, "number": event.number, **row}, event.channel, where)
        self.mapping.add(binding)
        self._armed, self._learned = None, binding
        self._pickups.pop(binding.key, None)
        for decoder in self._decoders.values():
            decoder.wide_ccs = self.mapping.wide_ccs()
        self.counts["midi_learned"] += 1
        self._save_pending = self._just_learned = True
        target = binding.param or binding.action
        self._say(f"MIDI learn: {event.type} {event.number} on channel {event.channel + 1} -> {target}, saved")

    def _widen_learned(self, event: ControlEvent) -> bool:
        """True when `event` is the LSB half of the control just learned: that binding then becomes 14-bit."""
        b = self._learned
        if b is None or b.bits == 14:
            return False
        lsb_cc = b.type == "cc" and b.number < 32 and event.key == ("cc", b.channel, b.number + 32)
        lsb_nrpn = b.type == "nrpn" and event.key == b.key and event.lsb
        if not (lsb_cc or lsb_nrpn) and event.key != b.key:
            self._learned = None  # why: only the message right after the learned one may complete a pair
        return lsb_cc or lsb_nrpn

    def _learned_row(self, bits: int) -> dict:
        b = self._learned
        row = {"param": b.param} if b.param else {"action": b.action, "args": list(b.args)}
        return {**row, "bits": bits, "number": b.number, "type": b.type}

    def save_learned(self) -> bool:
        """Write the whole mapping to `user_path` (atomically) if learn changed it; errors are counted, not raised."""
        with self._lock:
            if not self._save_pending:
                return False
            self._save_pending = False
            snapshot = Mapping(self.mapping.name, dict(self.mapping.bindings))
        try:
            snapshot.save(self.user_path)
        except OSError as exc:
            self.record_error(f"cannot save learned MIDI mapping to {self.user_path}: {exc}; check the folder is writable")
            return False
        return True

    # ---- statistics ---------------------------------------------------------------------------------------
    def stats(self) -> dict:
        return {**self.counts, "midi_tempo_bpm": round(self.tempo.bpm, 2), "midi_armed": self.armed or "",
                "midi_last_error": self.last_error}
