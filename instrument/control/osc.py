"""The OSC server: one thread ("osc") that receives datagrams, applies them, answers errors and sends feedback.

    UDP 127.0.0.1:9000 ──> decode (osc_wire) ──> Route.apply ──> ParamStore.set | Conductor.post | actions hook
                      <── /instrument/error (at most ERROR_BURST, then ERROR_RATE_HZ per sender), /instrument/pong
    subscribers       <── /instrument/<param> <float> for every changed value, at most FEEDBACK_HZ

Handlers never block: a store write or an append to the conductor's queue. Bundles are applied as soon as they
arrive whatever their timetag (the conductor takes time from the engine, not from the wire). Feedback compares the
store's values with the last values sent, so changes from MIDI, keys or presets are echoed too, and it is sent from
this thread, never from the engine's realtime threads.
"""

from __future__ import annotations

import difflib
import select
import socket
import threading
import time
from typing import Callable

import numpy as np

from instrument.control.osc_routes import (PREFIX, OscArgError, Route, action_routes, address_of, hook_route,
                                           param_routes, reserved_routes)
from instrument.control.osc_wire import WireError, decode, encode
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore

FEEDBACK_HZ = 30.0
MAX_SUBSCRIBERS = 16
RECV_BYTES = 65536
RECV_BUFFER_BYTES = 1 << 20     # kernel receive buffer: absorbs a burst from a fader bank without drops
DRAIN_MAX = 256                 # datagrams read per wake-up before feedback gets its turn
STOP_JOIN_S = 2.0
ERROR_BURST = 20                # error replies a sender gets at once ...
ERROR_RATE_HZ = 10.0            # ... then this many a second: a flood of bad packets never becomes a flood of replies
MAX_LIMITED_SENDERS = 1024      # senders remembered by the limiter; beyond, the table starts afresh

Reply = tuple[bytes, tuple]     # (datagram, (host, port))


