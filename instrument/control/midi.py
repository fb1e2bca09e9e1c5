"""MIDI input ports: opens controllers through python-rtmidi, hands each message to a `MidiRouter`.

Port callbacks run on rtmidi's threads (JACK's process thread under JACK): they stamp the message with
`time.perf_counter()` and route it at once (a `store.set` or a `conductor.post`), nothing more. A thread named
"midi-rescan" opens hot-plugged ports, drops vanished ones and saves a mapping MIDI learn changed. With feedback
on (`feedback = true` in the mapping, or --midi-feedback), "midi-feedback" lights the same devices' outputs.
Without a usable MIDI API the instrument still plays: `MidiInput.message` says why there is no MIDI.
"""

from __future__ import annotations

import glob
import os
import sys
import threading
import time
from pathlib import Path

from instrument.control.midi_feedback import MidiFeedback
from instrument.control.midi_map import USER_MAP_PATH, Mapping
from instrument.control.midi_router import MidiRouter

try:
    import rtmidi
except ImportError:  # pragma: no cover - rtmidi is a dependency; this keeps the instrument playable without it
    rtmidi = None

RESCAN_S = 2.0
API_NAMES = ("jack", "alsa", "coremidi", "winmm")


def _api_ids() -> dict[str, int]:
    if rtmidi is None:
        return {}
    return {"jack": rtmidi.API_UNIX_JACK, "alsa": rtmidi.API_LINUX_ALSA, "coremidi": rtmidi.API_MACOSX_CORE,
            "winmm": rtmidi.API_WINDOWS_MM}


def _jack_may_run() -> bool:
    """Cheap check before asking libjack (which prints to stderr when no server runs)."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev/shm"):
        return True
    return bool(glob.glob(f"/dev/shm/jack_*_{os.getuid()}_*"))


def _candidates(api: str) -> list[str]:
    if api != "auto":
        return [api]
    compiled = {name for name, ident in _api_ids().items() if ident in rtmidi.get_compiled_api()}
    order = [name for name in API_NAMES if name in compiled]
    if "jack" in order and not _jack_may_run():
        order.remove("jack")
    return order


def open_scanner(api: str, client_name: str) -> tuple[object | None, str, str]:
    """(an unopened rtmidi.MidiIn to list ports with, the API name, a one-line message); None when no API works."""
    if rtmidi is None:
        return None, "", "MIDI off: python-rtmidi is not installed; pip install python-rtmidi"
    if api not in ("auto", *API_NAMES):
        return None, "", f"MIDI off: unknown MIDI API '{api}'; use auto, {', '.join(API_NAMES)}"
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # why: never spawn a JACK server behind the user's back
    tried = []
    for name in _candidates(api):
        try:
            return rtmidi.MidiIn(_api_ids()[name], client_name), name, f"MIDI through {name}"
        except (rtmidi.SystemError, rtmidi.RtMidiError, RuntimeError) as exc:  # no server / no sequencer
            tried.append(f"{name} ({str(exc).splitlines()[0]})")
    found = "; ".join(tried) or "no JACK server running and no other MIDI API compiled in"
    return None, "", f"MIDI off: {found}; start jackd (or load snd-seq for ALSA) and restart to play from MIDI"


def new_port(kind: str, api: str, client_name: str):
    """An unopened rtmidi MidiIn ('in') or MidiOut ('out') client on a named API."""
    return (rtmidi.MidiIn if kind == "in" else rtmidi.MidiOut)(_api_ids()[api], client_name)


def matches(port_name: str, patterns: list[str] | None) -> bool:
    """True if no patterns were given or any pattern is a (case-insensitive) substring of the port's name."""
    return patterns is None or any(p.lower() in port_name.lower() for p in patterns)


