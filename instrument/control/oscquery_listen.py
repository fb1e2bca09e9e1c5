"""OSCQuery LISTEN / IGNORE (Vidvox proposal): value streams over a WebSocket on the OSCQuery HTTP port.

    client ──> {"COMMAND": "LISTEN", "DATA": "/instrument/spring/stiffness"}   (a text frame, JSON)
    client <── binary frames, each one OSC message: /instrument/spring/stiffness ,f 12.0
    client ──> {"COMMAND": "IGNORE", "DATA": "/instrument/spring/stiffness"}

One thread ("oscquery-listen") compares the store with what each client last got, at most LISTEN_HZ, and sends the
changes; the connection threads only record which addresses a client listens to. Values are typed as the JSON
tree types them (f, i, T/F, enum labels as s). A bad command is counted and answered with nothing.
"""

from __future__ import annotations

import json
import math
import threading

from instrument.control.osc_routes import address_of
from instrument.control.osc_wire import encode
from instrument.params import Param, ParamStore

LISTEN_HZ = 30.0
MAX_LISTENERS = 16          # open WebSockets at once; more are refused with HTTP 503
MAX_COMMAND_BYTES = 4096


class Listener:
    """One WebSocket client: the parameter slots it listens to and the values it last received."""

    def __init__(self, connection):
        self.connection = connection
        self.slots: frozenset[int] = frozenset()   # replaced whole by the connection thread, read by the sender
        self.sent: dict[int, float] = {}


class ListenHub:
    """Every listener, and the thread that streams their values."""

    def __init__(self, store: ParamStore, rate_hz: float = LISTEN_HZ):
        self.store, self.period_s = store, 1.0 / rate_hz
        self._slot_of = {address_of(p.name): i for i, p in enumerate(store.params)}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()              # the list of listeners only
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.commands = self.command_errors = self.sent = self.send_errors = 0

    @property
    def count(self) -> int:
        return len(self._listeners)

    # ---- the connection threads ------------------------------------------------------------------------------
    def serve(self, connection) -> None:
        """Run one client's connection: read commands until it closes (websockets calls this on its thread)."""
        listener = Listener(connection)
        with self._lock:
            self._listeners.append(listener)
        try:
            for message in connection:
                self.command(listener, message)
        except Exception:  # why: a client vanishing mid-frame ends its connection, never the server
            self.command_errors += 1
        finally:
            with self._lock:
                self._listeners.remove(listener)

    def command(self, listener: Listener, message) -> None:
        """Apply one LISTEN / IGNORE frame; anything else is counted as an error."""
        self.commands += 1
        try:
            verb, slot = self._parse(message)
        except ValueError:
            self.command_errors += 1
            return
        if verb == "LISTEN":
            listener.sent.pop(slot, None)          # the current value goes out at the next tick
            listener.slots = listener.slots | {slot}
        else:
            listener.slots = listener.slots - {slot}

    def _parse(self, message) -> tuple[str, int]:
        if not isinstance(message, str) or len(message) > MAX_COMMAND_BYTES:
            raise ValueError("not a text frame of JSON")
        doc = json.loads(message)                  # JSONDecodeError is a ValueError
        if not isinstance(doc, dict) or doc.get("COMMAND") not in ("LISTEN", "IGNORE"):
            raise ValueError("COMMAND must be LISTEN or IGNORE")
        slot = self._slot_of.get(doc.get("DATA"))
        if slot is None:
            raise ValueError("DATA must be a parameter's address")
        return doc["COMMAND"], slot

    # ---- the sender thread -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="oscquery-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.tick()

    def tick(self) -> None:
        """Send every listened value that changed since the listener last got it."""
        values = self.store.values.copy()
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            for slot in listener.slots:
                value = float(values[slot])
                if listener.sent.get(slot) != value:
                    listener.sent[slot] = value
                    self._send(listener, osc_value(self.store.params[slot], value))

    def _send(self, listener: Listener, data: bytes) -> None:
        try:
            listener.connection.send(data)
            self.sent += 1
        except Exception:  # why: a closed or broken connection is counted; its thread removes it
            self.send_errors += 1

    def stats(self) -> dict:
        return {"oscquery_listeners": self.count, "oscquery_commands": self.commands,
                "oscquery_command_errors": self.command_errors, "oscquery_sent": self.sent}


def osc_value(p: Param, value: float) -> bytes:
    """One OSC message with a parameter's value typed as OSCQuery's TYPE says: f, i, T/F or an enum's label."""
    if p.kind == "enum":
        return encode(address_of(p.name), p.choices[int(value)])
    if p.kind == "bool":
        return encode(address_of(p.name), value >= 0.5)
    if p.kind == "int":
        return encode(address_of(p.name), int(value))
    return encode(address_of(p.name), value if math.isfinite(value) else 0.0)
