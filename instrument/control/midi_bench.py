"""Benchmark: MIDI -> parameter applied latency through a JACK server (a script, not a test).

    python -m instrument.control.midi_bench [seconds] [--json PATH]

Sends CCs from a virtual JACK output port to a `MidiInput` in the same process and times each from just before
`send_message` to the moment `ParamStore.set` stored the value. Uses the running JACK server, or starts a private
one (`jackd -d dummy -r 48000 -p 256`) when none answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from instrument.control.midi import MidiInput
from instrument.control.midi_map import Mapping
from instrument.errors import InstrumentError
from instrument.params import ParamStore

PORT = "midi-bench"
JACKD = ("jackd", "-n", "midi-bench-server", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256")


class StampedStore(ParamStore):
    """A ParamStore that records when each value was stored (perf_counter seconds)."""

    def __init__(self):
        super().__init__()
        self.stored = threading.Event()
        self.stored_at_s = 0.0

    def set(self, name: str, value: float) -> float:
        v = super().set(name, value)
        self.stored_at_s = time.perf_counter()
        self.stored.set()
        return v


def _measure(store: StampedStore, out, seconds: float, interval_s: float) -> tuple[list[float], int]:
    """Latencies (ms) of CCs sent one at a time, each after the previous one was applied, and the count lost."""
    latencies_ms, lost, i = [], 0, 0
    rng = np.random.default_rng(0)  # why: a random gap decorrelates sends from JACK's period, or p50 is a phase artefact
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        store.stored.clear()
        sent_s = time.perf_counter()
        out.send_message([0xB0, 7, i % 128])
        if store.stored.wait(0.5):
            latencies_ms.append((store.stored_at_s - sent_s) * 1e3)
        else:
            lost += 1
        i += 1
        time.sleep(interval_s * rng.uniform(0.5, 1.5))
    return latencies_ms, lost


def run(seconds: float = 5.0, interval_s: float = 0.005) -> dict:
    """Latency figures (ms) for `seconds` of CCs through JACK; raises InstrumentError without a JACK server."""
    import rtmidi

    store = StampedStore()
    mapping = Mapping.from_dict({"binding": [{"type": "cc", "number": 7, "param": "wander.amount", "takeover": False}]})
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, PORT)
    out.open_virtual_port("out")
    midi = MidiInput(store, None, mapping, api="jack", ports=[PORT], user_path=os.devnull).start()
    try:
        if not midi.available or not _wait(lambda: midi.open_ports, 5.0):
            raise InstrumentError(f"MIDI bench: {midi.message or 'the bench port did not open'}; start jackd first")
        latencies, lost = _measure(store, out, seconds, interval_s)
        latencies_ms = np.array(latencies)
    finally:
        midi.stop()
        out.delete()
    return {"messages": int(latencies_ms.size), "lost": lost, "p50_ms": float(np.percentile(latencies_ms, 50)),
            "p99_ms": float(np.percentile(latencies_ms, 99)), "max_ms": float(latencies_ms.max()),
            "midi_errors": midi.stats()["midi_errors"]}


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.01)
    return bool(condition())


def _jack_running() -> bool:
    return shutil.which("jack_lsp") is not None and subprocess.run(["jack_lsp"], capture_output=True).returncode == 0


def main(argv: list[str]) -> None:
    json_path = argv[argv.index("--json") + 1] if "--json" in argv else None
    numbers = [a for a in argv if a not in ("--json", json_path)]
    seconds = float(numbers[0]) if numbers else 5.0
    os.environ["JACK_NO_START_SERVER"] = "1"
    server = None
    if not _jack_running():
        os.environ["JACK_DEFAULT_SERVER"] = "midi-bench-server"
        server = subprocess.Popen(JACKD, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(_jack_running, 10.0)
    try:
        result = run(seconds)
        print(result)
        if json_path:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(json_path).write_text(json.dumps(result, indent=1) + "\n")
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