class MidiInput:
    """Every MIDI input port (or those whose names contain one of `ports`) driving `store` and `conductor`."""

    def __init__(self, store, conductor, mapping: Mapping, api: str = "auto", ports: list[str] | None = None,
                 user_path: str | Path = USER_MAP_PATH, client_name: str = "instrument", rescan_s: float = RESCAN_S,
                 feedback: bool | None = None):
        self._wake, self._stop = threading.Event(), threading.Event()
        self.router = MidiRouter(store, conductor, mapping, user_path, on_learned=self._wake.set)
        self.patterns = list(ports) if ports else None
        self.client_name, self.rescan_s = client_name, rescan_s
        self._scanner, self.api, self.message = open_scanner(api, client_name)
        self._ports: dict[str, object] = {}
        self._spares: list = []  # closed rtmidi inputs, reused for the next port that appears
        self._ports_lock = threading.Lock()
        self.ports_opened = self.ports_dropped = self.rescans = 0
        self._thread: threading.Thread | None = None
        self.feedback_on = mapping.feedback if feedback is None else feedback  # None: as the mapping says
        self.feedback: MidiFeedback | None = None

    @property
    def available(self) -> bool:
        return self._scanner is not None

    @property
    def open_ports(self) -> list[str]:
        with self._ports_lock:  # why: the feedback thread reads it while the rescan thread changes it
            return sorted(self._ports)

    def start(self) -> "MidiInput":
        """Open the matching ports now and keep rescanning; without a MIDI API this only keeps `message`."""
        if self._scanner is None or self._thread is not None:
            return self
        self.rescan()
        self._thread = threading.Thread(target=self._run, name="midi-rescan", daemon=True)
        self._thread.start()
        if self.feedback_on:
            self.feedback = MidiFeedback(self, rescan_s=self.rescan_s).start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.rescan_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.router.save_learned()
            self.rescan()

    def rescan(self) -> None:
        """Open ports that appeared, close ports that vanished; errors are counted, never raised."""
        try:
            names = self._scanner.get_ports()
        except Exception as exc:  # why: a dying server must not kill the rescan thread
            self.router.record_error(f"cannot list MIDI ports through {self.api}: {exc}; is the server still running?")
            return
        self.rescans += 1
        with self._ports_lock:
            for name in [n for n in self._ports if n not in names]:
                self._close(name)
                self.ports_dropped += 1
            for index, name in enumerate(names):
                if name not in self._ports and matches(name, self.patterns) and not self._own(name):
                    self._open(index, name)

    def _own(self, name: str) -> bool:
        return name.split(":", 1)[0].startswith(self.client_name)

    def _open(self, index: int, name: str) -> None:
        try:
            port = self._spares.pop() if self._spares else new_port("in", self.api, self.client_name)
            port.ignore_types(sysex=True, timing=False, active_sense=True)  # why: clock ticks carry the tempo
            port.set_callback(self._callback, name)
            port.open_port(index, "in")
        except Exception as exc:
            self.router.record_error(f"cannot open MIDI port '{name}': {exc}; check it is not held exclusively elsewhere")
            return
        self._ports[name] = port
        self.ports_opened += 1

    def _close(self, name: str, delete: bool = False) -> None:
        """Close a port; its client is kept for the next port unless `delete`.

        Why: closing a JACK client while another client of this process closes (a sender in a test, another
        library) deadlocks inside libjack, so clients live until `stop`.
        """
        port = self._ports.pop(name)
        try:
            port.cancel_callback()
            port.close_port()
            if delete:
                port.delete()
            else:
                self._spares.append(port)
        except Exception as exc:
            self.router.record_error(f"closing MIDI port '{name}': {exc}")

    def _callback(self, event, port_name: str) -> None:
        t_s = time.perf_counter()
        try:
            self.router.handle_bytes(event[0], t_s, port_name)
        except Exception as exc:  # why: nothing may raise into rtmidi's thread; handle_bytes already guards
            self.router.record_error(f"MIDI callback for '{port_name}': {exc}")

    def stop(self) -> None:
        """Stop rescanning, close every port and the scanner; saves a pending learned mapping."""
        self._stop.set()
        self._wake.set()
        if self.feedback is not None:
            self.feedback.stop()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        with self._ports_lock:
            for name in list(self._ports):
                self._close(name, delete=True)
            while self._spares:
                self._spares.pop().delete()
        self.router.save_learned()
        if self._scanner is not None:
            self._scanner.delete()
            self._scanner = None

    def stats(self) -> dict:
        feedback = self.feedback.stats() if self.feedback is not None else {}
        return {**self.router.stats(), **feedback, "midi_api": self.api or "off", "midi_ports_open": len(self._ports),
                "midi_ports_opened": self.ports_opened, "midi_ports_dropped": self.ports_dropped}

    def arm(self, target: str, *args) -> None:
        """MIDI learn: the next control moved is bound to `target` and the mapping is saved to `user_path`."""
        self.router.arm(target, *args)

    def arm_last(self) -> str:
        """MIDI learn for the parameter last changed from OSC or keys; returns the notice saying what is armed."""
        return self.router.arm_last()

    def __enter__(self) -> "MidiInput":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
