"""OSC benchmark (not a test): loopback latency from `sendto` to the value landing in the ParamStore.

    python -m instrument.control.osc_bench [seconds] [--json PATH]

Three figures: one message at a time (send -> `store.set` stamped inside the store), a burst (how many messages a
second the "osc" thread applies), and feedback (a store change -> the subscriber's datagram, ≤ 1/FEEDBACK_HZ by
design).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

from instrument.control.osc import OscServer
from instrument.control.osc_wire import decode, encode
from instrument.latent.conductor import Conductor
from instrument.params import ParamStore

ADDRESS, NAME = "/instrument/fx/feedback/rotate", "fx.feedback.rotate"
WAIT_S = 0.1        # a message not applied within this is counted lost
BURST = 20_000


class StampingStore(ParamStore):
    """A ParamStore that notes when each `set` happened, so latency is measured where the value lands."""

    def __init__(self):
        super().__init__()
        self.applied = threading.Event()
        self.stamp_s = 0.0
        self.sets = 0

    def set(self, name: str, value: float) -> float:
        v = super().set(name, value)
        self.stamp_s, self.sets = time.perf_counter(), self.sets + 1
        self.applied.set()
        return v


def _one_at_a_time(osc: OscServer, sock: socket.socket, seconds: float) -> tuple[list[float], int]:
    store, latencies_ms, lost = osc.store, [], 0
    end, k = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        store.applied.clear()
        sent_s = time.perf_counter()
        sock.sendto(encode(ADDRESS, float(k % 20 - 10)), ("127.0.0.1", osc.port))
        if store.applied.wait(WAIT_S):
            latencies_ms.append((store.stamp_s - sent_s) * 1e3)
        else:
            lost += 1
        k += 1
    return latencies_ms, lost


def _burst(osc: OscServer, sock: socket.socket) -> float:
    """Messages applied per second when BURST arrive back to back (kernel drops excluded from the count)."""
    store, before = osc.store, osc.store.sets
    datagram, target = encode(ADDRESS, 1.0), ("127.0.0.1", osc.port)
    started = time.perf_counter()
    for _ in range(BURST):
        sock.sendto(datagram, target)
    while store.sets - before < BURST and time.perf_counter() - started < 5.0:
        time.sleep(0.001)
        if time.perf_counter() - store.stamp_s > 0.2 and store.sets > before:
            break  # the rest was dropped by the kernel
    return (store.sets - before) / max(store.stamp_s - started, 1e-9)


def _feedback(osc: OscServer, sock: socket.socket, rounds: int = 40) -> list[float]:
    sock.sendto(encode("/instrument/subscribe"), ("127.0.0.1", osc.port))
    sock.settimeout(1.0)
    time.sleep(0.2)
    _flush(sock)
    latencies_ms = []
    for k in range(rounds):
        changed_s = time.perf_counter()
        osc.store.set("fx.feedback.zoom", 0.9 + 0.005 * (k % 20))
        while decode(sock.recvfrom(65536)[0])[0].address != "/instrument/fx/feedback/zoom":
            pass
        latencies_ms.append((time.perf_counter() - changed_s) * 1e3)
        time.sleep(0.011 * (k % 3))  # why: land at different phases of the feedback tick
    return latencies_ms


def _flush(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recvfrom(65536)
    except BlockingIOError:
        sock.setblocking(True)
        sock.settimeout(1.0)


def run(seconds: float = 3.0) -> dict:
    store = StampingStore()
    osc = OscServer(store, Conductor(store, z_dim=16, num_ws=6, seed=0), port=0)
    osc.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            latencies_ms, lost = _one_at_a_time(osc, sock, seconds)
            burst_per_s = _burst(osc, sock)
            feedback_ms = _feedback(osc, sock)
    finally:
        osc.stop()
    return _report(latencies_ms, lost, burst_per_s, feedback_ms)


def _report(latencies_ms: list[float], lost: int, burst_per_s: float, feedback_ms: list[float]) -> dict:
    lat, fb = np.asarray(latencies_ms), np.asarray(feedback_ms)
    result = {"messages": len(lat), "lost": lost, "latency_ms_p50": float(np.percentile(lat, 50)),
              "latency_ms_p99": float(np.percentile(lat, 99)), "latency_ms_max": float(lat.max()),
              "burst_messages_per_s": burst_per_s, "feedback_ms_p50": float(np.percentile(fb, 50)),
              "feedback_ms_p99": float(np.percentile(fb, 99))}
    print(f"{'OSC benchmark (loopback UDP)':<34}{'value':>12}")
    for key, value in result.items():
        print(f"{key:<34}{value:>12.3f}" if isinstance(value, float) else f"{key:<34}{value:>12d}")
    return result


def main(argv: list[str]) -> None:
    json_path = argv[argv.index("--json") + 1] if "--json" in argv else None
    numbers = [a for a in argv if a != "--json" and a != json_path]
    result = run(float(numbers[0]) if numbers else 3.0)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