class OscServer:
    """OSC in and feedback out, on one thread; `start()`, `stop()`, `stats()` are all the engine calls."""

    def __init__(self, store: ParamStore, conductor: Conductor, host: str = "127.0.0.1", port: int = 9000,
                 actions: dict[str, Callable] | None = None, feedback_hz: float = FEEDBACK_HZ):
        self.store, self.conductor = store, conductor
        self.host, self.requested_port = host, int(port)
        self.feedback_period_s = 1.0 / feedback_hz
        self.messages = self.errors = self.malformed = self.send_errors = self.errors_unanswered = 0
        self.last_error = ""
        self.last_param = ""                        # the parameter an OSC message last set (for MIDI learn_last)
        self._limiter = ReplyLimiter(ERROR_BURST, ERROR_RATE_HZ, MAX_LIMITED_SENDERS)
        self._now_s = 0.0
        self.subscribers: dict[tuple, bool] = {}   # (host, port) -> still owed a full dump
        self._sent = store.values.copy()            # the values subscribers last received
        self._sent_version = -1
        self.routes: dict[str, Route] = {}
        for route in [*param_routes(store), *action_routes(store, conductor), *self._server_routes()]:
            self.routes[route.address] = route
        for name, fn in (actions or {}).items():
            self.add_action(name, fn)
        self._add_reserved()
        self._sender_routes = {f"{PREFIX}/ping": self._ping, f"{PREFIX}/subscribe": self._subscribe,
                               f"{PREFIX}/unsubscribe": self._unsubscribe}
        self._sock: socket.socket | None = None
        self._bound_port = 0
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = None
        self._stopping = threading.Event()

    # ---- wiring --------------------------------------------------------------------------------------------
    def add_action(self, name: str, fn: Callable, typetags: str = "", doc: str = "") -> None:
        """Register `/instrument/<name>` (e.g. 'record/start'); fn(*args) runs on the OSC thread, so keep it quick."""
        route = hook_route(name, fn, typetags, doc)
        existing = self.routes.get(route.address)
        if existing is not None and (existing.param is not None or existing.address not in _reserved_addresses()):
            raise ValueError(f"OSC action '{name}' would replace {route.address}; pick another name")
        self.routes[route.address] = route

    def _add_reserved(self) -> None:
        for route in reserved_routes(set(self.routes)):
            self.routes[route.address] = route

    def _server_routes(self) -> list[Route]:
        return [Route(f"{PREFIX}/ping", "", lambda a: None, "Answered with /instrument/pong to the sender"),
                Route(f"{PREFIX}/subscribe", "[i]", lambda a: None,
                      "Receive /instrument/<param> <float> for every change, at the sender's host, on [port]"),
                Route(f"{PREFIX}/unsubscribe", "[i]", lambda a: None, "Stop the feedback to the sender [port]")]

    # ---- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the socket (port 0: any free port, read `port` after) and start the "osc" thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
            sock.bind((self.host, self.requested_port))
        except OSError as e:
            sock.close()
            raise OSError(f"cannot listen for OSC on {self.host}:{self.requested_port}: {e.strerror}; "
                          f"pick another port with --osc-port") from e
        sock.setblocking(False)
        self._sock, self._bound_port = sock, sock.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()  # stop() writes a byte so select returns at once
        self._thread = threading.Thread(target=self._run, name="osc", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port once started (port 0 asked for any free one), else the port asked for."""
        return self._bound_port or self.requested_port

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Wake the thread, join it and close the socket; returns within milliseconds."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        self._thread.join(timeout=STOP_JOIN_S)
        for s in (self._sock, self._wake_r, self._wake_w):
            s.close()
        self._thread = None  # a second stop() is a no-op

    def stats(self) -> dict:
        return {"osc_messages": self.messages, "osc_errors": self.errors, "osc_clamped": self.store.clamped,
                "osc_errors_unanswered": self.errors_unanswered,
                "osc_malformed": self.malformed, "osc_subscribers": len(self.subscribers),
                "osc_last_error": self.last_error}

    # ---- the "osc" thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        next_feedback_s = time.monotonic()
        while not self._stopping.is_set():
            wait_s = max(0.0, next_feedback_s - time.monotonic()) if self.subscribers else None
            readable, _, _ = select.select([self._sock, self._wake_r], [], [], wait_s)
            if self._sock in readable:
                self._drain()
            if self.subscribers and time.monotonic() >= next_feedback_s:
                self._send_all(self.feedback())
                next_feedback_s = time.monotonic() + self.feedback_period_s

    def _drain(self) -> None:
        for _ in range(DRAIN_MAX):
            try:
                data, sender = self._sock.recvfrom(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # e.g. ECONNREFUSED echoed from an earlier reply: count, keep serving
                self.send_errors += 1
                self.last_error = f"recv: {e}"
                continue
            self._send_all(self.handle_datagram(data, sender))

    def _send_all(self, replies: list[Reply]) -> None:
        for data, target in replies:
            try:
                self._sock.sendto(data, target)
            except OSError as e:
                self.send_errors += 1
                self.last_error = f"send to {target[0]}:{target[1]}: {e.strerror}"

    # ---- pure logic: bytes in, replies out -----------------------------------------------------------------
    def handle_datagram(self, data: bytes, sender: tuple, now_s: float | None = None) -> list[Reply]:
        """Apply one datagram from `sender` (host, port) arriving at now_s (monotonic seconds, for the error-reply
        limiter; default: now); returns the replies to send. Never raises."""
        self._now_s = time.monotonic() if now_s is None else now_s
        replies = self._handle_datagram(data, sender)
        return [r for r in replies if r is not None]

    def _handle_datagram(self, data: bytes, sender: tuple) -> list[Reply | None]:
        try:
            messages = decode(data)
        except WireError as e:
            self.malformed += 1
            return [self._error(sender, "", f"malformed OSC datagram of {len(data)} bytes: {e}")]
        replies: list[Reply] = []
        for message in messages:
            self.messages += 1
            replies += self._handle(message.address, message.args, sender)
        return replies

    def _handle(self, address: str, args: tuple, sender: tuple) -> list[Reply]:
        route = self.routes.get(address)
        if route is None:
            return [self._error(sender, address, self._unknown(address))]
        try:
            if address in self._sender_routes:
                return self._sender_routes[address](args, sender)
            route.apply(args)
            if route.param is not None:
                self.last_param = route.param.name
            return []
        except OscArgError as e:
            return [self._error(sender, address, str(e))]
        except Exception as e:  # why: a hook's bug must never end the OSC thread; it is counted and answered
            return [self._error(sender, address, f"{type(e).__name__}: {e}".splitlines()[0][:200])]

    def _unknown(self, address: str) -> str:
        near = difflib.get_close_matches(address, self.routes, n=1, cutoff=0.75)
        hint = f"; did you mean '{near[0]}'?" if near else "; run 'instrument osc-namespace' for the list"
        return f"unknown OSC address '{address[:80]}'{hint}"

    def _error(self, sender: tuple, address: str, reason: str) -> Reply | None:
        """Count the error; the reply, or None once the sender has used up its error replies (counted too)."""
        self.errors += 1
        self.last_error = f"{address} {reason}".strip()
        if not self._limiter.allow(sender, self._now_s):
            self.errors_unanswered += 1
            return None
        return encode(f"{PREFIX}/error", address, reason), sender

    # ---- feedback ------------------------------------------------------------------------------------------
    def _ping(self, args: tuple, sender: tuple) -> list[Reply]:
        """Answer /instrument/pong, echoing a first number or string argument (a stamp for round-trip timing)."""
        echo = [float(a) if isinstance(a, int) else a for a in args[:1] if isinstance(a, (int, float, str))]
        return [(encode(f"{PREFIX}/pong", *echo), sender)]

    def _subscribe(self, args: tuple, sender: tuple) -> list[Reply]:
        target = _target(args, sender)
        if target not in self.subscribers and len(self.subscribers) >= MAX_SUBSCRIBERS:
            raise OscArgError(f"already {MAX_SUBSCRIBERS} subscribers; send /instrument/unsubscribe from one first")
        self.subscribers[target] = True  # owed a full dump at the next feedback tick
        return []

    def _unsubscribe(self, args: tuple, sender: tuple) -> list[Reply]:
        self.subscribers.pop(_target(args, sender), None)
        return []

    def feedback(self) -> list[Reply]:
        """Messages for every value changed since the last call (and a full dump for new subscribers)."""
        values = self.store.values.copy()
        changed = np.flatnonzero(values != self._sent) if self.store.version != self._sent_version else []
        self._sent_version = self.store.version
        self._sent[:] = values
        changed_msgs = [self._value_message(i, values) for i in changed]
        replies: list[Reply] = []
        for target, owed_full in list(self.subscribers.items()):
            msgs = [self._value_message(i, values) for i in range(len(values))] if owed_full else changed_msgs
            replies += [(m, target) for m in msgs]
            self.subscribers[target] = False
        return replies

    def _value_message(self, i: int, values: np.ndarray) -> bytes:
        return encode(address_of(self.store.params[i].name), float(values[i]))

    # ---- the namespace -------------------------------------------------------------------------------------
    def namespace(self) -> list[dict]:
        """One row per address: address, typetags, range, default, unit, doc."""
        return [{"address": r.address, "typetags": r.typetags, "range": r.range, "default": r.default,
                 "unit": r.unit, "doc": r.doc} for r in self.routes.values()]

    def namespace_table(self) -> str:
        """The namespace as a Markdown table (for `instrument osc-namespace` and the README)."""
        rows = ["| address | typetags | range | default | unit | what it does |", "|---|---|---|---|---|---|"]
        for r in self.namespace():
            cells = [f"`{r['address']}`"] + [str(r[k]).replace("|", "\\|") for k in list(r)[1:]]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)


class ReplyLimiter:
    """A token bucket per sender: `burst` replies at once, then `rate_hz` a second. Time is given, not read."""

    def __init__(self, burst: int, rate_hz: float, max_senders: int):
        self.burst, self.rate_hz, self.max_senders = float(burst), float(rate_hz), max_senders
        self._buckets: dict[tuple, list[float]] = {}   # sender -> [tokens, time of the last refill]

    def allow(self, sender: tuple, now_s: float) -> bool:
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= self.max_senders:  # why: spoofed source ports must not grow memory
                self._buckets.clear()
            bucket = self._buckets[sender] = [self.burst, now_s]
        bucket[0] = min(self.burst, bucket[0] + max(now_s - bucket[1], 0.0) * self.rate_hz)
        bucket[1] = now_s
        if bucket[0] < 1.0:
            return False
        bucket[0] -= 1.0
        return True


def _reserved_addresses() -> set[str]:
    return {r.address for r in reserved_routes(set())}


def _target(args: tuple, sender: tuple) -> tuple:
    """(sender's host, port argument or the sender's port)."""
    if len(args) > 1:
        raise OscArgError(f"expects at most one argument [port], got {len(args)}")
    port = args[0] if args else sender[1]
    if isinstance(port, bool) or not isinstance(port, (int, float)) or not 0 < port < 65536 or port % 1:
        raise OscArgError(f"port must be a whole number 1..65535, got {port!r:.40}")
    return sender[0], int(port)


def namespace_table() -> str:
    """The OSC namespace of the default parameter table, without starting anything (`instrument osc-namespace`)."""
    store = ParamStore()
    return OscServer(store, Conductor(store, z_dim=16, num_ws=6, seed=0)).namespace_table()
